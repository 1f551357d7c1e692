package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.RequestChecks;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.LockSupport;

/**
 * One queue of a {@link FaultyBlockDevice}. A preallocated slot per request maps the caller's
 * {@code userData} to the inner queue's tag (the slot index) and remembers what to do at delivery
 * (apply the power-loss overlay, corrupt read data, restore a corrupted write buffer). Requests
 * failed by a rule, or answered by the overlay, complete without reaching the inner queue. All
 * completions go through one FIFO and are delivered by {@link #poll}, {@link #await} or
 * {@link #close}; a request completed here (an injected error, a cached write, a lost device) can
 * therefore be delivered before an earlier one still at the inner device. Owned by the thread that opened it; not thread safe. Allocation free after
 * construction (the power-loss overlay grows its page pool only past its high-water mark).
 */
final class FaultyQueue implements DeviceQueue {
    private static final long IDLE_PARK_NANOS = 50_000;
    private static final byte READ = 0, WRITE = 1, FLUSH = 2, TRIM = 3;
    private static final int F_OVERLAY = 1;     // powerloss read: copy cached sectors over the data
    private static final int F_FLIP_READ = 2;   // corrupt the data read
    private static final int F_UNFLIP = 4;      // restore the caller's buffer of a corrupted write
    private static final int F_CACHED = 8;      // powerloss write held by the overlay (an early leak may be in flight)
    private static final int DEVICE_LOST = IoError.DEVICE_LOST.code();

    private final FaultyBlockDevice device;
    private final FaultInjector injector;
    private final PowerLossCache cache;
    private final WriteThrough writeThrough;
    private final Geometry geometry;
    private final CompletionHandler handler;
    private final DeviceQueue inner;
    private final int depth;
    // slot table, indexed by the tag given to the inner queue
    private final long[] userData;
    private final byte[] op;
    private final long[] offset;
    private final long[] length;
    private final MemorySegment[] buffer;
    private final int[] flags;
    private final int[] status;
    private final long[] epoch;
    private final long[] flipFrom;
    private final long[] flipTo;
    private final long[] flipSalt;
    private final boolean[] busy;
    private final int[] free;
    private int freeTop;
    // completed, waiting for delivery: FIFO of slot indices (a slot is in it at most once)
    private final int[] ready;
    private final int readyMask;
    private long readyHead;
    private long readyTail;
    private boolean closed;

    FaultyQueue(FaultyBlockDevice device, int depth, CompletionHandler handler) {
        this.device = device;
        this.injector = device.injector();
        this.cache = device.cache();
        this.geometry = device.geometry();
        this.handler = handler;
        this.depth = depth;
        userData = new long[depth];
        op = new byte[depth];
        offset = new long[depth];
        length = new long[depth];
        buffer = new MemorySegment[depth];
        flags = new int[depth];
        status = new int[depth];
        epoch = new long[depth];
        flipFrom = new long[depth];
        flipTo = new long[depth];
        flipSalt = new long[depth];
        busy = new boolean[depth];
        free = new int[depth];
        for (int i = 0; i < depth; i++) free[i] = depth - 1 - i;
        freeTop = depth;
        int cap = Integer.highestOneBit(Math.max(1, depth - 1)) << 1;
        if (cap < depth) cap = depth;
        ready = new int[cap];
        readyMask = cap - 1;
        writeThrough = cache == null ? null : new WriteThrough(PowerLossCache.WRITE_THROUGH_DEPTH);
        int innerDepth = cache == null ? depth : depth + PowerLossCache.WRITE_THROUGH_DEPTH;
        inner = device.inner().openQueue(innerDepth, this::onInnerComplete);
        if (writeThrough != null) writeThrough.bind(inner);
    }

    /** Inner completion, on this thread from an inner poll/await/close: queue it for delivery. */
    private void onInnerComplete(long tag, int st) {
        if (tag < 0) {
            writeThrough.onComplete(tag, st);
            return;
        }
        int s = (int) tag;
        status[s] = st;
        pushReady(s);
    }

    private void pushReady(int s) {
        ready[(int) (readyTail & readyMask)] = s;
        readyTail++;
    }

    // ---- submission --------------------------------------------------------------------------

    private int admit() {
        if (closed || device.isClosed()) return IoError.CLOSED.code();
        if (freeTop == 0) return IoError.QUEUE_FULL.code();
        return ACCEPTED;
    }

