package io.dsf.blockstore.spi;

import java.lang.foreign.MemorySegment;

/**
 * A block device: a raw NVMe namespace (SPDK), a block device or file (io_uring, plain file),
 * memory, or a wrapper injecting faults or latency. Modelled on SPDK's bdev: the device itself
 * is thread safe and only hands out per-thread {@link DeviceQueue}s that carry all I/O.
 * Opened by URI through {@link BlockDevices#open(String)}.
 */
public interface BlockDevice extends AutoCloseable {
    /** The URI this device was opened with. */
    String uri();

    Geometry geometry();

    /**
     * Opens a queue owned by the calling thread. Completions go to {@code handler} on that thread.
     *
     * @throws DeviceException when the device is closed or cannot create another queue
     */
    DeviceQueue openQueue(int depth, CompletionHandler handler);

    /**
     * Allocates {@code size} bytes of zeroed memory usable as I/O buffers on every queue of this
     * device (aligned to at least {@link Geometry#bufferAlignment()}; SPDK DMA memory for
     * {@code spdk:}). It lives until {@link #close()}. Thread safe; control path.
     */
    MemorySegment allocateDma(long size);

    /**
     * Closes the device. Queues still open see {@code CLOSED} on further submissions and their
     * in-flight requests fail with {@code CLOSED}; resources are released once the last queue
     * is closed. Idempotent.
     */
    @Override
    void close();
}
