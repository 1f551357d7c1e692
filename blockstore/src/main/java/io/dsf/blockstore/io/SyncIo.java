package io.dsf.blockstore.io;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;

/**
 * Blocking one-at-a-time I/O over its own queue, for control paths, tools and tests (never for
 * the hot path). Errors are thrown as {@link DeviceException}. Owned by the thread that made it.
 */
public final class SyncIo implements AutoCloseable {
    private static final long UNSET = Long.MIN_VALUE;
    private final DeviceQueue queue;
    private final String uri;
    private long doneTag = UNSET;
    private int doneStatus;
    private long nextTag;
    private final long timeoutNanos;

    public SyncIo(BlockDevice device) {
        this(device, 60_000_000_000L);
    }

    public SyncIo(BlockDevice device, long timeoutNanos) {
        this.uri = device.uri();
        this.timeoutNanos = timeoutNanos;
        this.queue = device.openQueue(4, (tag, status) -> {
            doneTag = tag;
            doneStatus = status;
        });
    }

    public DeviceQueue queue() { return queue; }

    public void read(long offset, MemorySegment buf, int length) { run(0, offset, buf, length); }

    public void write(long offset, MemorySegment buf, int length) { run(1, offset, buf, length); }

    public void flush() { run(2, -1, null, 0); }

    public void trim(long offset, long length) { run(3, offset, null, length); }

    /** Returns the completion status instead of throwing (0 or a negative {@link IoError} code). */
    public int tryRun(int op, long offset, MemorySegment buf, long length) {
        long tag = nextTag++;
        int st = switch (op) {
            case 0 -> queue.read(offset, buf, (int) length, tag);
            case 1 -> queue.write(offset, buf, (int) length, tag);
            case 2 -> queue.flush(tag);
            case 3 -> queue.trim(offset, length, tag);
            default -> throw new IllegalArgumentException("op " + op);
        };
        if (st != DeviceQueue.ACCEPTED) return st;
        long deadline = System.nanoTime() + timeoutNanos;
        doneTag = UNSET;
        while (doneTag != tag) {
            queue.await(4, 1_000_000);
            if (doneTag != tag && System.nanoTime() - deadline > 0)
                throw new DeviceException(IoError.DEVICE_LOST, uri, offset, "no completion within " + timeoutNanos / 1_000_000 + " ms");
        }
        return doneStatus;
    }

    private void run(int op, long offset, MemorySegment buf, long length) {
        int st = tryRun(op, offset, buf, length);
        if (st < 0) throw new DeviceException(IoError.of(st), uri, offset, opName(op) + " of " + length + " bytes");
    }

    private static String opName(int op) {
        return switch (op) { case 0 -> "read"; case 1 -> "write"; case 2 -> "flush"; default -> "trim"; };
    }

    @Override
    public void close() { queue.close(); }
}
