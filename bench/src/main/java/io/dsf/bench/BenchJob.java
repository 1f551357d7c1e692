package io.dsf.bench;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * One job: a thread that owns a {@link DeviceQueue} and a {@link BufferPool} (a write and a read
 * buffer per slot, so written data stays incompressible), keeps {@code iodepth} I/Os in flight
 * over its slice of the region, and records each I/O's submit-to-completion time.
 * Closed loop: a slot is resubmitted only after its previous I/O completed, so latency is per I/O
 * at a fixed depth and queueing delay that a fixed-rate (open-loop) load would see is not measured.
 * Everything is preallocated per slot; the loop does not allocate per I/O. This object is the
 * queue's {@link CompletionHandler}.
 *
 * <p>Owned by its job thread; the control thread only reads {@link #live()}, {@link #errors()}
 * and, after {@code join}, the final state.
 */
final class BenchJob implements CompletionHandler, Runnable {
    /** Highest latency recorded (larger values are clamped): 100 s. */
    static final long MAX_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(100);
    /** How long the end of the run waits for I/Os still in flight. */
    static final long DRAIN_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** {@code backoff}: empty polls spent spinning, then yielding, before blocking in the queue. */
    static final int BACKOFF_SPINS = 200;
    static final int BACKOFF_YIELDS = 20;

    private final int index;
    private final BlockDevice device;
    private final RwMode rw;
    private final int readPercent;
    private final int bs;
    private final int depth;
    private final IdleMode idleMode;
    private final long sliceFirstUnit;
    private final long sliceUnits;
    private final boolean verify;
    private final boolean retainsWrites;
    /** {@link BenchConfig#flushEachWrite}: a write's slot goes on with a flush tagged {@link #FLUSH_TAG}. */
    private final boolean flushEachWrite;
    private static final long FLUSH_TAG = 1L << 32;
    private DeviceQueue queue;
    private boolean flushQueued;
    /** Region-wide expected generation per unit (verify only); this job writes only its slice. */
    private final int[] generations;
    private final ErrorReporter reporter;
    private final SplittableRandom rng;
    private final CountDownLatch ready;
    private final CountDownLatch go;

    // per slot, preallocated
    private final long[] slotUnit;
    private final long[] slotStart;
    private final int[] slotGen;
    private final boolean[] slotWrite;
    /** Per slot: the buffer writes are sent from (its pattern is never overwritten by a read) ... */
    private final MemorySegment[] slotWriteBuf;
    private final ByteBuffer[] slotWriteView;
    /** ... and the one reads land in. */
    private final MemorySegment[] slotReadBuf;
    private final ByteBuffer[] slotReadView;
    private final int[] readySlots;
    private int readyCount;
    private final long[] inFlightBits;

    private final CRC32C crc = new CRC32C();
    private MemorySegment zeros;
    private long seqCursor;

    // timing, set by the control thread before go.countDown()
    private long measureStart;
    private long measureEnd;

    // results: written by the job thread only
    private final Histogram measured = new Histogram(1, MAX_LATENCY_NANOS, 3);
    private final SingleWriterRecorder live = new SingleWriterRecorder(1, MAX_LATENCY_NANOS, 3);
    private long measuredReads;
    private long measuredWrites;
    private long errorCount;
    private final AtomicLong errorsPublished = new AtomicLong();
    private volatile Throwable failure;
    private volatile String failureMessage;

    BenchJob(int index, BlockDevice device, BenchConfig cfg, long sliceFirstUnit, long sliceUnits, int[] generations,
             boolean retainsWrites, ErrorReporter reporter, CountDownLatch ready, CountDownLatch go) {
        this.index = index;
        this.device = device;
        this.rw = cfg.rw();
        this.readPercent = cfg.readPercent();
        this.bs = cfg.blockSize();
        this.depth = cfg.iodepth();
        this.idleMode = cfg.idle();
        this.sliceFirstUnit = sliceFirstUnit;
        this.sliceUnits = sliceUnits;
        this.verify = cfg.verify();
        this.retainsWrites = retainsWrites;
        this.flushEachWrite = cfg.flushEachWrite();
        this.generations = generations;
        this.reporter = reporter;
        this.rng = new SplittableRandom(cfg.seed() * 0x9E3779B97F4A7C15L + index);
        this.ready = ready;
        this.go = go;
        slotUnit = new long[depth];
        slotStart = new long[depth];
        slotGen = new int[depth];
        slotWrite = new boolean[depth];
        slotWriteBuf = new MemorySegment[depth];
        slotWriteView = new ByteBuffer[depth];
        slotReadBuf = new MemorySegment[depth];
        slotReadView = new ByteBuffer[depth];
        readySlots = new int[depth];
        inFlightBits = verify ? new long[(int) ((sliceUnits + 63) >>> 6)] : null;
        // sequential jobs start at different points of their slices only by slice; fio does the same per job
        seqCursor = 0;
    }

    void setWindow(long measureStart, long measureEnd) {
        this.measureStart = measureStart;
        this.measureEnd = measureEnd;
    }

    @Override
    public void run() {
        DeviceQueue queue = null;
        try {
            try {
                queue = device.openQueue(depth, this);
            } catch (RuntimeException | Error e) {
                fail("job " + index + ": cannot open a queue of depth " + depth + ": " + e.getMessage(), e);
                return;
            }
            try {
                setUp(queue);
            } catch (RuntimeException | Error e) {
                fail("job " + index + ": cannot set up " + depth + " I/O buffers of " + bs + " bytes: " + e.getMessage(), e);
                return;
            }
        } finally {
            if (failureMessage != null && queue != null) queue.close();
            ready.countDown(); // always: the control thread waits for every job to be ready or failed
        }
        try {
            go.await();
            loop(queue);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("job " + index + ": interrupted", e);
        } catch (RuntimeException | Error e) {
            fail("job " + index + ": " + e, e);
        } finally {
            queue.close();
        }
    }

    private void setUp(DeviceQueue queue) {
        BufferPool pool = BufferPool.allocate(device, bs, 2 * depth).registerWith(queue);
        for (int s = 0; s < depth; s++) {
            slotWriteBuf[s] = pool.buffer(pool.acquire());
            slotWriteView[s] = slotWriteBuf[s].asByteBuffer();
            slotReadBuf[s] = pool.buffer(pool.acquire());
            slotReadView[s] = slotReadBuf[s].asByteBuffer();
            if (!verify) { // incompressible, non-zero data for plain writes
                for (int i = 0; i + 8 <= bs; i += 8) slotWriteBuf[s].set(ValueLayout.JAVA_LONG_UNALIGNED, i, rng.nextLong());
            }
        }
        zeros = MemorySegment.ofArray(new byte[bs]);
    }

    private void loop(DeviceQueue queue) {
        this.queue = queue;
        final long maxWait = TimeUnit.MILLISECONDS.toNanos(10);
        int idleRounds = 0;
        for (int s = 0; s < depth; s++) readySlots[readyCount++] = s;
        while (true) {
            long now = System.nanoTime();
            if (now - measureEnd >= 0) break;
            if (readyCount > 0) {
                if (!issueReady(queue)) return;
                queue.submit();
            }
            int n;
            if (idleMode == IdleMode.BLOCK || idleMode == IdleMode.BACKOFF && idleRounds >= BACKOFF_SPINS + BACKOFF_YIELDS) {
                n = queue.await(depth, Math.min(maxWait, Math.max(1, measureEnd - now)));
            } else {
                n = queue.poll(depth);
                if (n == 0 && idleMode == IdleMode.BACKOFF && idleRounds >= BACKOFF_SPINS) Thread.yield();
                else if (n == 0) Thread.onSpinWait();
            }
            if (flushQueued) { // flushes queued by completions (flushEachWrite)
                flushQueued = false;
                queue.submit();
            }
            idleRounds = n == 0 ? idleRounds + 1 : 0;
        }
        drain(queue);
    }

    /** Submits every ready slot; false when the queue refuses for good (closed, broken). */
    private boolean issueReady(DeviceQueue queue) {
        while (readyCount > 0) {
            int s = readySlots[readyCount - 1];
            long unit = pickUnit();
            if (unit < 0) return true; // every candidate in flight: wait for a completion
            boolean write = readPercent == 0 || (readPercent < 100 && rng.nextInt(100) >= readPercent);
            long offset = unit * bs;
            MemorySegment buf = write ? slotWriteBuf[s] : slotReadBuf[s];
            int gen = 0;
            if (write && verify) {
                int g = (int) (unit - sliceFirstUnit);
                gen = VerifyBlockDescriptor.nextGeneration(generations[(int) unit]);
                VerifyBlockDescriptor.stamp(buf, slotWriteView[s], 0, bs, offset, gen, crc);
                markInFlight(g);
            } else if (verify) {
                markInFlight((int) (unit - sliceFirstUnit));
            }
            slotUnit[s] = unit;
            slotGen[s] = gen;
            slotWrite[s] = write;
            slotStart[s] = System.nanoTime();
            int st = write ? queue.write(offset, buf, bs, s) : queue.read(offset, buf, bs, s);
            if (st != DeviceQueue.ACCEPTED) {
                if (verify) clearInFlight((int) (unit - sliceFirstUnit));
                if (st == IoError.QUEUE_FULL.code()) return true; // the backend holds fewer than asked: retry later
                countError();
                fail("job " + index + ": " + (write ? "write" : "read") + " at byte " + offset + " refused: " + IoError.describe(st), null);
                return false;
            }
            readyCount--;
        }
        return true;
    }

    /** The next unit (absolute index) to use, or -1 when every candidate is in flight (verify only). */
    private long pickUnit() {
        long u = rw.random() ? rng.nextLong(sliceUnits) : seqCursor;
        if (!rw.random()) seqCursor = seqCursor + 1 == sliceUnits ? 0 : seqCursor + 1;
        if (verify) {
            for (long tries = 0; isInFlight((int) u); tries++) { // skip a block already in flight
                if (tries >= sliceUnits) return -1;
                u = u + 1 == sliceUnits ? 0 : u + 1;
            }
        }
        return sliceFirstUnit + u;
    }

    @Override
    public void onComplete(long userData, int status) {
        int s = (int) userData;
        if (flushEachWrite && status == 0 && slotWrite[s] && (userData & FLUSH_TAG) == 0 && System.nanoTime() - measureEnd < 0) {
            int st = queue.flush(s | FLUSH_TAG); // the write is done when it is durable
            if (st == DeviceQueue.ACCEPTED) {
                flushQueued = true;
                return;
            }
            status = st;
        }
        long now = System.nanoTime();
        long lat = now - slotStart[s];
        if (lat < 1) lat = 1;
        else if (lat > MAX_LATENCY_NANOS) lat = MAX_LATENCY_NANOS;
        long unit = slotUnit[s];
        boolean write = slotWrite[s];
        live.recordValue(lat);
        if (now - measureStart >= 0 && now - measureEnd < 0) {
            measured.recordValue(lat);
            if (write) measuredWrites++;
            else measuredReads++;
        }
        if (status != 0) {
            countError();
            if (reporter.wantsMore())
                reporter.report("I/O error: " + (write ? "write" : "read") + " at byte " + unit * bs + " (" + bs + " bytes): " + IoError.describe(status));
            if (write && verify) generations[(int) unit] = -1; // contents unknown until rewritten
        } else if (verify) {
            if (write) {
                if (retainsWrites) generations[(int) unit] = slotGen[s];
            } else {
                int expected = generations[(int) unit];
                int r = VerifyBlockDescriptor.check(slotReadBuf[s], slotReadView[s], 0, bs, unit * bs, expected, crc, zeros);
                if (r != VerifyBlockDescriptor.OK) {
                    countError();
                    if (reporter.wantsMore())
                        reporter.report(VerifyBlockDescriptor.describe(r, slotReadBuf[s], 0, bs, unit * bs, expected));
                }
            }
        }
        if (verify) clearInFlight((int) (unit - sliceFirstUnit));
        readySlots[readyCount++] = s;
    }

    private void drain(DeviceQueue queue) {
        long deadline = System.nanoTime() + DRAIN_TIMEOUT_NANOS;
        while (queue.inFlight() > 0) {
            if (System.nanoTime() - deadline >= 0) {
                int stuck = queue.inFlight();
                errorCount += stuck;
                errorsPublished.lazySet(errorCount);
                fail("job " + index + ": " + stuck + " I/Os still in flight " + DRAIN_TIMEOUT_NANOS / 1_000_000_000L
                        + " s after the end of the run", null);
                return;
            }
            if (idleMode == IdleMode.BLOCK) queue.await(depth, TimeUnit.MILLISECONDS.toNanos(10));
            else if (queue.poll(depth) == 0) Thread.onSpinWait();
        }
    }

    private void countError() {
        errorCount++;
        errorsPublished.lazySet(errorCount);
    }

    private void fail(String message, Throwable cause) {
        if (failureMessage == null) {
            failureMessage = message;
            failure = cause;
        }
    }

    private boolean isInFlight(int i) { return (inFlightBits[i >>> 6] & (1L << i)) != 0; }

    private void markInFlight(int i) { inFlightBits[i >>> 6] |= 1L << i; }

    private void clearInFlight(int i) { inFlightBits[i >>> 6] &= ~(1L << i); }

    // --- read by the control thread ---

    /** Interval recorder of every completion (ramp included), for progress lines. */
    SingleWriterRecorder live() { return live; }

    /** Errors so far (published with release semantics). */
    long errors() { return errorsPublished.get(); }

    /** After join: latencies of I/Os completed inside the measured window. */
    Histogram measured() { return measured; }

    long measuredReads() { return measuredReads; }

    long measuredWrites() { return measuredWrites; }

    /** After join: why the job stopped early, or null. */
    String failureMessage() { return failureMessage; }

    Throwable failure() { return failure; }
}
