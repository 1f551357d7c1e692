package io.dsf.blockstore.backend.delay;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

/**
 * One queue of a {@link DelayBlockDevice}: a preallocated slot per request maps the caller's
 * {@code userData} to the inner queue's tag and remembers when the request is due; inner
 * completions wait in a FIFO (inner completion order) until due. Owned by the thread that
 * opened it; not thread safe. Allocation free after construction.
 */
final class DelayQueue implements DeviceQueue {
    /** How long {@link #await} parks when nothing is in flight (as the immediate backends do). */
    private static final long IDLE_PARK_NANOS = 50_000;
    private final DelayBlockDevice device;
    private final DeviceQueue inner;
    private final CompletionHandler handler;
    private final int depth;
    private final long delayNanos;
    // slot table: index = tag given to the inner queue
    private final long[] userData;
    private final long[] due;
    private final int[] status;
    private final boolean[] busy;
    private final int[] free;
    private int freeTop;
    // completed by the inner queue, waiting until due; FIFO of slot indices
    private final int[] held;
    private final int heldMask;
    private long heldHead;
    private long heldTail;
    private boolean closed;

    DelayQueue(DelayBlockDevice device, BlockDevice innerDevice, int depth, CompletionHandler handler, long delayNanos) {
        this.device = device;
        this.handler = handler;
        this.depth = depth;
        this.delayNanos = delayNanos;
        userData = new long[depth];
        due = new long[depth];
        status = new int[depth];
        busy = new boolean[depth];
        free = new int[depth];
        for (int i = 0; i < depth; i++) free[i] = depth - 1 - i;
        freeTop = depth;
        int cap = Integer.highestOneBit(Math.max(1, depth - 1)) << 1;
        if (cap < depth) cap = depth;
        held = new int[cap];
        heldMask = cap - 1;
        this.inner = innerDevice.openQueue(depth, this::onInnerComplete);
    }

    /** Inner completion (on this thread, from inner poll/await/close): park it until due. */
    private void onInnerComplete(long tag, int st) {
        int s = (int) tag;
        status[s] = st;
        held[(int) (heldTail & heldMask)] = s;
        heldTail++;
    }

    private int admit() {
        if (closed || device.isClosed()) return IoError.CLOSED.code();
        if (freeTop == 0) return IoError.QUEUE_FULL.code();
        return ACCEPTED;
    }

    private int take(long ud) {
        int s = free[--freeTop];
        busy[s] = true;
        userData[s] = ud;
        due[s] = System.nanoTime() + delayNanos;
        return s;
    }

    private void release(int s) {
        busy[s] = false;
        free[freeTop++] = s;
    }

    private int settle(int s, int st) {
        if (st != ACCEPTED) release(s);
        return st;
    }

    @Override
    public int read(long offset, MemorySegment buffer, int length, long ud) {
        int st = admit();
        if (st != ACCEPTED) return st;
        int s = take(ud);
        return settle(s, inner.read(offset, buffer, length, s));
    }

    @Override
    public int write(long offset, MemorySegment buffer, int length, long ud) {
        int st = admit();
        if (st != ACCEPTED) return st;
        int s = take(ud);
        return settle(s, inner.write(offset, buffer, length, s));
    }

    @Override
    public int flush(long ud) {
        int st = admit();
        if (st != ACCEPTED) return st;
        int s = take(ud);
        return settle(s, inner.flush(s));
    }

    @Override
    public int trim(long offset, long length, long ud) {
        int st = admit();
        if (st != ACCEPTED) return st;
        int s = take(ud);
        return settle(s, inner.trim(offset, length, s));
    }

    @Override
    public int submit() { return inner.submit(); }

    @Override
    public int poll(int max) {
        inner.poll(Integer.MAX_VALUE);
        return deliverDue(max, System.nanoTime());
    }

    /** Delivers held completions in FIFO order while the head is due at {@code now}. */
    private int deliverDue(int max, long now) {
        int n = 0;
        while (n < max && heldHead != heldTail) {
            int s = held[(int) (heldHead & heldMask)];
            if (due[s] - now > 0) break;
            heldHead++;
            n++;
            deliver(s);
        }
        return n;
    }

    private void deliver(int s) {
        long ud = userData[s];
        int st = status[s];
        release(s); // before the handler: it may submit again re-entrantly
        handler.onComplete(ud, st);
    }

    @Override
    public int await(int max, long timeoutNanos) {
        int n = poll(max);
        if (n > 0 || timeoutNanos <= 0) return n;
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            long now = System.nanoTime();
            long left = deadline - now;
            if (left <= 0) return 0;
            int inUse = depth - freeTop;
            if (inUse == 0) {
                LockSupport.parkNanos(Math.min(left, IDLE_PARK_NANOS));
                return poll(max);
            }
            long wait = left;
            if (heldHead != heldTail) wait = Math.min(wait, Math.max(0, due[held[(int) (heldHead & heldMask)]] - now));
            int atInner = inUse - (int) (heldTail - heldHead);
            if (atInner > 0) inner.await(Integer.MAX_VALUE, Math.max(1, wait));
            else if (wait > 0) LockSupport.parkNanos(wait);
            n = deliverDue(max, System.nanoTime());
            if (n > 0) return n;
        }
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
            inner.close(); // every inner request completes into the held FIFO
        } finally {
            while (heldHead != heldTail) { // held ones are delivered without waiting out their delay
                int s = held[(int) (heldHead & heldMask)];
                heldHead++;
                deliver(s);
            }
            for (int s = 0; s < depth; s++) { // the inner queue broke its contract: do not hang callers
                if (busy[s]) {
                    status[s] = IoError.CLOSED.code();
                    deliver(s);
                }
            }
            device.onQueueClosed();
        }
    }
}
