package io.dsf.frodo.virtq;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.LibcMacros;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.stat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A guest's memory table: up to {@link #MAX_REGIONS} regions, each mapped from a file descriptor
 * (the memfd QEMU passes), addressed by guest-physical address (descriptors) or by the front-end's
 * user virtual address (ring addresses). Every translation checks the whole range against one
 * region with overflow-safe arithmetic; a range spanning two regions is refused (callers report it
 * as a malformed request). A region must lie within the file behind it (a shorter file would fault
 * on access). The mappings live in one shared arena: closing it unmaps them, and a late
 * access through a closed table fails with an exception instead of touching unmapped memory.
 *
 * <p>Built and closed by the connection thread; translations are thread safe (immutable after
 * construction; the page-slice cache is filled racily with equal values).
 */
public final class GuestMemory implements AutoCloseable {
    /** Regions a vhost-user memory table may hold without the memory-slots protocol feature. */
    public static final int MAX_REGIONS = 8;
    private static final int PAGE_SHIFT = 12;

    private final Arena arena;
    private final int count;
    private final long[] gpa;
    private final long[] uva;
    private final long[] size;
    private final MemorySegment[] segment;
    /** Per region: slices starting at each 4 KiB page and running to the region's end, made on first use. */
    private final MemorySegment[][] pageSlices;

    private GuestMemory(Arena arena, long[] gpa, long[] uva, long[] size, MemorySegment[] segment) {
        this.arena = arena;
        this.count = gpa.length;
        this.gpa = gpa;
        this.uva = uva;
        this.size = size;
        this.segment = segment;
        this.pageSlices = new MemorySegment[count][];
        for (int i = 0; i < count; i++) {
            long pages = (size[i] + (1L << PAGE_SHIFT) - 1) >>> PAGE_SHIFT;
            // cache slices only for regions up to 64 GiB (16 M pages); larger ones slice per use
            pageSlices[i] = pages <= (1 << 24) ? new MemorySegment[(int) pages] : null;
        }
    }

    /**
     * Validates a region table and maps every region {@code MAP_SHARED} read-write. The descriptors
     * stay owned by the caller (mappings outlive them).
     *
     * @throws IllegalArgumentException for an invalid table (sizes, overflow, overlap), naming the region
     * @throws io.dsf.bindings.libc.ErrnoException when a mapping fails
     */
    public static GuestMemory map(long[] gpa, long[] size, long[] uva, long[] mmapOffset, int[] fds) {
        int n = gpa.length;
        if (n < 1 || n > MAX_REGIONS || size.length != n || uva.length != n || mmapOffset.length != n || fds.length != n)
            throw new IllegalArgumentException("memory table needs 1.." + MAX_REGIONS + " regions, got " + n);
        for (int i = 0; i < n; i++) {
            if (size[i] <= 0) throw new IllegalArgumentException("region " + i + ": size " + size[i] + " is not positive");
            if (Long.compareUnsigned(gpa[i], -1L - (size[i] - 1)) > 0)
                throw new IllegalArgumentException("region " + i + ": guest address range wraps");
            if (Long.compareUnsigned(uva[i], -1L - (size[i] - 1)) > 0)
                throw new IllegalArgumentException("region " + i + ": user address range wraps");
            if (mmapOffset[i] < 0 || mmapOffset[i] > Long.MAX_VALUE - size[i])
                throw new IllegalArgumentException("region " + i + ": mmap offset " + mmapOffset[i] + " out of range");
            for (int j = 0; j < i; j++) {
                boolean disjoint = Long.compareUnsigned(gpa[i] + size[i] - 1, gpa[j]) < 0
                        || Long.compareUnsigned(gpa[j] + size[j] - 1, gpa[i]) < 0;
                if (!disjoint) throw new IllegalArgumentException("regions " + j + " and " + i + " overlap in guest memory");
            }
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = stat.allocate(a);
            for (int i = 0; i < n; i++) {
                if (Libc.fstat(fds[i], st) < 0)
                    throw new io.dsf.bindings.libc.ErrnoException("fstat of guest memory region " + i, Errno.last());
                // a file shorter than the mapping would fault (SIGBUS) on the first access past its end
                if (LibcMacros.S_ISREG(stat.st_mode(st)) && stat.st_size(st) < mmapOffset[i] + size[i])
                    throw new IllegalArgumentException("region " + i + ": maps " + (mmapOffset[i] + size[i])
                            + " bytes of a file that holds " + stat.st_size(st));
            }
        }
        Arena arena = Arena.ofShared();
        MemorySegment[] segs = new MemorySegment[n];
        try {
            for (int i = 0; i < n; i++) {
                long total = mmapOffset[i] + size[i];
                MemorySegment m = Libc.mmap(MemorySegment.NULL, total, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fds[i], 0);
                if (m.address() == Libc.MAP_FAILED.address()) {
                    int e = Errno.last();
                    throw new io.dsf.bindings.libc.ErrnoException("mmap of guest memory region " + i + " (" + total + " bytes)", e);
                }
                long addr = m.address();
                MemorySegment mapped = m.reinterpret(total, arena, s -> Libc.munmap(MemorySegment.ofAddress(addr), total));
                segs[i] = mapped.asSlice(mmapOffset[i], size[i]);
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        return new GuestMemory(arena, gpa.clone(), uva.clone(), size.clone(), segs);
    }

    /** Number of regions. */
    public int regions() { return count; }

    /** The whole mapping of region {@code r}. */
    public MemorySegment segment(int r) { return segment[r]; }

    public long regionGpa(int r) { return gpa[r]; }

    public long regionUva(int r) { return uva[r]; }

    public long regionSize(int r) { return size[r]; }

    /**
     * The region holding guest-physical {@code [addr, addr+len)} entirely, or -1. {@code len} is
     * treated as unsigned; a zero length needs {@code addr} inside or at the end of a region.
     */
    public int findGpa(long addr, long len) {
        return find(gpa, addr, len);
    }

    /** As {@link #findGpa} for a front-end user virtual address. */
    public int findUva(long addr, long len) {
        return find(uva, addr, len);
    }

    private int find(long[] base, long addr, long len) {
        for (int i = 0; i < count; i++) {
            long off = addr - base[i];
            if (Long.compareUnsigned(addr, base[i]) >= 0 && Long.compareUnsigned(off, size[i]) <= 0
                    && Long.compareUnsigned(len, size[i] - off) <= 0) {
                if (off == size[i] && len != 0) continue;
                return i;
            }
        }
        return -1;
    }

    /**
     * A segment starting at {@code offset} of region {@code r} and running to the region's end:
     * what a {@code VDisk} read or write gets for a guest buffer (no copy). Page-aligned offsets reuse
     * a cached slice, so steady-state I/O does not allocate.
     */
    public MemorySegment sliceFrom(int r, long offset) {
        MemorySegment[] cache = pageSlices[r];
        if (cache == null || (offset & ((1L << PAGE_SHIFT) - 1)) != 0) return segment[r].asSlice(offset);
        int page = (int) (offset >>> PAGE_SHIFT);
        MemorySegment s = cache[page];
        if (s == null) {
            s = segment[r].asSlice(offset);
            cache[page] = s;
        }
        return s;
    }

    /** Unmaps every region. Callers make sure no request still uses guest buffers. */
    @Override
    public void close() {
        arena.close();
    }
}