    private int take(long ud, byte o, long off, MemorySegment buf, long len) {
        int s = free[--freeTop];
        busy[s] = true;
        userData[s] = ud;
        op[s] = o;
        offset[s] = off;
        length[s] = len;
        buffer[s] = buf;
        flags[s] = 0;
        return s;
    }

    private void release(int s) {
        busy[s] = false;
        buffer[s] = null;
        free[freeTop++] = s;
    }

    /** Completes a slot without the inner device; returns {@link #ACCEPTED}. */
    private int completeHere(int s, int st) {
        status[s] = st;
        pushReady(s);
        return ACCEPTED;
    }

    /** Hands a slot to the inner queue; on refusal, undoes the slot and returns the refusal. */
    private int toInner(int s) {
        int st = switch (op[s]) {
            case READ -> inner.read(offset[s], buffer[s], (int) length[s], s);
            case WRITE -> inner.write(offset[s], buffer[s], (int) length[s], s);
            case FLUSH -> inner.flush(s);
            default -> inner.trim(offset[s], length[s], s);
        };
        if (st != ACCEPTED) abandon(s);
        return st;
    }

    private void abandon(int s) {
        if ((flags[s] & F_UNFLIP) != 0) flip(s);
        release(s);
    }

    /** Applies the first rule that hits; returns true when it completed the request with an error. */
    private boolean failedByRule(int s, IoOp o, long off, long len) {
        FaultRule r = injector.match(o, off, len);
        if (r == null) return false;
        IoError e = r.error();
        if (e != null) {
            injector.injectedErrors.incrementAndGet();
            completeHere(s, e.code());
            return true;
        }
        flipFrom[s] = r.rangeStart() < 0 ? off : r.rangeStart();
        flipTo[s] = r.rangeStart() < 0 ? off + len : r.rangeEnd();
        flipSalt[s] = System.identityHashCode(r);
        if (o == IoOp.READ) {
            flags[s] |= F_FLIP_READ;
        } else {
            flags[s] |= F_UNFLIP;
            flip(s);
            injector.corruptedWrites.incrementAndGet();
        }
        return false;
    }

