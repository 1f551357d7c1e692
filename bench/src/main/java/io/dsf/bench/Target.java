package io.dsf.bench;

import io.dsf.blockstore.spi.BlockDevice;

/**
 * What a run drives: anything that can be presented as a {@link BlockDevice} whose queues the
 * job threads open (a raw device now; a vDisk, a vhost-user client driver or an iSCSI initiator
 * later, each one class registered in {@link Targets}). Opened and closed on the control thread;
 * {@link #device()} is thread safe as {@link BlockDevice} is.
 */
public interface Target extends AutoCloseable {
    /** The spec it was opened from, e.g. {@code device:uring:/data/f}. */
    String spec();

    /** The device the jobs open their queues on. */
    BlockDevice device();

    /**
     * Where the serving side runs relative to the client threads, for the {@code placement}
     * field: {@code "client=server thread"} when the job thread itself executes the I/O stack.
     */
    String serverPlacement();

    /** False when writes are discarded ({@code null:}): verify then expects zeros on every read. */
    default boolean retainsWrites() { return true; }

    /**
     * Whether a region that was never written reads slower than written data (a sparse file, a
     * thin vDisk, a trimmed SSD): then read workloads first fill it, as fio lays out its files.
     */
    default boolean prefillUseful() { return true; }

    /**
     * Called after a prefill, before the measured run: lets the target finish the background work
     * the prefill caused (a vDisk drains its OpLog), so the run measures the steady read path.
     */
    default void settle() { }

    @Override
    void close();
}
