package io.dsf.blockstore.io;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceQueue;

import java.lang.foreign.MemorySegment;

/**
 * A pool of equal-sized I/O buffers carved once out of one DMA region of a device. Buffers are
 * named by an {@code int} id so that a request descriptor can hold one without allocating.
 * Owned by one thread (a shard, a queue worker); not thread safe. No allocation after construction.
 */
public final class BufferPool {
    private final MemorySegment region;
    private final MemorySegment[] buffers;
    private final int[] free;
    private final boolean[] inUse;
    private final int bufferSize;
    private int top;

    private BufferPool(MemorySegment region, int bufferSize, int count) {
        this.region = region;
        this.bufferSize = bufferSize;
        this.buffers = new MemorySegment[count];
        this.free = new int[count];
        this.inUse = new boolean[count];
        for (int i = 0; i < count; i++) {
            buffers[i] = region.asSlice((long) i * bufferSize, bufferSize);
            free[i] = count - 1 - i; // hand out low ids first
        }
        top = count;
    }

    /**
     * Allocates {@code count} buffers of {@code bufferSize} bytes from {@code device}'s DMA memory.
     * {@code bufferSize} must be a multiple of the device's buffer alignment.
     */
    public static BufferPool allocate(BlockDevice device, int bufferSize, int count) {
        int align = device.geometry().bufferAlignment();
        if (bufferSize <= 0 || bufferSize % align != 0)
            throw new IllegalArgumentException("buffer size " + bufferSize + " must be a positive multiple of " + align);
        if (count <= 0) throw new IllegalArgumentException("buffer count must be positive: " + count);
        return new BufferPool(device.allocateDma((long) bufferSize * count), bufferSize, count);
    }

    /** Lets the queue pre-register this pool's memory (io_uring fixed buffers). */
    public BufferPool registerWith(DeviceQueue queue) {
        queue.registerBuffers(region);
        return this;
    }

    /** Takes a free buffer; returns its id, or -1 when none is free (back-pressure, never blocks). */
    public int acquire() {
        if (top == 0) return -1;
        int id = free[--top];
        inUse[id] = true;
        return id;
    }

    public MemorySegment buffer(int id) { return buffers[id]; }

    /** Returns a buffer; releasing one that is not taken is a programming error. */
    public void release(int id) {
        if (!inUse[id]) throw new IllegalStateException("buffer " + id + " released twice");
        inUse[id] = false;
        free[top++] = id;
    }

    public int available() { return top; }

    public int capacity() { return buffers.length; }

    public int bufferSize() { return bufferSize; }

    public MemorySegment region() { return region; }
}
