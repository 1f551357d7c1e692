package io.dsf.frodo.scsi;

import io.dsf.frodo.virtq.DescriptorChain;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;
import io.dsf.stargate.scsi.ScsiNexus;
import io.dsf.stargate.scsi.ScsiTmf;
import io.dsf.stargate.scsi.ScsiTmfCallback;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The virtio-scsi control queue: task management functions go to the SCSI target's
 * {@link ScsiNexus#taskManagement} (ABORT TASK by the command's id, ABORT TASK SET, CLEAR TASK SET,
 * I_T NEXUS RESET, LOGICAL UNIT RESET, QUERY TASK, QUERY TASK SET; anything else FUNCTION REJECTED)
 * and complete when the target says so, possibly on another thread; asynchronous-notification
 * query/subscribe are answered with no event classes supported. Used on the control queue's worker
 * thread; TMF completions run on any thread.
 *
 * <pre>
 *   TMF:  type u32 (0) | subtype u32 | lun[8] | id u64       -> response u8
 *   AN:   type u32 (1 query, 2 subscribe) | lun[8] | event_requested u32 -> event_actual u32 | response u8
 * </pre>
 */
final class ControlQueue implements VirtqueueHandler {
    static final int T_TMF = 0, T_AN_QUERY = 1, T_AN_SUBSCRIBE = 2;
    static final byte S_OK = 0, S_BAD_TARGET = 3, S_FAILURE = 9, S_FUNCTION_SUCCEEDED = 10, S_FUNCTION_REJECTED = 11,
            S_INCORRECT_LUN = 12;
    // virtio-scsi TMF subtypes
    static final int TMF_ABORT_TASK = 0, TMF_ABORT_TASK_SET = 1, TMF_CLEAR_ACA = 2, TMF_CLEAR_TASK_SET = 3,
            TMF_I_T_NEXUS_RESET = 4, TMF_LOGICAL_UNIT_RESET = 5, TMF_QUERY_TASK = 6, TMF_QUERY_TASK_SET = 7;

    private final ScsiNexus nexus;

    ControlQueue(ScsiNexus nexus) {
        this.nexus = nexus;
    }

    /** One control request slot with its preallocated task management function. */
    private static final class ControlRequest extends VirtqRequest implements ScsiTmfCallback {
        final ScsiTmf tmf = new ScsiTmf();
        final MemorySegment req = MemorySegment.ofArray(new long[3]);
        final MemorySegment resp = MemorySegment.ofArray(new long[1]);

        ControlRequest() { super(VirtioScsiDevice.SEG_MAX + 2); }

        void answer(byte rc) {
            resp.set(JAVA_BYTE, 0, rc);
            complete(chain().writeWritable(0, resp, 0, 1));
        }

        @Override
        public void onTmfComplete(ScsiTmf t) {
            answer(switch (t.response()) {
                case ScsiTmf.FUNCTION_COMPLETE -> S_OK;
                case ScsiTmf.FUNCTION_SUCCEEDED -> S_FUNCTION_SUCCEEDED;
                case ScsiTmf.INCORRECT_LUN -> S_INCORRECT_LUN;
                default -> S_FUNCTION_REJECTED;
            });
        }
    }

    static int function(int subtype) {
        return switch (subtype) {
            case TMF_ABORT_TASK -> ScsiTmf.ABORT_TASK;
            case TMF_ABORT_TASK_SET -> ScsiTmf.ABORT_TASK_SET;
            case TMF_CLEAR_TASK_SET -> ScsiTmf.CLEAR_TASK_SET;
            case TMF_I_T_NEXUS_RESET -> ScsiTmf.I_T_NEXUS_RESET;
            case TMF_LOGICAL_UNIT_RESET -> ScsiTmf.LOGICAL_UNIT_RESET;
            case TMF_QUERY_TASK -> ScsiTmf.QUERY_TASK;
            case TMF_QUERY_TASK_SET -> ScsiTmf.QUERY_TASK_SET;
            default -> -1; // CLEAR ACA (no ACA), QUERY ASYNC EVENT, unknown
        };
    }

    @Override
    public VirtqRequest newRequest() {
        return new ControlRequest();
    }

    @Override
    public void submit(VirtqRequest vr) {
        ControlRequest r = (ControlRequest) vr;
        DescriptorChain c = r.chain();
        if (c.readableBytes() < 4 || c.writableBytes() < 1) { r.complete(0); return; }
        c.readReadable(0, r.req, 0, 4);
        int type = r.req.get(JAVA_INT_UNALIGNED, 0);
        switch (type) {
            case T_TMF -> {
                if (c.readableBytes() < 24) { r.complete(0); return; }
                c.readReadable(0, r.req, 0, 24);
                int lun = ScsiRequest.lun(r.req, 8);
                int function = function(r.req.get(JAVA_INT_UNALIGNED, 4));
                if (lun < 0) { r.answer(S_BAD_TARGET); return; }
                if (function < 0) { r.answer(S_FUNCTION_REJECTED); return; }
                try {
                    nexus.taskManagement(r.tmf.set(function, lun, r.req.get(JAVA_LONG_UNALIGNED, 16), r));
                } catch (RuntimeException e) { // a programming error: the callback did not run
                    r.answer(S_FAILURE);
                }
            }
            case T_AN_QUERY, T_AN_SUBSCRIBE -> {
                if (c.readableBytes() < 16 || c.writableBytes() < 5) { r.complete(0); return; }
                r.resp.set(JAVA_INT_UNALIGNED, 0, 0); // event_actual: none supported
                r.resp.set(JAVA_BYTE, 4, S_OK);
                r.complete(c.writeWritable(0, r.resp, 0, 5));
            }
            default -> r.answer(S_FAILURE);
        }
    }
}
