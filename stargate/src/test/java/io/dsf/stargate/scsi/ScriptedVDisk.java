package io.dsf.stargate.scsi;

import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.MemoryVDisk;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A test {@link VDisk} over an inline {@link MemoryVDisk} that logs every request, can refuse or fail
 * the next one, can use a smaller maximum transfer, and can hold completions until the test releases
 * them (to test aborts and concurrency deterministically). Thread safe.
 */
class ScriptedVDisk implements VDisk, AutoCloseable {
    enum Op { READ, WRITE, FLUSH, UNMAP, ZEROES }

    /** One logged request. */
    record Call(Op op, long offset, long length, long bufferAddress, boolean heap) {}

    final MemoryVDisk inner;
    private final int maxTransfer;
    private final boolean readOnly;
    final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    private final List<Runnable> held = new ArrayList<>();
    volatile boolean hold;
    volatile int refuseNext;      // the next submission returns this (non-zero) status
    volatile int failNextRead;    // the next read completes with this status
    volatile int failNextWrite;   // the next write / unmap / write-zeroes completes with this status
    volatile long size;
    private int acceptBeforeRefusal;

    ScriptedVDisk(String name, long size, int maxTransfer, boolean readOnly) {
        this.inner = new MemoryVDisk(name, 1L << 50, false, false); // thin: room to grow in resize tests
        this.size = size;
        this.maxTransfer = maxTransfer;
        this.readOnly = readOnly;
    }

    ScriptedVDisk(String name, long size) { this(name, size, 1 << 20, false); }

    @Override public String name() { return inner.name(); }
    @Override public long size() { return size; }
    @Override public int blockSize() { return 4096; }
    @Override public int maxTransfer() { return maxTransfer; }
    @Override public boolean readOnly() { return readOnly; }

    private int check(long offset, long length, boolean data, MemorySegment buf) {
        if (offset < 0 || length <= 0 || offset % 4096 != 0 || length % 4096 != 0) return VDiskStatus.INVALID;
        if (data && (length > maxTransfer || buf == null || buf.byteSize() < length)) return VDiskStatus.INVALID;
        if (offset > size - length) return VDiskStatus.OUT_OF_RANGE;
        return refusal();
    }

    private synchronized int refusal() {
        int r = refuseNext;
        if (r == 0) return VDiskStatus.OK;
        if (acceptBeforeRefusal > 0) { acceptBeforeRefusal--; return VDiskStatus.OK; }
        refuseNext = 0;
        return r;
    }

    /** Accepts {@code accepted} more submissions, then refuses one with {@code status}. */
    synchronized void refuseAfter(int accepted, int status) {
        acceptBeforeRefusal = accepted;
        refuseNext = status;
    }

    /** Completes the oldest held request on the calling thread. */
    void releaseFirst() {
        Runnable r;
        synchronized (held) { r = held.remove(0); }
        r.run();
    }

    private void run(Runnable r) {
        if (hold) {
            synchronized (held) { held.add(r); }
        } else {
            r.run();
        }
    }

    /** Completes every held request (in submission order) on the calling thread; returns how many. */
    int releaseAll() {
        List<Runnable> rs;
        synchronized (held) { rs = new ArrayList<>(held); held.clear(); }
        rs.forEach(Runnable::run);
        return rs.size();
    }

    int heldCount() { synchronized (held) { return held.size(); } }

    long count(Op op) { return calls.stream().filter(c -> c.op == op).count(); }

    @Override
    public int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int st = check(offset, length, true, buf);
        if (st != VDiskStatus.OK) return st;
        calls.add(new Call(Op.READ, offset, length, buf.isNative() ? buf.address() : -1, !buf.isNative()));
        run(() -> {
            int f = failNextRead;
            if (f != 0) { failNextRead = 0; cb.onComplete(tag, f); return; }
            inner.read(offset, buf, length, tag, cb);
        });
        return VDiskStatus.OK;
    }

    @Override
    public int write(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int st = check(offset, length, true, buf);
        if (st != VDiskStatus.OK) return st;
        calls.add(new Call(Op.WRITE, offset, length, buf.isNative() ? buf.address() : -1, !buf.isNative()));
        run(() -> {
            if (readOnly) { cb.onComplete(tag, VDiskStatus.READ_ONLY); return; }
            int f = failNextWrite;
            if (f != 0) { failNextWrite = 0; cb.onComplete(tag, f); return; }
            inner.write(offset, buf, length, tag, cb);
        });
        return VDiskStatus.OK;
    }

    @Override
    public int flush(long tag, IoCallback cb) {
        int r = refusal();
        if (r != 0) return r;
        calls.add(new Call(Op.FLUSH, 0, 0, -1, false));
        run(() -> inner.flush(tag, cb));
        return VDiskStatus.OK;
    }

    @Override
    public int unmap(long offset, long length, long tag, IoCallback cb) { return zero(Op.UNMAP, offset, length, tag, cb); }

    @Override
    public int writeZeroes(long offset, long length, long tag, IoCallback cb) { return zero(Op.ZEROES, offset, length, tag, cb); }

    private int zero(Op op, long offset, long length, long tag, IoCallback cb) {
        int st = check(offset, length, false, null);
        if (st != VDiskStatus.OK) return st;
        calls.add(new Call(op, offset, length, -1, false));
        run(() -> {
            if (readOnly) { cb.onComplete(tag, VDiskStatus.READ_ONLY); return; }
            int f = failNextWrite;
            if (f != 0) { failNextWrite = 0; cb.onComplete(tag, f); return; }
            if (op == Op.UNMAP) inner.unmap(offset, length, tag, cb); else inner.writeZeroes(offset, length, tag, cb);
        });
        return VDiskStatus.OK;
    }

    /** Writes bytes directly into the backing store (test setup). */
    void poke(long offset, byte[] data) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment s = arena.allocate(data.length);
            s.copyFrom(MemorySegment.ofArray(data));
            int st = inner.write(offset, s, data.length, 0, (t, x) -> { });
            if (st != VDiskStatus.OK) throw new IllegalStateException(VDiskStatus.describe(st));
        }
    }

    /** Reads bytes directly from the backing store. */
    byte[] peek(long offset, int length) {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment s = arena.allocate(length);
            int st = inner.read(offset, s, length, 0, (t, x) -> { });
            if (st != VDiskStatus.OK) throw new IllegalStateException(VDiskStatus.describe(st));
            return s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    @Override
    public void close() { inner.close(); }
}
