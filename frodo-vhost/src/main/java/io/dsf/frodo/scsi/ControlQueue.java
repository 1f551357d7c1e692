package io.dsf.frodo.scsi;

import io.dsf.frodo.virtq.DescriptorChain;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * The virtio-scsi control queue: task management functions (requests complete synchronously here,
 * so there is never anything to abort: FUNCTION_COMPLETE / SUCCEEDED) and asynchronous-notification
 * query/subscribe (no event classes supported). Used on the control queue's worker thread.
 *
 * <pre>
 *   TMF:  type u32 (0) | subtype u32 | lun[8] | id u64       -> response u8
 *   AN:   type u32 (1 query, 2 subscribe) | lun[8] | event_requested u32 -> event_actual u32 | response u8
 * </pre>
 */
final class ControlQueue implements VirtqueueHandler {
    static final int T_TMF = 0, T_AN_QUERY = 1, T_AN_SUBSCRIBE = 2;
    static final byte S_OK = 0, S_BAD_TARGET = 3, S_FAILURE = 9, S_FUNCTION_SUCCEEDED = 10, S_FUNCTION_REJECTED = 11;
    static final int TMF_ABORT_TASK = 0, TMF_LOGICAL_UNIT_RESET = 5, TMF_QUERY_TASK = 7;

    @Override
    public VirtqRequest newRequest() {
        return new VirtqRequest(VirtioScsiDevice.SEG_MAX + 2) {};
    }

    @Override
    public void submit(VirtqRequest r) {
        DescriptorChain c = r.chain();
        MemorySegment req = MemorySegment.ofArray(new long[3]); // control path: rare
        MemorySegment resp = MemorySegment.ofArray(new long[1]);
        if (c.readableBytes() < 4 || c.writableBytes() < 1) { r.complete(0); return; }
        c.readReadable(0, req, 0, 4);
        int type = req.get(JAVA_INT_UNALIGNED, 0);
        switch (type) {
            case T_TMF -> {
                if (c.readableBytes() < 24) { r.complete(0); return; }
                c.readReadable(0, req, 0, 24);
                int subtype = req.get(JAVA_INT_UNALIGNED, 4);
                byte rc = !StubScsiTarget.lunOk(req, 8) ? S_BAD_TARGET
                        : subtype == TMF_QUERY_TASK ? S_OK          // no such task in flight
                        : subtype <= TMF_LOGICAL_UNIT_RESET || subtype == 6 ? S_FUNCTION_SUCCEEDED : S_FUNCTION_REJECTED;
                resp.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, rc);
                r.complete(c.writeWritable(0, resp, 0, 1));
            }
            case T_AN_QUERY, T_AN_SUBSCRIBE -> {
                if (c.readableBytes() < 16 || c.writableBytes() < 5) { r.complete(0); return; }
                resp.set(JAVA_INT_UNALIGNED, 0, 0); // event_actual: none supported
                resp.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 4, S_OK);
                r.complete(c.writeWritable(0, resp, 0, 5));
            }
            default -> {
                resp.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, S_FAILURE);
                r.complete(c.writeWritable(0, resp, 0, 1));
            }
        }
    }
}