    @Override
    public int read(long off, MemorySegment buf, int len, long ud) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkRw(geometry, off, buf, len);
        if (st != ACCEPTED) return st;
        int s = take(ud, READ, off, buf, len);
        if (injector.crashed()) return completeHere(s, DEVICE_LOST);
        if (failedByRule(s, IoOp.READ, off, len)) return ACCEPTED;
        if (cache != null) {
            flags[s] |= F_OVERLAY;
            epoch[s] = cache.epoch(); // before the inner read starts
        }
        return toInner(s);
    }

    @Override
    public int write(long off, MemorySegment buf, int len, long ud) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkRw(geometry, off, buf, len);
        if (st != ACCEPTED) return st;
        int s = take(ud, WRITE, off, buf, len);
        if (injector.crashed()) return completeHere(s, DEVICE_LOST);
        if (failedByRule(s, IoOp.WRITE, off, len)) return ACCEPTED;
        return cache == null ? toInner(s) : cachedWrite(s, off, buf, len);
    }

    /** powerloss: the write goes to the overlay (and maybe leaks early), or through when the overlay is full. */
    private int cachedWrite(int s, long off, MemorySegment buf, int len) {
        cache.lock.lock();
        try { // inner submissions under the lock, so that a crash or a flush cannot interleave
            if (injector.crashed()) return completeHere(s, DEVICE_LOST);
            if (!cache.fits(off, len)) {
                cache.remove(off, len);
                injector.overflowWrites.incrementAndGet();
                return toInner(s); // whole, completes when it is on the inner device
            }
            cache.insert(off, buf, len);
            flags[s] |= F_CACHED;
            long n = cache.nextWrite();
            if (cache.leaks(n)) {
                int leakLen = cache.leakLength(n, len);
                if (inner.write(off, buf, leakLen, s) == ACCEPTED) { // completes when the leak landed
                    injector.leakedWrites.incrementAndGet();
                    if (leakLen < len) injector.tornWrites.incrementAndGet();
                    return ACCEPTED;
                }
            }
            return completeHere(s, 0);
        } finally {
            cache.lock.unlock();
        }
    }

    @Override
    public int flush(long ud) {
        int st = admit();
        if (st != ACCEPTED) return st;
        int s = take(ud, FLUSH, -1, null, 0);
        if (injector.crashed()) return completeHere(s, DEVICE_LOST);
        if (failedByRule(s, IoOp.FLUSH, 0, 0)) return ACCEPTED;
        if (cache == null) return toInner(s);
        return completeHere(s, cache.flush(writeThrough)); // synchronous write-through of the overlay
    }

    @Override
    public int trim(long off, long len, long ud) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkTrim(geometry, off, len);
        if (st != ACCEPTED) return st;
        int s = take(ud, TRIM, off, null, len);
        if (injector.crashed()) return completeHere(s, DEVICE_LOST);
        if (failedByRule(s, IoOp.TRIM, off, len)) return ACCEPTED;
        if (cache == null || !geometry.trimSupported()) return toInner(s);
        cache.lock.lock();
        try { // cached data in the range is superseded; the trim itself goes to the inner device at once
            if (injector.crashed()) return completeHere(s, DEVICE_LOST);
            cache.remove(off, len);
            return toInner(s);
        } finally {
            cache.lock.unlock();
        }
    }

    @Override
    public int submit() { return inner.submit(); }

    // ---- completion --------------------------------------------------------------------------

    @Override
    public int poll(int max) {
        inner.poll(Integer.MAX_VALUE);
        return deliver(max);
    }

    private int deliver(int max) {
        int n = 0;
        while (n < max && readyHead != readyTail) {
            int s = ready[(int) (readyHead & readyMask)];
            readyHead++;
            int st = status[s];
            int f = flags[s];
            if (injector.crashed()) {
                st = DEVICE_LOST;
            } else {
                if ((f & F_CACHED) != 0) st = 0; // in the overlay: a failed early leak changes nothing
                if (st == 0 && (f & F_OVERLAY) != 0 && !cache.apply(epoch[s], offset[s], buffer[s], (int) length[s])) {
                    epoch[s] = cache.epoch(); // cached sectors reached the inner device meanwhile: read again
                    int r = closed ? IoError.CLOSED.code() : inner.read(offset[s], buffer[s], (int) length[s], s);
                    if (r == ACCEPTED) continue;
                    st = r;
                }
                if (st == 0 && (f & F_FLIP_READ) != 0) {
                    flip(s);
                    injector.corruptedReads.incrementAndGet();
                }
            }
            if ((f & F_UNFLIP) != 0) flip(s);
            long ud = userData[s];
            release(s); // before the handler: it may submit again re-entrantly
            n++;
            handler.onComplete(ud, st);
        }
        return n;
    }

    /** Flips (or flips back) one bit per device block of the slot's data inside its rule's range. */
    private void flip(int s) {
        MemorySegment buf = buffer[s];
        long ioOff = offset[s], ioEnd = ioOff + length[s];
        long a = Math.max(flipFrom[s], ioOff), b = Math.min(flipTo[s], ioEnd);
        int bs = geometry.blockSize();
        for (long blk = a / bs; blk * bs < b; blk++) {
            long from = Math.max(a, blk * bs), to = Math.min(b, (blk + 1) * bs);
            long h = FaultRandom.mix(blk ^ flipSalt[s]);
            long at = from + Long.remainderUnsigned(h >>> 3, to - from) - ioOff;
            byte x = buf.get(ValueLayout.JAVA_BYTE, at);
            buf.set(ValueLayout.JAVA_BYTE, at, (byte) (x ^ (1 << (h & 7))));
        }
    }

    @Override
    public int await(int max, long timeoutNanos) {
        int n = poll(max);
        if (n > 0 || timeoutNanos <= 0) return n;
        if (freeTop == depth) {
            LockSupport.parkNanos(Math.min(timeoutNanos, IDLE_PARK_NANOS));
            return poll(max);
        }
        inner.await(Integer.MAX_VALUE, timeoutNanos);
        return deliver(max);
    }

    @Override
    public int inFlight() { return depth - freeTop; }

    @Override
    public int depth() { return depth; }

    @Override
    public BlockDevice device() { return device; }

    @Override
    public void registerBuffers(MemorySegment region) { inner.registerBuffers(region); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            inner.close(); // every inner request completes into the ready FIFO
        } finally {
            deliver(Integer.MAX_VALUE);
            for (int s = 0; s < depth; s++) { // the inner queue broke its contract: do not hang callers
                if (busy[s]) {
                    status[s] = IoError.CLOSED.code();
                    flags[s] &= F_UNFLIP;
                    pushReady(s);
                    deliver(1);
                }
            }
            device.onQueueClosed();
        }
    }
}
