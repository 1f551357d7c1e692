package io.dsf.blockstore.io;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

/**
 * Base of queues whose backend finishes an I/O at submission time (mem, null, file): the request
 * is validated, executed, and its completion parked in a {@link CompletionRing} until the owner
 * polls. Owned by the thread that opened it; not thread safe.
 */
public abstract class ImmediateQueue implements DeviceQueue {
    protected final AbstractBlockDevice device;
    private final CompletionHandler handler;
    private final CompletionRing completions;
    private final int depth;
    private boolean closed;

    protected ImmediateQueue(AbstractBlockDevice device, int depth, CompletionHandler handler) {
        this.device = device;
        this.depth = depth;
        this.handler = handler;
        this.completions = new CompletionRing(depth);
    }

    /** Executes a validated read; returns 0 or a negative {@link IoError} code. */
    protected abstract int doRead(long offset, MemorySegment buffer, int length);

    /** Executes a validated write; returns 0 or a negative {@link IoError} code. */
    protected abstract int doWrite(long offset, MemorySegment buffer, int length);

    protected abstract int doFlush();

    protected abstract int doTrim(long offset, long length);

    private int admit() {
        if (closed || device.isClosed()) return IoError.CLOSED.code();
        if (completions.size() >= depth) return IoError.QUEUE_FULL.code();
        return ACCEPTED;
    }

    @Override
    public final int read(long offset, MemorySegment buffer, int length, long userData) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkRw(device.geometry, offset, buffer, length);
        if (st != ACCEPTED) return st;
        completions.offer(userData, doRead(offset, buffer, length));
        return ACCEPTED;
    }

    @Override
    public final int write(long offset, MemorySegment buffer, int length, long userData) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkRw(device.geometry, offset, buffer, length);
        if (st != ACCEPTED) return st;
        completions.offer(userData, doWrite(offset, buffer, length));
        return ACCEPTED;
    }

    @Override
    public final int flush(long userData) {
        int st = admit();
        if (st != ACCEPTED) return st;
        completions.offer(userData, doFlush());
        return ACCEPTED;
    }

    @Override
    public final int trim(long offset, long length, long userData) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkTrim(device.geometry, offset, length);
        if (st != ACCEPTED) return st;
        completions.offer(userData, device.geometry.trimSupported() ? doTrim(offset, length) : IoError.UNSUPPORTED.code());
        return ACCEPTED;
    }

    @Override public final int submit() { return 0; }

    @Override
    public final int poll(int max) {
        return completions.deliver(handler, max);
    }

    @Override
    public final int await(int max, long timeoutNanos) {
        if (completions.size() == 0 && timeoutNanos > 0) LockSupport.parkNanos(Math.min(timeoutNanos, 50_000));
        return poll(max);
    }

    @Override public final int inFlight() { return completions.size(); }

    @Override public final int depth() { return depth; }

    @Override public final BlockDevice device() { return device; }

    @Override
    public final void close() {
        if (closed) return;
        closed = true;
        // requests already executed keep their real status
        completions.deliver(handler, Integer.MAX_VALUE);
        onClose();
        device.queueClosed();
    }

    /** Releases per-queue resources; called once from {@link #close()}. */
    protected void onClose() {}
}
