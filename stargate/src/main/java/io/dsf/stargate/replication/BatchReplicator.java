package io.dsf.stargate.replication;

import java.lang.foreign.MemorySegment;

/**
 * What a vDisk shard needs to replicate its OpLog: it hands each sealed batch over when it writes
 * it locally ({@link #replicate}), polls in its duty cycle ({@link #poll}) and acknowledges the
 * batch's writes only when the local sync is done and {@link #status()} is {@link #ACKED}; on
 * {@link #FAILED} it fails them with an I/O error. One batch at a time (the OpLog keeps one batch in
 * flight per shard). Owned by the shard thread; not thread safe.
 */
public interface BatchReplicator extends AutoCloseable {
    /** No batch, or the last one's outcome was consumed by a newer {@link #replicate}. */
    int IDLE = 0;
    /** The current batch is not yet acknowledged by RF-1 peers. */
    int PENDING = 1;
    /** Every chosen peer holds the current batch durably. */
    int ACKED = 2;
    /** Not enough peers could take the current batch: never acknowledge it. */
    int FAILED = 3;

    /**
     * Starts replicating the sealed batch in {@code batch[0, bytes)}, which the shard writes at
     * {@code offset} of its OpLog segment number {@code segment} ({@code segmentBytes} long). The
     * bytes are copied before this returns. A batch still pending is abandoned (its outcome no
     * longer matters: the shard failed it locally).
     */
    void replicate(MemorySegment batch, int bytes, long segment, long segmentBytes, long offset);

    /** Moves the replication forward (completions, acks, timeouts, failover); returns the work done. */
    int poll();

    /**
     * As {@link #poll}, but when nothing is ready waits up to {@code timeoutNanos} for a peer's
     * answer or a {@link #wakeup}: a shard with nothing else to do waits here for its ACKs instead
     * of in timed sleeps, so an answer wakes it as soon as it arrives.
     */
    default int await(long timeoutNanos) { return poll(); }

    /**
     * Whether {@link #poll} has something to move now (a batch awaiting answers, sends or trims
     * outstanding). When false the shard polls only now and then: a transport's poll may cost a
     * system call, and a shard's idle loop would otherwise make one per turn.
     */
    default boolean needsPolling() { return true; }

    /** Any thread: ends an {@link #await} in progress, or makes the next one return at once. */
    default void wakeup() {}

    /**
     * The shard freed OpLog segment {@code segment} (its data is in the Extent Store): the replicas
     * may delete their copy. Sent asynchronously from {@link #poll}; returns false when it could not
     * be queued (the copies then stay until re-replication removes over-replicated data).
     */
    default boolean trim(long segment) { return false; }

    /**
     * What the owning thread must run before the replicator blocks it (a connect, waiting for a send
     * buffer): the shard finishes a store commit its channel leads, so the node's other channels
     * (its replica service among them) are not held up meanwhile.
     */
    default void beforeBlocking(Runnable r) {}

    /**
     * A re-replication pass begins (on the shard thread): the peers chosen now, and every peer sent a
     * batch from now on, are the ones the pass's data will live on.
     */
    default void passStarted() {}

    /**
     * The shard holds no data at all (a new vDisk, or one never written): no peer holds history of
     * it that is needed, until batches are sent. Called once, on the shard thread, before any batch.
     */
    default void noHistory() {}

    /**
     * Where the shard's needed history was left, as recorded before a restart (peer ids, comma
     * separated; "*": every peer). Called once, on the shard thread, before any batch.
     */
    default void restoreUsed(String peers) {}

    /**
     * Told the peers (as for {@link #restoreUsed}) each time the set that may hold needed history
     * changes, so the shard records it in its store; on the shard thread.
     */
    default void onUsedChanged(java.util.function.Consumer<String> record) {}

    /**
     * The pass begun by the last {@link #passStarted} completed: every block's newest data is in a
     * replicated entry sent since then, so peers used only before it hold nothing still needed.
     */
    default void passCompleted() {}

    /**
     * The shard's live data now, roughly (bytes of vBlocks holding data): with the history replicated
     * since the last base it decides when a checkpoint pass bounds what replicas keep.
     */
    default void liveBytes(long bytes) {}

    /** {@link #IDLE}, {@link #PENDING}, {@link #ACKED} or {@link #FAILED}, for the current batch. */
    int status();

    /** Closes connections and frees memory; on the shard thread, when it stops. Idempotent. */
    @Override
    void close();

    /** Makes one replicator per vDisk shard (called on the control thread that builds the shard). Thread safe. */
    interface Factory {
        BatchReplicator create(long vdiskId, int shard);
    }
}
