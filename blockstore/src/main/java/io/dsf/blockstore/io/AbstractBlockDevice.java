package io.dsf.blockstore.io;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Device lifecycle shared by the backends: open-queue counting, close that releases resources
 * only once the last queue is gone, and default DMA memory from a shared arena. Thread safe.
 */
public abstract class AbstractBlockDevice implements BlockDevice {
    protected final String uri;
    protected final Geometry geometry;
    private final AtomicInteger openQueues = new AtomicInteger();
    private final Object releaseLock = new Object();
    private volatile boolean closed;
    private boolean released; // guarded by releaseLock
    private Arena dmaArena;   // guarded by releaseLock; created on first allocateDma

    protected AbstractBlockDevice(String uri, Geometry geometry) {
        this.uri = uri;
        this.geometry = geometry;
    }

    @Override public final String uri() { return uri; }

    @Override public final Geometry geometry() { return geometry; }

    /** True once {@link #close()} was called; queues check it on every submission. */
    public final boolean isClosed() { return closed; }

    @Override
    public final DeviceQueue openQueue(int depth, CompletionHandler handler) {
        if (depth < 1) throw new IllegalArgumentException("queue depth must be >= 1: " + depth);
        if (handler == null) throw new IllegalArgumentException("completion handler required");
        openQueues.incrementAndGet();
        if (closed) {
            queueClosed();
            throw new DeviceException(IoError.CLOSED, uri, "cannot open a queue");
        }
        try {
            return newQueue(depth, handler);
        } catch (RuntimeException | Error e) {
            queueClosed();
            throw e;
        }
    }

    /** Creates the backend queue; the calling thread becomes its owner. */
    protected abstract DeviceQueue newQueue(int depth, CompletionHandler handler);

    /** Every queue calls this exactly once from its {@code close()}. */
    protected final void queueClosed() {
        if (openQueues.decrementAndGet() == 0 && closed) releaseOnce();
    }

    @Override
    public MemorySegment allocateDma(long size) {
        if (size <= 0) throw new IllegalArgumentException("DMA size must be positive: " + size);
        synchronized (releaseLock) {
            if (released || closed) throw new DeviceException(IoError.CLOSED, uri, "cannot allocate DMA memory");
            if (dmaArena == null) dmaArena = Arena.ofShared();
            return dmaArena.allocate(size, Math.max(4096, geometry.bufferAlignment()));
        }
    }

    @Override
    public final void close() {
        closed = true;
        if (openQueues.get() == 0) releaseOnce();
    }

    private void releaseOnce() {
        synchronized (releaseLock) {
            if (released) return;
            released = true;
            try {
                release();
            } finally {
                if (dmaArena != null) dmaArena.close();
            }
        }
    }

    /** Frees device resources (fd, controller, memory); runs once, after the last queue closed. */
    protected abstract void release();

    @Override
    public String toString() { return uri; }
}
