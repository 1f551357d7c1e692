package io.dsf.frodo.scsi;

import io.dsf.frodo.virtq.DescriptorChain;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static io.dsf.frodo.scsi.VirtioScsiDevice.REQ_SIZE;
import static io.dsf.frodo.scsi.VirtioScsiDevice.RESP_SIZE;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * One virtio-scsi command slot: checks the framing (request header readable, response writable,
 * data-out after the request, data-in after the response), hands the CDB to its target, and offers
 * the target what it needs to finish: zero-copy data transfer between guest buffers and the vDisk,
 * small responses copied into data-in, and the status/sense/residual response. Started on the
 * queue's worker; vDisk callbacks run on any thread.
 */
final class ScsiRequest extends VirtqRequest implements IoCallback {
    static final byte RESP_OK = 0, RESP_BAD_TARGET = 3, RESP_FAILURE = 9;
    static final byte GOOD = 0, CHECK_CONDITION = 2;
    private static final VarHandle PENDING, STATUS;
    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(ScsiRequest.class, "pending", int.class);
            STATUS = MethodHandles.lookup().findVarHandle(ScsiRequest.class, "status", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final StubScsiTarget target;
    final MemorySegment req = MemorySegment.ofArray(new long[7]);   // 56 >= 51 bytes
    final MemorySegment resp = MemorySegment.ofArray(new long[14]); // 112 >= 108 bytes
    @SuppressWarnings("unused") private volatile int pending;
    @SuppressWarnings("unused") private volatile int status;
    private long transfer;

    ScsiRequest(StubScsiTarget target, int maxSegments) {
        super(maxSegments);
        this.target = target;
    }

    void start() {
        DescriptorChain c = chain();
        if (c.readableBytes() < REQ_SIZE || c.writableBytes() < RESP_SIZE) {
            complete(0); // no room for a response: nothing can be reported
            return;
        }
        c.readReadable(0, req, 0, REQ_SIZE);
        if (!StubScsiTarget.lunOk(req, 0)) {
            respond(RESP_BAD_TARGET, GOOD, 0, 0, 0, 0);
            return;
        }
        target.execute(this);
    }

    /** CDB byte {@code i} (0..31), unsigned. */
    int cdb(int i) { return Byte.toUnsignedInt(req.get(JAVA_BYTE, 19 + i)); }

    long dataOutLength() { return chain().readableBytes() - REQ_SIZE; }

    long dataInLength() { return chain().writableBytes() - RESP_SIZE; }

    /** Copies a small response into data-in, at most {@code allocation} bytes; finishes GOOD with the residual. */
    void dataIn(MemorySegment src, int len, int allocation) {
        int n = (int) Math.min(Math.min(len, allocation), dataInLength());
        int done = chain().writeWritable(RESP_SIZE, src, 0, n);
        respond(RESP_OK, GOOD, (int) (dataInLength() - done), 0, 0, 0);
    }

    void good() { respond(RESP_OK, GOOD, (int) Math.max(0, dataInLength()), 0, 0, 0); }

    /** CHECK CONDITION with fixed-format sense data. */
    void checkCondition(int key, int asc, int ascq) {
        respond(RESP_OK, CHECK_CONDITION, (int) Math.max(0, dataInLength()), key, asc, ascq);
    }

    /**
     * Moves {@code len} bytes between the data buffers and the vDisk at {@code offset} without a copy
     * (each guest piece must be whole blocks; the caller checked range and direction).
     *
     * @return false when a piece is not whole blocks (nothing was submitted)
     */
    boolean dataIo(VDisk disk, boolean read, long offset, long len) {
        DescriptorChain c = chain();
        int first = read ? c.readableCount() : 0, end = read ? c.count() : c.readableCount();
        long skipFirst = read ? RESP_SIZE : REQ_SIZE;
        int bs = disk.blockSize();
        long remaining = len, skip = skipFirst;
        for (int i = first; i < end && remaining > 0; i++) {
            long l = Integer.toUnsignedLong(c.length(i));
            if (skip >= l) { skip -= l; continue; }
            long piece = Math.min(l - skip, remaining);
            if (piece % bs != 0) return false;
            remaining -= piece;
            skip = 0;
        }
        transfer = len;
        STATUS.setRelease(this, VDiskStatus.OK);
        PENDING.setVolatile(this, 1);
        int max = disk.maxTransfer() - disk.maxTransfer() % bs;
        remaining = len;
        skip = skipFirst;
        long at = offset;
        for (int i = first; i < end && remaining > 0; i++) {
            long l = Integer.toUnsignedLong(c.length(i));
            if (skip >= l) { skip -= l; continue; }
            long piece = Math.min(l - skip, remaining);
            for (long done = 0; done < piece; ) {
                int n = (int) Math.min(piece - done, max);
                PENDING.getAndAdd(this, 1);
                MemorySegment buf = c.slice(i, skip + done);
                int rc = read ? disk.read(at, buf, n, 0, this) : disk.write(at, buf, n, 0, this);
                if (rc != VDiskStatus.OK) { STATUS.compareAndSet(this, VDiskStatus.OK, rc); done(); }
                done += n;
                at += n;
            }
            remaining -= piece;
            skip = 0;
        }
        done();
        return true;
    }

    /** A flush through the vDisk, finishing GOOD or with a medium error. */
    void flush(VDisk disk) {
        transfer = 0;
        STATUS.setRelease(this, VDiskStatus.OK);
        PENDING.setVolatile(this, 2);
        int rc = disk.flush(0, this);
        if (rc != VDiskStatus.OK) { STATUS.compareAndSet(this, VDiskStatus.OK, rc); done(); }
        done();
    }

    @Override
    public void onComplete(long tag, int st) {
        if (st != VDiskStatus.OK) STATUS.compareAndSet(this, VDiskStatus.OK, st);
        done();
    }

    private void done() {
        if ((int) PENDING.getAndAdd(this, -1) != 1) return;
        int st = (int) STATUS.getVolatile(this);
        boolean read = chain().writableBytes() > RESP_SIZE;
        int resid = (int) Math.max(0, (read ? dataInLength() : dataOutLength()) - transfer);
        if (st == VDiskStatus.OK) respond(RESP_OK, GOOD, resid, 0, 0, 0);
        else if (st == VDiskStatus.NO_SPACE) respond(RESP_OK, CHECK_CONDITION, resid, 0x07, 0x27, 0x07); // space allocation failed
        else if (st == VDiskStatus.MEDIUM_ERROR) respond(RESP_OK, CHECK_CONDITION, resid, 0x03, read ? 0x11 : 0x0c, 0);
        else respond(RESP_OK, CHECK_CONDITION, resid, 0x04, 0x44, 0); // hardware error, internal target failure
    }

    private void respond(byte response, byte scsiStatus, int resid, int key, int asc, int ascq) {
        resp.fill((byte) 0);
        resp.set(JAVA_INT_UNALIGNED, 4, resid);
        resp.set(JAVA_BYTE, 10, scsiStatus);
        resp.set(JAVA_BYTE, 11, response);
        if (scsiStatus == CHECK_CONDITION) {
            resp.set(JAVA_INT_UNALIGNED, 0, 18);
            resp.set(JAVA_BYTE, 12, (byte) 0x70);
            resp.set(JAVA_BYTE, 12 + 2, (byte) key);
            resp.set(JAVA_BYTE, 12 + 7, (byte) 10);
            resp.set(JAVA_BYTE, 12 + 12, (byte) asc);
            resp.set(JAVA_BYTE, 12 + 13, (byte) ascq);
        }
        chain().writeWritable(0, resp, 0, RESP_SIZE);
        boolean read = chain().writableBytes() > RESP_SIZE;
        long written = RESP_SIZE + (read && scsiStatus == GOOD ? Math.max(0, dataInLength() - resid) : 0);
        complete((int) written);
    }
}
