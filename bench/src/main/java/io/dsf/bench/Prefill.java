package io.dsf.bench;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * Lays out the region before a read workload, as fio lays out its files: a sequential fill with
 * large writes, so that reads hit allocated blocks rather than holes. With verify, every unit is
 * stamped with generation 1 and the generation table says so. Runs on the control thread with
 * its own queue; not thread safe.
 */
public final class Prefill implements CompletionHandler {
    /** Blocks sampled by {@link #looksUnwritten}. */
    static final int SAMPLES = 64;
    private static final int DEPTH = 8;
    private static final int MAX_CHUNK = 1 << 20;

    private int inFlight;
    private int firstError;
    private final int[] freeSlots = new int[DEPTH];
    private int freeCount;

    private Prefill() {}

    /**
     * What {@code dsf bench} does before a read workload, for other drivers (the interleaved
     * comparison): when the target keeps what is written, finds it worth laying out, and its region
     * still reads as never written, fills the region and lets the target settle. True when it filled.
     */
    public static boolean forReads(Target target, long regionBytes, int bs, long seed, PrintWriter err, long progressNanos) {
        if (!target.retainsWrites() || !target.prefillUseful()) return false;
        long units = regionBytes / bs;
        if (!looksUnwritten(target.device(), units, bs, seed)) return false;
        fill(target.device(), units, bs, null, err, progressNanos);
        target.settle();
        return true;
    }

    /** True when every sampled unit of the region reads as zeros (a fresh sparse file, a trimmed device). */
    static boolean looksUnwritten(BlockDevice device, long regionUnits, int bs, long seed) {
        try (SyncIo io = new SyncIo(device)) {
            BufferPool pool = BufferPool.allocate(device, bs, 1);
            MemorySegment buf = pool.buffer(pool.acquire());
            MemorySegment zeros = MemorySegment.ofArray(new byte[bs]);
            SplittableRandom r = new SplittableRandom(seed);
            long n = Math.min(SAMPLES, regionUnits);
            for (long i = 0; i < n; i++) {
                long unit = i == 0 ? 0 : i == 1 ? regionUnits - 1 : r.nextLong(regionUnits);
                io.read(unit * bs, buf, bs);
                if (MemorySegment.mismatch(buf, 0, bs, zeros, 0, bs) >= 0) return false;
            }
            return true;
        }
    }

    /**
     * Writes every unit of {@code [0, regionUnits * bs)}; with {@code generations} non-null stamps
     * each unit with generation 1 and records it.
     *
     * @throws BenchException when a write fails
     */
    static void fill(BlockDevice device, long regionUnits, int bs, int[] generations, PrintWriter err, long progressNanos) {
        new Prefill().run(device, regionUnits, bs, generations, err, progressNanos);
    }

    private void run(BlockDevice device, long regionUnits, int bs, int[] generations, PrintWriter err, long progressNanos) {
        int maxTransfer = device.geometry().maxTransfer();
        int unitsPerChunk = (int) Math.max(1, Math.min(regionUnits, Math.min(MAX_CHUNK, maxTransfer) / bs));
        int chunk = unitsPerChunk * bs;
        long total = regionUnits * bs;
        CRC32C crc = new CRC32C();
        long t0 = System.nanoTime();
        long nextReport = t0 + (progressNanos > 0 ? progressNanos : Long.MAX_VALUE / 2);
        err.println("prefill: writing " + Sizes.format(total) + " sequentially before the read workload"
                + (generations != null ? " (verify headers, generation 1)" : "") + "; --no-prefill skips it");
        try (DeviceQueue q = device.openQueue(DEPTH, this)) {
            BufferPool pool = BufferPool.allocate(device, chunk, DEPTH).registerWith(q);
            MemorySegment[] bufs = new MemorySegment[DEPTH];
            ByteBuffer[] views = new ByteBuffer[DEPTH];
            SplittableRandom r = new SplittableRandom(42);
            for (int s = 0; s < DEPTH; s++) {
                bufs[s] = pool.buffer(pool.acquire());
                views[s] = bufs[s].asByteBuffer();
                if (generations == null) for (int i = 0; i + 8 <= chunk; i += 8) bufs[s].set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
                freeSlots[freeCount++] = s;
            }
            long unit = 0;
            while (unit < regionUnits || inFlight > 0) {
                while (unit < regionUnits && freeCount > 0 && firstError == 0) {
                    int s = freeSlots[--freeCount];
                    int n = (int) Math.min(unitsPerChunk, regionUnits - unit);
                    if (generations != null) {
                        for (int k = 0; k < n; k++) {
                            long u = unit + k;
                            VerifyBlockDescriptor.stamp(bufs[s], views[s], k * bs, bs, u * bs, 1, crc);
                            generations[(int) u] = 1;
                        }
                    }
                    int st = q.write(unit * bs, bufs[s], n * bs, s);
                    if (st == IoError.QUEUE_FULL.code()) { freeSlots[freeCount++] = s; break; }
                    if (st != DeviceQueue.ACCEPTED) { freeSlots[freeCount++] = s; firstError = st; break; }
                    inFlight++;
                    unit += n;
                }
                if (firstError != 0 && inFlight == 0) break;
                if (q.await(DEPTH, TimeUnit.MILLISECONDS.toNanos(10)) == 0) continue;
                long now = System.nanoTime();
                if (now - nextReport >= 0) {
                    long done = unit * bs;
                    err.printf("prefill: %s of %s (%d%%), %.0f MB/s%n", Sizes.format(done - done % (1 << 20)), Sizes.format(total),
                            done * 100 / total, done / ((now - t0) / 1e9) / 1e6);
                    nextReport += progressNanos;
                }
            }
            if (firstError == 0) {
                try (SyncIo io = new SyncIo(device)) {
                    io.flush();
                }
            }
        } catch (RuntimeException e) {
            throw BenchException.failure("prefill failed: " + e.getMessage(), e);
        }
        if (firstError != 0) throw BenchException.failure("prefill failed: " + IoError.describe(firstError), null);
        double secs = (System.nanoTime() - t0) / 1e9;
        err.printf("prefill: done, %s in %.1f s (%.0f MB/s)%n", Sizes.format(total), secs, total / secs / 1e6);
    }

    @Override
    public void onComplete(long userData, int status) {
        inFlight--;
        freeSlots[freeCount++] = (int) userData;
        if (status != 0 && firstError == 0) firstError = status;
    }
}
