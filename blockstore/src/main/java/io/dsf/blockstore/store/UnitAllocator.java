package io.dsf.blockstore.store;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The global pool of free allocation units. Channels take units in batches into their own caches
 * and give them back when they close, so this lock is taken once per batch, never per write.
 * Units freed by a delete or shrink come back here only once the journal made the free durable.
 * Thread safe.
 */
final class UnitAllocator {
    private final ReentrantLock lock = new ReentrantLock();
    private final int[] stack;      // guarded by lock
    private int top;                // guarded by lock
    private final int maxBatch;
    private final java.util.concurrent.atomic.AtomicInteger cached = new java.util.concurrent.atomic.AtomicInteger(); // units in channel caches
    private final java.util.concurrent.atomic.AtomicInteger pending = new java.util.concurrent.atomic.AtomicInteger(); // freed, not yet durable

    UnitAllocator(int unitCount, int maxBatch) {
        this.stack = new int[unitCount];
        this.maxBatch = maxBatch;
    }

    /** Adds free units at open (lowest unit handed out first). */
    void initFree(int[] units, int n) {
        lock.lock();
        try {
            for (int i = n - 1; i >= 0; i--) stack[top++] = units[i];
        } finally {
            lock.unlock();
        }
    }

    /** Takes up to a batch of units into {@code cache}; returns how many (0: out of space). */
    int take(int[] cache) {
        lock.lock();
        try {
            int n = Math.min(Math.min(cache.length, maxBatch), Math.max(1, top / 64));
            n = Math.min(n, top);
            for (int i = 0; i < n; i++) cache[i] = stack[--top];
            cached.addAndGet(n);
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Returns {@code n} cached units from a channel's cache. */
    void giveBack(int[] cache, int n) {
        lock.lock();
        try {
            for (int i = 0; i < n; i++) stack[top++] = cache[i];
            cached.addAndGet(-n);
        } finally {
            lock.unlock();
        }
    }

    /** Units freed by an operation whose record is not yet durable (control path). */
    void addPending(int n) { pending.addAndGet(n); }

    /** Units whose free became durable (journal thread). */
    void release(int[] units, int n) {
        lock.lock();
        try {
            for (int i = 0; i < n; i++) stack[top++] = units[i];
            pending.addAndGet(-n);
        } finally {
            lock.unlock();
        }
    }

    int free() {
        lock.lock();
        try {
            return top;
        } finally {
            lock.unlock();
        }
    }

    int cached() { return cached.get(); }

    /** A channel installed one of its cached units in an object (once per unit allocation). */
    void consumed() { cached.decrementAndGet(); }

    int pending() { return pending.get(); }
}
