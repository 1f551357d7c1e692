package io.dsf.blockstore.spi;

import java.lang.foreign.MemorySegment;

/**
 * One submission/completion queue of a {@link BlockDevice} (an io_uring ring, an SPDK qpair).
 * Owned by the thread that opened it; not thread safe. No locks are shared between queues.
 *
 * <p>Submission methods never throw for a bad request: they return {@link #ACCEPTED} or a negative
 * {@link IoError#code()} ({@code QUEUE_FULL}, {@code UNALIGNED}, {@code OUT_OF_RANGE},
 * {@code ZERO_LENGTH}, {@code BAD_BUFFER}, {@code CLOSED}, ...). An accepted request completes
 * exactly once, through the queue's {@link CompletionHandler}, on this thread, from {@link #poll}
 * or {@link #close}. Accepted requests may be batched: they reach the device at the latest on
 * the next {@link #submit()} or {@link #poll}.
 *
 * <p>Durability: a completed write is durable only once a flush submitted after its completion
 * has completed successfully.
 */
public interface DeviceQueue extends AutoCloseable {
    int ACCEPTED = 0;

    /** Reads {@code length} bytes at {@code offset} into {@code buffer} (from offset 0 of the segment). */
    int read(long offset, MemorySegment buffer, int length, long userData);

    /** Writes {@code length} bytes from {@code buffer} (from offset 0 of the segment) at {@code offset}. */
    int write(long offset, MemorySegment buffer, int length, long userData);

    /** Makes every write completed before this call durable once this flush completes. */
    int flush(long userData);

    /** Deallocates a block range (NVMe deallocate, FALLOC_FL_PUNCH_HOLE). Contents afterwards per {@link Geometry#trimReadsZero()}. */
    int trim(long offset, long length, long userData);

    /** Pushes accepted requests to the device; returns how many were pushed (never blocks). */
    int submit();

    /**
     * Pushes pending submissions, then delivers up to {@code max} completions to the handler.
     * Never blocks. Returns the number delivered.
     */
    int poll(int max);

    /**
     * Blocks until at least one completion is available or {@code timeoutNanos} passes, then
     * behaves as {@link #poll(int)}. For idle strategies that sleep instead of spinning.
     */
    int await(int max, long timeoutNanos);

    /** Requests accepted and not yet completed. */
    int inFlight();

    /** Maximum requests in flight. */
    int depth();

    /** The device this queue belongs to. */
    BlockDevice device();

    /**
     * Hints that I/O buffers will come from {@code region} (allocated by
     * {@link BlockDevice#allocateDma}); backends that can pre-register memory (io_uring fixed
     * buffers) do so. Control path; call before submitting I/O from that region.
     */
    default void registerBuffers(MemorySegment region) {}

    /**
     * Closes the queue: requests still in flight complete with {@link IoError#CLOSED} (or with
     * their real status if the device finished them first) before this returns; later submissions
     * return {@code CLOSED}. Idempotent.
     */
    @Override
    void close();
}
