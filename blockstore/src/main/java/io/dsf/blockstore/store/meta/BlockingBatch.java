package io.dsf.blockstore.store.meta;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;

/**
 * Blocking batched I/O over one queue for the control path (loading, checking, checkpoints,
 * journal commits): requests are submitted up to the queue depth, {@link #await()} waits for all of
 * them and throws the first failure as a {@link DeviceException}. Owned by the thread that made it;
 * not thread safe. Allocation free after construction.
 */
public final class BlockingBatch implements AutoCloseable {
    private static final long TIMEOUT_NANOS = 120_000_000_000L;
    private final DeviceQueue queue;
    private final String uri;
    private final long[] offsets;
    private final int[] freeSlots;
    private int freeTop;
    private int firstError;
    private long firstErrorOffset;
    private String firstErrorOp;
    private final String[] ops;

    public BlockingBatch(BlockDevice device, int depth) {
        this.uri = device.uri();
        this.offsets = new long[depth];
        this.ops = new String[depth];
        this.freeSlots = new int[depth];
        for (int i = 0; i < depth; i++) freeSlots[i] = i;
        freeTop = depth;
        this.queue = device.openQueue(depth, this::onComplete);
    }

    private void onComplete(long tag, int status) {
        int slot = (int) tag;
        if (status < 0 && firstError == 0) {
            firstError = status;
            firstErrorOffset = offsets[slot];
            firstErrorOp = ops[slot];
        }
        freeSlots[freeTop++] = slot;
    }

    private int slot(long offset, String op) {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (freeTop == 0) {
            queue.await(offsets.length, 1_000_000);
            if (freeTop == 0 && System.nanoTime() - deadline > 0)
                throw new DeviceException(IoError.DEVICE_LOST, uri, offset, "no completion within " + TIMEOUT_NANOS / 1_000_000_000 + " s");
        }
        int s = freeSlots[--freeTop];
        offsets[s] = offset;
        ops[s] = op;
        return s;
    }

    private void submitted(int st, int slot, long offset, String op, long length) {
        if (st != DeviceQueue.ACCEPTED) {
            freeSlots[freeTop++] = slot;
            throw new DeviceException(IoError.of(st), uri, offset, op + " of " + length + " bytes refused");
        }
    }

    public void read(long offset, MemorySegment buf, int length) {
        int s = slot(offset, "read");
        submitted(queue.read(offset, buf, length, s), s, offset, "read", length);
    }

    public void write(long offset, MemorySegment buf, int length) {
        int s = slot(offset, "write");
        submitted(queue.write(offset, buf, length, s), s, offset, "write", length);
    }

    /** Waits for everything submitted, then flushes and waits for the flush. */
    public void flush() {
        await();
        int s = slot(-1, "flush");
        submitted(queue.flush(s), s, -1, "flush", 0);
        await();
    }

    /** Waits until every submitted request completed; throws the first failure (and forgets it). */
    public void await() {
        queue.submit();
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        while (freeTop < offsets.length) {
            queue.await(offsets.length, 1_000_000);
            if (freeTop < offsets.length && System.nanoTime() - deadline > 0)
                throw new DeviceException(IoError.DEVICE_LOST, uri, "no completion within " + TIMEOUT_NANOS / 1_000_000_000 + " s");
        }
        if (firstError != 0) {
            int e = firstError;
            firstError = 0;
            throw new DeviceException(IoError.of(e), uri, firstErrorOffset, firstErrorOp + " failed");
        }
    }

    public DeviceQueue queue() { return queue; }

    @Override
    public void close() { queue.close(); }
}
