package io.dsf.blockstore.io;

import io.dsf.blockstore.spi.CompletionHandler;

/**
 * A fixed-capacity FIFO of (userData, status) completions waiting to be delivered by
 * {@code poll}. Used by backends that finish I/O at submission time. Owned by one queue's
 * thread; not thread safe. Allocation free after construction.
 */
public final class CompletionRing {
    private final long[] userData;
    private final int[] status;
    private final int mask;
    private long head; // next to deliver
    private long tail; // next free

    public CompletionRing(int minCapacity) {
        int cap = Integer.highestOneBit(Math.max(1, minCapacity - 1)) << 1;
        if (cap < minCapacity) cap = minCapacity;
        userData = new long[cap];
        status = new int[cap];
        mask = cap - 1;
    }

    public int size() { return (int) (tail - head); }

    public int capacity() { return mask + 1; }

    /** Adds a completion; returns false when full. */
    public boolean offer(long data, int st) {
        if (tail - head > mask) return false;
        int i = (int) (tail & mask);
        userData[i] = data;
        status[i] = st;
        tail++;
        return true;
    }

    /** Delivers up to {@code max} completions in FIFO order; returns the count. */
    public int deliver(CompletionHandler handler, int max) {
        int n = 0;
        while (n < max && head != tail) {
            int i = (int) (head & mask);
            head++; // advance first: the handler may submit and complete re-entrantly
            n++;
            handler.onComplete(userData[i], status[i]);
        }
        return n;
    }
}
