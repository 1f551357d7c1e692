package io.dsf.stargate.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test fixture: a thin {@link VDisk} held in memory (1 MiB chunks allocated on first write),
 * completing inline on the submitter or, when built {@code async}, on one completion thread, so
 * frontends can be tested against both behaviours the contract allows. Thread safe.
 */
public final class MemoryVDisk implements VDisk, AutoCloseable {
    private static final int CHUNK = 1 << 20;
    private final String name;
    private final long size;
    private final boolean readOnly;
    private final ExecutorService completer;
    private final ConcurrentHashMap<Long, MemorySegment> chunks = new ConcurrentHashMap<>();
    private final Arena arena = Arena.ofShared();
    /** Requests completed, by kind, for assertions. */
    public final AtomicLong reads = new AtomicLong(), writes = new AtomicLong(), flushes = new AtomicLong(),
            unmaps = new AtomicLong(), zeroes = new AtomicLong();
    /** When set, the next write fails with this status instead of writing (then clears itself). */
    public volatile int failNextWrite;
    private volatile boolean closed;

    public MemoryVDisk(String name, long size, boolean readOnly, boolean async) {
        if (size <= 0 || size % 4096 != 0) throw new IllegalArgumentException("size must be a positive multiple of 4096: " + size);
        this.name = name;
        this.size = size;
        this.readOnly = readOnly;
        this.completer = async ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "memvdisk-" + name);
            t.setDaemon(true);
            return t;
        }) : null;
    }

    public MemoryVDisk(String name, long size) { this(name, size, false, false); }

    @Override public String name() { return name; }
    @Override public long size() { return size; }
    @Override public int blockSize() { return 4096; }
    @Override public int maxTransfer() { return 1 << 20; }
    @Override public boolean readOnly() { return readOnly; }

    private int check(long offset, long length, boolean data, IoCallback cb) {
        if (closed) return VDiskStatus.CLOSED;
        if (cb == null || offset < 0 || length <= 0 || offset % 4096 != 0 || length % 4096 != 0) return VDiskStatus.INVALID;
        if (data && length > maxTransfer()) return VDiskStatus.INVALID;
        if (offset > size - length) return VDiskStatus.OUT_OF_RANGE;
        return VDiskStatus.OK;
    }

    private void complete(IoCallback cb, long tag, int status) {
        if (completer == null) cb.onComplete(tag, status);
        else completer.execute(() -> cb.onComplete(tag, status));
    }

    @Override
    public int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int st = check(offset, length, true, cb);
        if (st != VDiskStatus.OK) return st;
        if (buf == null || buf.byteSize() < length) return VDiskStatus.INVALID;
        for (long done = 0; done < length; ) {
            long pos = offset + done;
            int in = (int) (pos % CHUNK);
            int n = (int) Math.min(length - done, CHUNK - in);
            MemorySegment c = chunks.get(pos / CHUNK);
            if (c == null) buf.asSlice(done, n).fill((byte) 0);
            else MemorySegment.copy(c, in, buf, done, n);
            done += n;
        }
        reads.incrementAndGet();
        complete(cb, tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int write(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int st = check(offset, length, true, cb);
        if (st != VDiskStatus.OK) return st;
        if (buf == null || buf.byteSize() < length) return VDiskStatus.INVALID;
        if (readOnly) { complete(cb, tag, VDiskStatus.READ_ONLY); return VDiskStatus.OK; }
        int fail = failNextWrite;
        if (fail != 0) { failNextWrite = 0; complete(cb, tag, fail); return VDiskStatus.OK; }
        for (long done = 0; done < length; ) {
            long pos = offset + done;
            int in = (int) (pos % CHUNK);
            int n = (int) Math.min(length - done, CHUNK - in);
            MemorySegment c = chunks.computeIfAbsent(pos / CHUNK, k -> arena.allocate(CHUNK, 4096));
            MemorySegment.copy(buf, done, c, in, n);
            done += n;
        }
        writes.incrementAndGet();
        complete(cb, tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int flush(long tag, IoCallback cb) {
        if (closed) return VDiskStatus.CLOSED;
        if (cb == null) return VDiskStatus.INVALID;
        flushes.incrementAndGet();
        complete(cb, tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    private int zero(long offset, long length, long tag, IoCallback cb) {
        int st = check(offset, length, false, cb);
        if (st != VDiskStatus.OK) return st;
        if (readOnly) { complete(cb, tag, VDiskStatus.READ_ONLY); return VDiskStatus.OK; }
        for (long done = 0; done < length; ) {
            long pos = offset + done;
            int in = (int) (pos % CHUNK);
            long n = Math.min(length - done, CHUNK - in);
            MemorySegment c = chunks.get(pos / CHUNK);
            if (c != null) c.asSlice(in, n).fill((byte) 0);
            done += n;
        }
        complete(cb, tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int unmap(long offset, long length, long tag, IoCallback cb) {
        int st = zero(offset, length, tag, cb);
        if (st == VDiskStatus.OK) unmaps.incrementAndGet();
        return st;
    }

    @Override
    public int writeZeroes(long offset, long length, long tag, IoCallback cb) {
        int st = zero(offset, length, tag, cb);
        if (st == VDiskStatus.OK) zeroes.incrementAndGet();
        return st;
    }

    @Override
    public void close() {
        closed = true;
        if (completer != null) completer.shutdown();
    }
}
