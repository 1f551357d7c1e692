package io.dsf.frodo.scsi;

import io.dsf.frodo.virtq.DescriptorChain;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.stargate.scsi.ScsiLunAddress;
import io.dsf.stargate.scsi.ScsiNexus;
import io.dsf.stargate.scsi.ScsiTask;
import io.dsf.stargate.scsi.ScsiTaskCallback;

import java.lang.foreign.MemorySegment;

import static io.dsf.frodo.scsi.VirtioScsiDevice.CDB_SIZE;
import static io.dsf.frodo.scsi.VirtioScsiDevice.REQ_SIZE;
import static io.dsf.frodo.scsi.VirtioScsiDevice.RESP_SIZE;
import static io.dsf.frodo.scsi.VirtioScsiDevice.SENSE_SIZE;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One virtio-scsi command slot, the adapter from the virtio-scsi request layout to stargate's
 * {@link ScsiTask}: checks the framing (request header readable, response writable, data-out after
 * the request, data-in after the response, not both), decodes the LUN, hands the guest's data
 * buffers to the task as its scatter list (zero copy: each segment is a slice of the guest mapping),
 * and on the task's completion writes status, sense and residual into the response. A request header
 * that lies in one descriptor is read in place (each field once) and a response without sense data is
 * written in place; split headers go through the {@code req}/{@code resp} copies. Started on the
 * queue's worker; the task callback runs on the worker or on a vDisk completion thread.
 */
final class ScsiRequest extends VirtqRequest implements ScsiTaskCallback {
    static final byte RESP_OK = 0, RESP_ABORTED = 2, RESP_BAD_TARGET = 3, RESP_FAILURE = 9;

    private static final java.lang.foreign.ValueLayout.OfLong JAVA_LONG_UNALIGNED_LE = JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private final ScsiTask task;
    final MemorySegment req = MemorySegment.ofArray(new long[7]);   // 56 >= 51 bytes
    final MemorySegment resp = MemorySegment.ofArray(new long[14]); // 112 >= 108 bytes

    ScsiRequest(ScsiNexus nexus, int maxSegments) {
        super(maxSegments);
        this.task = nexus.newTask(maxSegments);
        task.callback(this);
    }

    /**
     * The LUN number a virtio-scsi LUN field addresses: {@code 1, target, first-level LUN (2 bytes),
     * 0, 0, 0, 0}; -1 for another target, another format or a multi-level address.
     */
    static int lun(MemorySegment s, long at) {
        if (s.get(JAVA_BYTE, at) != 1 || s.get(JAVA_BYTE, at + 1) != 0) return -1;
        if (s.get(JAVA_INT_UNALIGNED, at + 4) != 0) return -1;
        return ScsiLunAddress.decodeFirstLevel(Byte.toUnsignedInt(s.get(JAVA_BYTE, at + 2)) << 8 | Byte.toUnsignedInt(s.get(JAVA_BYTE, at + 3)));
    }

    void start() {
        DescriptorChain c = chain();
        if (c.readableBytes() < REQ_SIZE || c.writableBytes() < RESP_SIZE) {
            complete(0); // no room for a response: nothing can be reported
            return;
        }
        // the request header is read in place when its first descriptor holds it all (Linux and QEMU
        // put it in one), else gathered into req; either way each field is read exactly once
        MemorySegment h;
        long at;
        if (Integer.toUnsignedLong(c.length(0)) >= REQ_SIZE) {
            h = c.memory().segment(c.region(0)); // the walker checked [offset, offset + length) lies in it
            at = c.offset(0);
        } else {
            c.readReadable(0, req, 0, REQ_SIZE);
            h = req;
            at = 0;
        }
        int lun = lun(h, at);
        if (lun < 0) { respond(RESP_BAD_TARGET, 0, 0); return; }
        long out = c.readableBytes() - REQ_SIZE, in = c.writableBytes() - RESP_SIZE;
        if (out > 0 && in > 0) { respond(RESP_FAILURE, 0, 0); return; } // bidirectional commands: not supported
        int dir = in > 0 ? ScsiTask.DATA_IN : out > 0 ? ScsiTask.DATA_OUT : ScsiTask.DATA_NONE;
        task.command(lun, h.get(JAVA_LONG_UNALIGNED, at + 8), h, at + 19, CDB_SIZE, dir);
        if (in > 0) {
            if (!addSegments(c, c.readableCount(), c.count(), RESP_SIZE)) { respond(RESP_FAILURE, 0, 0); return; }
        } else if (out > 0) {
            if (!addSegments(c, 0, c.readableCount(), REQ_SIZE)) { respond(RESP_FAILURE, 0, 0); return; }
        }
        try {
            task.nexus().execute(task);
        } catch (RuntimeException e) { // a frontend programming error: the callback did not run
            respond(RESP_FAILURE, 0, 0);
        }
    }

