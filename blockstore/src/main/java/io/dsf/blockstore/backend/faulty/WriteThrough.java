package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;

/**
 * Synchronous write-through of overlay data on one inner queue: several writes in flight, then
 * drain, then an inner flush. Inner tags are negative so that a {@link FaultyQueue} can share its
 * inner queue between its callers' requests and this. Owned by the inner queue's thread; not
 * thread safe. Allocation free.
 */
final class WriteThrough implements CompletionHandler {
    static final long WRITE_TAG = -1;
    static final long FLUSH_TAG = -2;
    /** Gives up on an inner device that stops completing, so that nothing hangs. */
    private static final long STALL_NANOS = 60_000_000_000L;
    private final int maxInFlight;
    private DeviceQueue queue;
    private int inFlight;
    private int firstError;
    private boolean flushDone;
    private int flushStatus;

    WriteThrough(int maxInFlight) {
        this.maxInFlight = maxInFlight;
    }

    void bind(DeviceQueue q) { this.queue = q; }

    /** Inner completion of one of our tags (on the owner thread). */
    @Override
    public void onComplete(long tag, int status) {
        if (tag == FLUSH_TAG) {
            flushDone = true;
            flushStatus = status;
        } else {
            inFlight--;
            if (status < 0 && firstError == 0) firstError = status;
        }
    }

    /** Submits one write, first waiting for room; returns 0 or the first error seen so far. */
    int write(long offset, MemorySegment buf, int length) {
        if (firstError != 0) return firstError;
        long deadline = System.nanoTime() + STALL_NANOS;
        while (true) {
            if (inFlight < maxInFlight) {
                int st = queue.write(offset, buf, length, WRITE_TAG);
                if (st == DeviceQueue.ACCEPTED) {
                    inFlight++;
                    return 0;
                }
                if (st != IoError.QUEUE_FULL.code()) return st;
            }
            if (!waitSome(deadline)) return IoError.DEVICE_LOST.code();
            if (firstError != 0) return firstError;
        }
    }

    /** Waits for every write in flight; returns 0 or the first error, and resets the error. */
    int drain() {
        long deadline = System.nanoTime() + STALL_NANOS;
        while (inFlight > 0) {
            if (!waitSome(deadline)) return IoError.DEVICE_LOST.code();
        }
        int e = firstError;
        firstError = 0;
        return e;
    }

    /** Flushes the inner device and waits for it; returns its status. */
    int flushInner() {
        long deadline = System.nanoTime() + STALL_NANOS;
        flushDone = false;
        int st;
        while ((st = queue.flush(FLUSH_TAG)) == IoError.QUEUE_FULL.code()) {
            if (!waitSome(deadline)) return IoError.DEVICE_LOST.code();
        }
        if (st != DeviceQueue.ACCEPTED) return st;
        while (!flushDone) {
            if (!waitSome(deadline)) return IoError.DEVICE_LOST.code();
        }
        return flushStatus;
    }

    private boolean waitSome(long deadline) {
        queue.submit();
        queue.await(Integer.MAX_VALUE, 1_000_000);
        return System.nanoTime() - deadline < 0;
    }
}
