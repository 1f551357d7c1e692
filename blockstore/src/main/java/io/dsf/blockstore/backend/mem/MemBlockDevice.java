package io.dsf.blockstore.backend.mem;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.ImmediateQueue;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code mem:SIZE[?bs=512]}: a thin in-memory device. The whole device is one anonymous private
 * mapping reserved at open ({@code MAP_NORESERVE}: a large {@code SIZE} costs address space, not
 * memory); the first write into a 1 MiB region has the kernel make its pages, zeroed, with one
 * {@code MADV_POPULATE_WRITE}, so never-written blocks read as zeros (the shared zero page) and
 * cost nothing. A trim gives whole pages back ({@code MADV_DONTNEED}: they read as zeros again)
 * and zeroes the rest. Data is "durable" at write completion (no volatile cache). Thread safe;
 * each queue is owned by its thread.
 *
 * <p>Why one mapping: memory taken in 1 MiB chunks of native memory on first write (a malloc and
 * a zeroing in Java, page faults and all) put a stall of hundreds of microseconds into the write
 * that touched a chunk first; a vDisk's drain writes its first extents during a benchmark's
 * measured window, and 16 such writes took 6-20 ms of one shard loop turn (bench/README.md).
 */
public final class MemBlockDevice extends AbstractBlockDevice {
    /** Granularity of {@link #residentBytes}' accounting. */
    static final int REGION_SHIFT = 20;
    private static final long PAGE = 4096;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment mem;
    /** One bit per 1 MiB region written since it was last trimmed whole (for {@link #residentBytes}). */
    private final AtomicLongArray written;

    private MemBlockDevice(String uri, Geometry g) {
        super(uri, g);
        long regions = (g.capacity() + (1L << REGION_SHIFT) - 1) >>> REGION_SHIFT;
        if ((regions + 63) / 64 > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("mem device too large: " + uri);
        long len = (g.capacity() + PAGE - 1) & -PAGE;
        MemorySegment m = Libc.mmap(MemorySegment.NULL, len, Libc.PROT_READ | Libc.PROT_WRITE,
                Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        if (m.address() == Libc.MAP_FAILED.address()) {
            int e = Errno.last();
            throw new IllegalArgumentException("mem: cannot reserve " + len + " bytes of address space for " + uri + ": " + Errno.describe(e));
        }
        // a shared arena: closing it makes a late access fail cleanly instead of touching an unmapped range
        mem = m.reinterpret(len, arena, z -> Libc.munmap(z, len));
        written = new AtomicLongArray((int) ((regions + 63) / 64));
    }

    public static MemBlockDevice open(DeviceUri u) {
        u.allowOnly("bs");
        int bs = u.blockSize(512);
        long size = Sizes.parse(u.path());
        size -= size % bs;
        if (size <= 0) throw new IllegalArgumentException("mem: size must be at least one block: " + u.uri());
        return new MemBlockDevice(u.uri(), new Geometry(size, bs, bs, 1 << 20, true, true, false));
    }

    void copyIn(long offset, MemorySegment src, int length) {
        for (long r = offset >>> REGION_SHIFT, last = (offset + length - 1) >>> REGION_SHIFT; r <= last; r++) {
            int w = (int) (r >>> 6);
            long bit = 1L << r, v;
            while (((v = written.get(w)) & bit) == 0) {
                if (written.compareAndSet(w, v, v | bit)) {
                    populate(r);
                    break;
                }
            }
        }
        MemorySegment.copy(src, 0, mem, offset, length);
    }

    /**
     * Makes the pages of region {@code r} at its first write, with one call: one page fault per
     * 4 KiB write made the shard writing a fresh device spend a quarter more CPU per write than one
     * populate per MiB (bench/README.md). Best effort: where the kernel lacks it, pages come at
     * first touch.
     */
    private void populate(long r) {
        if (!populateWorks) return;
        long at = r << REGION_SHIFT, n = Math.min(1L << REGION_SHIFT, mem.byteSize() - at);
        if (Libc.madvise(mem.asSlice(at, n), n, Libc.MADV_POPULATE_WRITE) != 0) populateWorks = false;
    }

    private volatile boolean populateWorks = true;

    void copyOut(long offset, MemorySegment dst, int length) {
        MemorySegment.copy(mem, offset, dst, 0, length);
    }

    void zero(long offset, long length) {
        long end = offset + length;
        long a = (offset + PAGE - 1) & -PAGE, b = end & -PAGE;
        if (a >= b) {
            mem.asSlice(offset, length).fill((byte) 0);
            return;
        }
        if (a > offset) mem.asSlice(offset, a - offset).fill((byte) 0);
        if (end > b) mem.asSlice(b, end - b).fill((byte) 0);
        if (Libc.madvise(mem.asSlice(a, b - a), b - a, Libc.MADV_DONTNEED) != 0) mem.asSlice(a, b - a).fill((byte) 0);
        long region = 1L << REGION_SHIFT;
        for (long r = (offset + region - 1) >>> REGION_SHIFT; (r + 1) << REGION_SHIFT <= end; r++) { // regions trimmed whole
            int w = (int) (r >>> 6);
            long bit = 1L << r, v;
            while (((v = written.get(w)) & bit) != 0 && !written.compareAndSet(w, v, v & ~bit)) Thread.onSpinWait();
        }
    }

    /** The device's memory (one mapping, page aligned); for tests. */
    MemorySegment memory() { return mem; }

    /** Bytes of the 1 MiB regions written since they were last trimmed whole: at most this much memory backs the device. */
    public long residentBytes() {
        long n = 0;
        for (int i = 0; i < written.length(); i++) n += Long.bitCount(written.get(i));
        return n << REGION_SHIFT;
    }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new ImmediateQueue(this, depth, handler) {
            @Override protected int doRead(long offset, MemorySegment b, int len) { copyOut(offset, b, len); return 0; }
            @Override protected int doWrite(long offset, MemorySegment b, int len) { copyIn(offset, b, len); return 0; }
            @Override protected int doFlush() { return 0; }
            @Override protected int doTrim(long offset, long len) { zero(offset, len); return 0; }
        };
    }

    @Override
    protected void release() {
        try {
            arena.close(); // unmaps
        } catch (IllegalStateException stillInUse) {
            // a thread is inside a copy right now: the mapping stays (leaked) rather than unmapped under it
        }
    }
}
