package io.dsf.frodo.blk;

import io.dsf.frodo.virtq.DescriptorChain;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static io.dsf.frodo.blk.VirtioBlkDevice.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * One virtio-blk request slot: parses the header, checks type, alignment and range before touching
 * the vDisk, then submits one vDisk call per guest buffer piece (split at the vDisk's maximum
 * transfer) with the guest buffer itself as the I/O buffer. The last piece to complete writes the
 * status byte and hands the request back. Started on the queue worker; its vDisk callbacks run on
 * any thread (the pending count and first error are atomic).
 */
final class BlkRequest extends VirtqRequest implements IoCallback {
    private static final VarHandle PENDING;
    private static final VarHandle STATUS;
    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(BlkRequest.class, "pending", int.class);
            STATUS = MethodHandles.lookup().findVarHandle(BlkRequest.class, "status", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final VirtioBlkDevice device;
    private final VDisk disk;
    private final MemorySegment scratch = MemorySegment.ofArray(new long[2]);
    @SuppressWarnings("unused") private volatile int pending;
    @SuppressWarnings("unused") private volatile int status;
    private long statusPos;
    private int usedOnSuccess;

    BlkRequest(VirtioBlkDevice device, int maxSegments) {
        super(maxSegments);
        this.device = device;
        this.disk = device.disk();
    }

    /** Worker thread: validates and submits. */
    void start() {
        DescriptorChain c = chain();
        long writable = c.writableBytes();
        if (writable < 1) {
            complete(0); // no room for a status byte: nothing can be reported
            return;
        }
        statusPos = writable - 1;
        if (c.readableBytes() < 16) { finishNow(S_IOERR, 1); return; }
        c.readReadable(0, scratch, 0, 16);
        int type = scratch.get(JAVA_INT_UNALIGNED, 0);
        long sector = scratch.get(JAVA_LONG_UNALIGNED, 8);
        switch (type) {
            case T_IN -> {
                if (c.readableBytes() != 16) { finishNow(S_IOERR, 1); return; }
                data(true, sector, writable - 1);
            }
            case T_OUT -> {
                if (writable != 1 || disk.readOnly()) { finishNow(S_IOERR, 1); return; }
                data(false, sector, c.readableBytes() - 16);
            }
            case T_FLUSH -> {
                if (disk.readOnly()) { finishNow(S_OK, 1); return; }
                begin(1);
                PENDING.getAndAdd(this, 1);
                int rc = disk.flush(0, this);
                if (rc != VDiskStatus.OK) { fail(rc); done(); }
                done();
            }
            case T_GET_ID -> {
                if (c.readableBytes() != 16) { finishNow(S_IOERR, 1); return; }
                byte[] id = device.serial();
                int room = (int) Math.min(ID_BYTES, writable - 1);
                MemorySegment src = MemorySegment.ofArray(java.util.Arrays.copyOf(id, ID_BYTES)); // rare request
                int n = c.writeWritable(0, src, 0, room);
                finishNow(S_OK, n + 1);
            }
            case T_DISCARD, T_WRITE_ZEROES -> ranges(type, c, writable);
            default -> finishNow(S_UNSUPP, 1);
        }
    }

    private void data(boolean read, long sector, long len) {
        DescriptorChain c = chain();
        if (len <= 0 || len % disk.blockSize() != 0 || sector < 0 || sector > Long.MAX_VALUE / SECTOR) {
            finishNow(S_IOERR, 1);
            return;
        }
        long offset = sector * SECTOR;
        if (offset % disk.blockSize() != 0 || offset > disk.size() - len) {
            finishNow(S_IOERR, 1);
            return;
        }
        int first = read ? c.readableCount() : 0;
        int end = read ? c.count() : c.readableCount();
        long skipFirst = read ? 0 : 16;
        // pass 1: every piece must be whole blocks (zero copy needs it)
        long remaining = len;
        long skip = skipFirst;
        for (int i = first; i < end && remaining > 0; i++) {
            long l = Integer.toUnsignedLong(c.length(i));
            if (skip >= l) { skip -= l; continue; }
            long piece = Math.min(l - skip, remaining);
            if (piece % disk.blockSize() != 0) { finishNow(S_IOERR, 1); return; }
            remaining -= piece;
            skip = 0;
        }
        // pass 2: submit
        usedOnSuccess = read ? (int) (len + 1) : 1;
        begin(read ? (int) (len + 1) : 1);
        int max = disk.maxTransfer() - disk.maxTransfer() % disk.blockSize();
        remaining = len;
        skip = skipFirst;
        long at = offset;
        for (int i = first; i < end && remaining > 0; i++) {
            long l = Integer.toUnsignedLong(c.length(i));
            if (skip >= l) { skip -= l; continue; }
            long piece = Math.min(l - skip, remaining);
            for (long done = 0; done < piece; ) {
                int n = (int) Math.min(piece - done, max);
                MemorySegment buf = c.slice(i, skip + done);
                PENDING.getAndAdd(this, 1);
                int rc = read ? disk.read(at, buf, n, 0, this) : disk.write(at, buf, n, 0, this);
                if (rc != VDiskStatus.OK) { fail(rc); done(); }
                done += n;
                at += n;
            }
            remaining -= piece;
            skip = 0;
        }
        done();
    }

    private void ranges(int type, DescriptorChain c, long writable) {
        long bytes = c.readableBytes() - 16;
        if (writable != 1 || bytes <= 0 || bytes % 16 != 0 || bytes / 16 > MAX_DISCARD_SEG) { finishNow(S_IOERR, 1); return; }
        if (disk.readOnly()) { finishNow(S_IOERR, 1); return; }
        int n = (int) (bytes / 16);
        long bs = disk.blockSize();
        // validate every range first: nothing is touched unless all are good
        for (int i = 0; i < n; i++) {
            c.readReadable(16 + 16L * i, scratch, 0, 16);
            long sector = scratch.get(JAVA_LONG_UNALIGNED, 0);
            long count = Integer.toUnsignedLong(scratch.get(JAVA_INT_UNALIGNED, 8));
            int flags = scratch.get(JAVA_INT_UNALIGNED, 12);
            if (type == T_DISCARD ? flags != 0 : (flags & ~1) != 0) { finishNow(S_UNSUPP, 1); return; }
            if (sector < 0 || sector > Long.MAX_VALUE / SECTOR || count == 0 || count > MAX_DISCARD_SECTORS) { finishNow(S_IOERR, 1); return; }
            long off = sector * SECTOR, len = count * SECTOR;
            if (off % bs != 0 || len % bs != 0 || off > disk.size() - len) { finishNow(S_IOERR, 1); return; }
        }
        usedOnSuccess = 1;
        begin(1);
        for (int i = 0; i < n; i++) {
            c.readReadable(16 + 16L * i, scratch, 0, 16);
            long off = scratch.get(JAVA_LONG_UNALIGNED, 0) * SECTOR;
            long len = Integer.toUnsignedLong(scratch.get(JAVA_INT_UNALIGNED, 8)) * SECTOR;
            PENDING.getAndAdd(this, 1);
            int rc = type == T_DISCARD ? disk.unmap(off, len, 0, this) : disk.writeZeroes(off, len, 0, this);
            if (rc != VDiskStatus.OK) { fail(rc); done(); }
        }
        done();
    }

    private void begin(int usedLen) {
        usedOnSuccess = usedLen;
        STATUS.setRelease(this, VDiskStatus.OK);
        PENDING.setVolatile(this, 1); // the bias, dropped once everything is submitted
    }

    private void fail(int st) {
        STATUS.compareAndSet(this, VDiskStatus.OK, st);
    }

    private void done() {
        if ((int) PENDING.getAndAdd(this, -1) == 1) {
            int st = (int) STATUS.getVolatile(this);
            finishNow(st == VDiskStatus.OK ? S_OK : S_IOERR, usedOnSuccess);
        }
    }

    /** A vDisk completion: any thread. */
    @Override
    public void onComplete(long tag, int st) {
        if (st != VDiskStatus.OK) fail(st);
        done();
    }

    private void finishNow(byte st, int usedLen) {
        chain().putWritableByte(statusPos, st);
        complete(usedLen);
    }
}
