package io.dsf.blockstore.backend.delay;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;

/**
 * {@code delay:USEC:URI}: wraps the device opened from {@code URI} and holds every completion
 * until at least {@code USEC} microseconds after its submission (SPDK's {@code delay} bdev with
 * one latency for all operations). Holding is non-blocking: {@code poll} delivers only the
 * completions that are due, {@code await} sleeps until the earliest due time or the next inner
 * completion. Geometry, DMA memory, queue depth and completion order are the inner device's.
 * {@code USEC} is everything up to the first {@code ':'}; the rest, query options included, is the
 * inner URI, e.g. {@code delay:100:file:/tmp/x?size=1g}. Thread safe; each queue is owned by the
 * thread that opened it.
 */
public final class DelayBlockDevice extends AbstractBlockDevice {
    /** Upper bound of {@code USEC}: one hour, far beyond any sensible latency. */
    public static final long MAX_USEC = 3_600_000_000L;
    private final BlockDevice inner;
    private final long delayNanos;

    private DelayBlockDevice(String uri, BlockDevice inner, long delayNanos) {
        super(uri, inner.geometry());
        this.inner = inner;
        this.delayNanos = delayNanos;
    }

    /**
     * Opens {@code delay:USEC:URI}.
     *
     * @throws IllegalArgumentException for a missing or malformed {@code USEC} or inner URI
     * @throws DeviceException          when the inner device cannot be opened
     */
    public static DelayBlockDevice open(DeviceUri u) {
        String spec = u.spec();
        int c = spec.indexOf(':');
        if (c < 0) throw new IllegalArgumentException("delay: expects delay:USEC:URI, e.g. delay:100:mem:64m, got '" + u.uri() + "'");
        long usec = parseUsec(spec.substring(0, c), u.uri());
        String innerUri = spec.substring(c + 1);
        if (innerUri.isBlank()) throw new IllegalArgumentException("delay: missing inner device URI in '" + u.uri() + "' (delay:USEC:URI)");
        BlockDevice inner = BlockDevices.open(innerUri);
        return new DelayBlockDevice(u.uri(), inner, usec * 1000L);
    }

    private static long parseUsec(String text, String uri) {
        long v;
        try {
            v = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("delay: USEC must be a whole number of microseconds, got '" + text + "' in '" + uri + "'");
        }
        if (v < 0 || v > MAX_USEC)
            throw new IllegalArgumentException("delay: USEC must be between 0 and " + MAX_USEC + ", got " + v + " in '" + uri + "'");
        return v;
    }

    /** The wrapped device. */
    public BlockDevice inner() { return inner; }

    /** The added latency in nanoseconds. */
    public long delayNanos() { return delayNanos; }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new DelayQueue(this, inner, depth, handler, delayNanos);
    }

    /** Called by each {@link DelayQueue} once, from its close. */
    void onQueueClosed() { queueClosed(); }

    @Override
    public MemorySegment allocateDma(long size) {
        if (isClosed()) throw new DeviceException(IoError.CLOSED, uri, "cannot allocate DMA memory");
        return inner.allocateDma(size);
    }

    @Override
    protected void release() { inner.close(); }
}
