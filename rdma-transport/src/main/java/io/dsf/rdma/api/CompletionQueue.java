package io.dsf.rdma.api;

/**
 * Where the requests of the endpoints bound to it complete (verbs: an {@code ibv_cq}). Owned by
 * the one thread that polls it, which also owns those endpoints; not thread safe. Polling is what
 * moves the connection forward (the TCP emulation reads, applies and acknowledges frames inside
 * {@code poll}), so the owner polls regularly, as a shard does in its duty cycle.
 */
public interface CompletionQueue extends AutoCloseable {
    /** Fills {@code out} (cleared first) with up to {@code out.capacity()} completions. Never blocks; returns the count. */
    int poll(Completions out);

    /**
     * As {@link #poll}, but when nothing is ready waits up to {@code timeoutNanos} for something
     * to complete (for idle strategies that block rather than spin). Returns the count, 0 on timeout.
     */
    int await(Completions out, long timeoutNanos);

    /**
     * Any thread: makes an {@link #await} in progress return at once, or the owner's next one when
     * none is in progress (calls before that one count as one). Lets the owner wait here for its
     * peers while other threads can still hand it work (a shard's ring, its store).
     */
    void wakeup();

    /** Most completions it holds at once (requests outstanding on its endpoints should not exceed it). */
    int capacity();

    /** Closes the queue; endpoints still bound to it are closed first (their requests are flushed and dropped). Idempotent. */
    @Override
    void close();
}
