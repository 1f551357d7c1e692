package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import org.agrona.collections.Long2ObjectHashMap;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The volatile write cache of a {@code faulty:powerloss} device: an overlay of written, not yet
 * flushed sectors, kept in pages of DMA memory taken from the inner device (so they can be written
 * through without copying) and recycled after a flush; memory is allocated only when the overlay
 * grows past its high-water mark, and never beyond {@code max}.
 *
 * <p>Every overlay change and the whole of a write-through happen under {@link #lock}, one lock for
 * the device: a drive cache is one shared thing, and this is a test fixture. Reads do not take the
 * lock to submit; they record {@link #epoch()}, which moves whenever sectors leave the overlay, and
 * apply the overlay at delivery only if it has not moved (else they re-read the inner device, which
 * now holds those sectors). Thread safe.
 */
final class PowerLossCache {
    /** Grow the page pool by at most this many bytes at a time. */
    private static final int GROW_BYTES = 1 << 20;
    /** Writes a write-through keeps in flight on an inner queue. */
    static final int WRITE_THROUGH_DEPTH = 16;

    final ReentrantLock lock = new ReentrantLock();
    private final BlockDevice inner;
    private final FaultInjector injector;
    private final int blockSize;
    private final int alignment;
    private final int pageSize;
    private final int pageShift;
    private final int sectorsPerPage;
    private final int fullMask;
    private final int tear;
    private final double leak;
    private final long seed;
    private final long maxPages;
    private final Long2ObjectHashMap<Page> pages = new Long2ObjectHashMap<>();
    private Page[] dirty = new Page[64]; // the pages in the map, in no order; Page.slot indexes it
    private int dirtyCount;
    private final ArrayDeque<Page> free = new ArrayDeque<>();
    private long allocatedPages;
    private MemorySegment bounce;        // one page, for runs whose address the inner device cannot take
    private volatile long epoch;
    private volatile long dirtySectors;
    private final AtomicLong writeSeq = new AtomicLong();
    private long crashSeq;

    /** One page of the overlay; {@code valid} has a bit per sector that holds unflushed data. Guarded by the cache lock. */
    private static final class Page {
        final MemorySegment data;
        final MemorySegment[] fromSector; // data sliced at each sector start, made once
        long index;
        int valid;
        int slot;

        Page(MemorySegment data, int sectors, int bs) {
            this.data = data;
            fromSector = new MemorySegment[sectors];
            for (int s = 0; s < sectors; s++) fromSector[s] = data.asSlice((long) s * bs);
        }
    }

    PowerLossCache(BlockDevice inner, Geometry g, FaultInjector injector, double leak, long tear, long max, long seed) {
        this.inner = inner;
        this.injector = injector;
        this.blockSize = g.blockSize();
        this.alignment = g.bufferAlignment();
        int perPage = Math.max(1, Math.min(4096 / blockSize, g.maxTransfer() / blockSize));
        this.sectorsPerPage = Integer.highestOneBit(perPage);
        this.pageSize = sectorsPerPage * blockSize;
        this.pageShift = Integer.numberOfTrailingZeros(pageSize);
        this.fullMask = sectorsPerPage == 32 ? -1 : (1 << sectorsPerPage) - 1;
        this.tear = tear == 0 ? blockSize : (int) Math.min(tear, Integer.MAX_VALUE & -blockSize);
        this.leak = leak;
        this.seed = seed;
        this.maxPages = max / pageSize;
    }

    /** Moves whenever sectors leave the overlay; read by {@link FaultyQueue} at read submission. */
    long epoch() { return epoch; }

    long unflushedBytes() { return dirtySectors * blockSize; }

    // ---- writes (caller holds the lock) --------------------------------------------------

    /** Whether a write of this range fits in the overlay within {@code max}. */
    boolean fits(long offset, long length) {
        long first = offset >>> pageShift, last = (offset + length - 1) >>> pageShift;
        long missing = 0;
        for (long p = first; p <= last; p++) if (pages.get(p) == null) missing++;
        return missing <= free.size() + (maxPages - allocatedPages);
    }

    /** Copies a write into the overlay ({@link #fits} must have said yes). */
    void insert(long offset, MemorySegment buf, int length) {
        long end = offset + length;
        for (long p = offset >>> pageShift; (p << pageShift) < end; p++) {
            long ps = p << pageShift;
            long a = Math.max(offset, ps), b = Math.min(end, ps + pageSize);
            Page page = pages.get(p);
            if (page == null) page = newPage(p);
            MemorySegment.copy(buf, a - offset, page.data, a - ps, b - a);
            int bits = sectorBits(a - ps, b - ps);
            dirtySectors += Integer.bitCount(bits & ~page.valid);
            page.valid |= bits;
        }
    }

    /** Drops the overlay's sectors in a range (they were superseded on the inner device). */
    void remove(long offset, long length) {
        epoch++; // before any sector leaves: see apply()'s lock-free check
        long end = offset + length;
        long first = offset >>> pageShift, last = (end - 1) >>> pageShift;
        if (last - first + 1 > pages.size()) { // a huge range (a trim): walk the pages instead
            for (int i = dirtyCount - 1; i >= 0; i--) {
                Page page = dirty[i];
                if (page.index >= first && page.index <= last) clear(page, offset, end);
            }
        } else {
            for (long p = first; p <= last; p++) {
                Page page = pages.get(p);
                if (page != null) clear(page, offset, end);
            }
        }
    }

    private boolean clear(Page page, long offset, long end) {
        long ps = page.index << pageShift;
        int bits = sectorBits(Math.max(offset, ps) - ps, Math.min(end, ps + pageSize) - ps) & page.valid;
        if (bits == 0) return false;
        page.valid &= ~bits;
        dirtySectors -= Integer.bitCount(bits);
        if (page.valid == 0) recycle(page);
        return true;
    }

    /** Whether the write numbered by {@link #nextWrite()} leaks early to the inner device. */
    boolean leaks(long n) {
        return leak > 0 && (leak >= 1 || FaultRandom.unit(seed, n, 1) < leak);
    }

    /** How much of a leaking write reaches the inner device: all of it, or a prefix of whole tear units. */
    int leakLength(long n, int length) {
        if (length <= tear || FaultRandom.unit(seed, n, 2) < 0.5) return length;
        int units = (length + tear - 1) / tear;
        return (1 + (int) (FaultRandom.unit(seed, n, 3) * (units - 1))) * tear;
    }

    long nextWrite() { return writeSeq.incrementAndGet(); }

    // ---- reads -----------------------------------------------------------------------------

    /**
     * Copies the overlay's sectors in a range over data just read from the inner device. Returns
     * false, copying nothing, when sectors left the overlay since {@code readEpoch}: the inner read
     * may predate their arrival there and must be repeated.
     */
    boolean apply(long readEpoch, long offset, MemorySegment buf, int length) {
        // lock-free fast path: nothing cached now, and nothing left since submission (every removal
        // moves the epoch before it lowers dirtySectors, and both are volatile)
        if (dirtySectors == 0 && epoch == readEpoch) return true;
        lock.lock();
        try {
            if (epoch != readEpoch) return false;
            long end = offset + length;
            for (long p = offset >>> pageShift; (p << pageShift) < end; p++) {
                Page page = pages.get(p);
                if (page == null) continue;
                long ps = p << pageShift;
                long a = Math.max(offset, ps), b = Math.min(end, ps + pageSize);
                int bits = sectorBits(a - ps, b - ps);
                if ((page.valid & bits) == bits) {
                    MemorySegment.copy(page.data, a - ps, buf, a - offset, b - a);
                } else {
                    int v = page.valid & bits;
                    while (v != 0) {
                        int s = Integer.numberOfTrailingZeros(v);
                        v &= v - 1;
                        long at = ps + (long) s * blockSize;
                        MemorySegment.copy(page.data, (long) s * blockSize, buf, at - offset, blockSize);
                    }
                }
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    // ---- flush, crash, shutdown --------------------------------------------------------------

    /**
     * Writes the whole overlay through {@code wt}, flushes the inner device, then empties the
     * overlay. On any error the overlay is kept (a later flush retries). Takes the lock.
     */
    int flush(WriteThrough wt) {
        lock.lock();
        try {
            if (injector.crashed()) return IoError.DEVICE_LOST.code();
            int st = writeAll(wt, 1.0, false);
            if (st == 0) st = wt.flushInner();
            if (st == 0) dropAll();
            return st;
        } finally {
            lock.unlock();
        }
    }

    /** The power cut: optionally leak part of the overlay, then drop it and mark the device lost. */
    void crash(FaultInjector inj, double leakProbability) {
        lock.lock();
        try {
            if (inj.crashed()) return;
            inj.markCrashed();
            if (leakProbability > 0 && dirtyCount > 0) {
                try (TempQueue t = new TempQueue()) {
                    writeAll(t.wt, leakProbability, true);
                    t.wt.drain();
                    t.wt.flushInner();
                } catch (DeviceException e) {
                    // the inner device is gone: nothing leaks, which a power cut allows
                }
            }
            dropAll();
        } finally {
            lock.unlock();
        }
    }

    /** Orderly shutdown (device close without a crash): the overlay is written through. */
    void shutdown(FaultInjector inj) {
        lock.lock();
        try {
            if (!inj.crashed() && dirtyCount > 0) {
                try (TempQueue t = new TempQueue()) {
                    int st = writeAll(t.wt, 1.0, false);
                    if (st == 0) st = t.wt.flushInner();
                    if (st != 0) System.err.println("faulty: powerloss overlay not written through at close: " + IoError.describe(st));
                } catch (DeviceException e) {
                    System.err.println("faulty: powerloss overlay not written through at close: " + e.getMessage());
                }
            }
            dropAll();
        } finally {
            lock.unlock();
        }
    }

    /** An inner queue opened on the calling thread for control-path write-through. Owned by that thread. */
    private final class TempQueue implements AutoCloseable {
        final WriteThrough wt = new WriteThrough(WRITE_THROUGH_DEPTH);
        final DeviceQueue q = inner.openQueue(WRITE_THROUGH_DEPTH, wt);

        TempQueue() { wt.bind(q); }

        @Override public void close() { q.close(); }
    }

    /**
     * Writes every run of valid sectors (each with probability {@code p}; with {@code torn}, half of
     * the chosen runs only as a prefix of tear units), then waits for all. Caller holds the lock.
     */
    private int writeAll(WriteThrough wt, double p, boolean torn) {
        int st = 0;
        for (int i = 0; i < dirtyCount && st == 0; i++) {
            Page page = dirty[i];
            int v = page.valid;
            int s = 0;
            while (s < sectorsPerPage && st == 0) {
                if ((v & (1 << s)) == 0) {
                    s++;
                    continue;
                }
                int e = s;
                while (e < sectorsPerPage && (v & (1 << e)) != 0) e++;
                int len = (e - s) * blockSize;
                boolean take = p >= 1 || FaultRandom.unit(seed, ++crashSeq, 4) < p;
                if (take) {
                    if (torn && len > tear && FaultRandom.unit(seed, crashSeq, 5) < 0.5) {
                        int units = (len + tear - 1) / tear;
                        len = (1 + (int) (FaultRandom.unit(seed, crashSeq, 6) * (units - 1))) * tear;
                    }
                    st = writeRun(wt, (page.index << pageShift) + (long) s * blockSize, page, s, len);
                }
                s = e;
            }
        }
        int d = wt.drain();
        return st != 0 ? st : d;
    }

    private int writeRun(WriteThrough wt, long offset, Page page, int sector, int len) {
        MemorySegment src = page.fromSector[sector];
        if ((src.address() & (alignment - 1)) == 0) return wt.write(offset, src, len);
        // the inner device needs more alignment than a sector: go through the bounce page, one at a time
        int st = wt.drain();
        if (st != 0) return st;
        if (bounce == null) bounce = inner.allocateDma(pageSize);
        MemorySegment.copy(src, 0, bounce, 0, len);
        st = wt.write(offset, bounce, len);
        int d = wt.drain();
        return st != 0 ? st : d;
    }

    private void dropAll() {
        if (dirtyCount == 0) return;
        epoch++; // before any sector leaves: see apply()'s lock-free check
        for (int i = dirtyCount - 1; i >= 0; i--) {
            Page page = dirty[i];
            page.valid = 0;
            pages.remove(page.index);
            dirty[i] = null;
            free.push(page);
        }
        dirtyCount = 0;
        dirtySectors = 0;
    }

    // ---- pages ---------------------------------------------------------------------------------

    private Page newPage(long index) {
        if (free.isEmpty()) grow();
        Page page = free.pop();
        page.index = index;
        page.valid = 0;
        pages.put(index, page);
        if (dirtyCount == dirty.length) dirty = Arrays.copyOf(dirty, dirtyCount * 2);
        page.slot = dirtyCount;
        dirty[dirtyCount++] = page;
        return page;
    }

    private void recycle(Page page) {
        pages.remove(page.index);
        Page last = dirty[--dirtyCount];
        dirty[page.slot] = last;
        last.slot = page.slot;
        dirty[dirtyCount] = null;
        free.push(page);
    }

    private void grow() {
        long n = Math.min(Math.max(1, GROW_BYTES / pageSize), maxPages - allocatedPages);
        if (n <= 0) throw new IllegalStateException("powerloss overlay over its page budget"); // fits() prevents this
        MemorySegment chunk = inner.allocateDma(n * pageSize);
        for (long i = 0; i < n; i++) free.push(new Page(chunk.asSlice(i * pageSize, pageSize), sectorsPerPage, blockSize));
        allocatedPages += n;
    }

    /** Bits of the sectors covering byte range [from, to) within a page (both block aligned). */
    private int sectorBits(long from, long to) {
        int a = (int) (from / blockSize), b = (int) ((to + blockSize - 1) / blockSize);
        int width = b - a;
        return (width >= 32 ? -1 : (1 << width) - 1) << a;
    }
}