    private boolean addSegments(DescriptorChain c, int first, int end, long skipFirst) {
        long skip = skipFirst;
        for (int i = first; i < end; i++) {
            long l = Integer.toUnsignedLong(c.length(i));
            if (skip >= l) { skip -= l; continue; }
            if (!task.addSegment(c.slice(i, skip), l - skip)) return false;
            skip = 0;
        }
        return true;
    }

    @Override
    public void onTaskComplete(ScsiTask t) {
        DescriptorChain c = chain();
        int w = c.readableCount(); // the response is the first writable element (start() checked there is one)
        long dataIn = t.direction() == ScsiTask.DATA_IN ? t.transferred() : 0;
        if (t.senseLength() == 0 && Integer.toUnsignedLong(c.length(w)) >= RESP_SIZE) {
            // written in place: the same 108 bytes the copy below writes, sense area all zeros, as
            // fourteen 8-byte stores (a bulk copy of the zeros costs more in its checks than it moves)
            MemorySegment g = c.memory().segment(c.region(w));
            long o = c.offset(w);
            int response = t.aborted() ? RESP_ABORTED : RESP_OK;
            long resid = Math.min(t.residual(), Integer.MAX_VALUE);
            // sense_len 0 (bytes 0-3), resid (4-7); status_qualifier 0 (8-9), status (10), response (11), sense 0 (12-15)
            g.set(JAVA_LONG_UNALIGNED_LE, o, resid << 32);
            g.set(JAVA_LONG_UNALIGNED_LE, o + 8, (long) ((t.status() & 0xFF) << 16 | response << 24) & 0xFFFF_FFFFL);
            for (long k = 16; k < 96; k += 8) g.set(JAVA_LONG_UNALIGNED_LE, o + k, 0L); // bytes 16-95
            g.set(JAVA_LONG_UNALIGNED_LE, o + 96, 0L);             // bytes 96-103
            g.set(JAVA_LONG_UNALIGNED_LE, o + RESP_SIZE - 8, 0L);  // bytes 100-107 (overlapping by four)
            complete((int) (RESP_SIZE + dataIn)); // last: the slot (and the task) may be reused from here
            return;
        }
        resp.fill((byte) 0);
        int senseLen = t.copySense(resp, 12, SENSE_SIZE);
        resp.set(JAVA_INT_UNALIGNED, 0, senseLen);
        resp.set(JAVA_INT_UNALIGNED, 4, (int) Math.min(t.residual(), Integer.MAX_VALUE));
        resp.set(JAVA_BYTE, 10, (byte) t.status());
        resp.set(JAVA_BYTE, 11, t.aborted() ? RESP_ABORTED : RESP_OK);
        chain().writeWritable(0, resp, 0, RESP_SIZE);
        complete((int) (RESP_SIZE + dataIn)); // last: the slot (and the task) may be reused from here
    }

    /** A response without a command outcome (bad target, bad framing). */
    private void respond(byte response, int status, int resid) {
        resp.fill((byte) 0);
        resp.set(JAVA_INT_UNALIGNED, 4, resid);
        resp.set(JAVA_BYTE, 10, (byte) status);
        resp.set(JAVA_BYTE, 11, response);
        chain().writeWritable(0, resp, 0, RESP_SIZE);
        complete(RESP_SIZE);
    }
}
