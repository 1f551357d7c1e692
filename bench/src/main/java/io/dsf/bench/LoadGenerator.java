package io.dsf.bench;

import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.Geometry;
import org.HdrHistogram.Histogram;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one load: checks the config against the target, optionally lays out the region, starts one
 * {@link BenchJob} thread per job, prints progress every interval on {@code err} and returns the
 * merged result.
 *
 * <pre>
 *  control thread:  open target -> check -> [sample, prefill] -> start jobs -> progress loop -> join -> BenchResult
 *  job thread j:    openQueue + BufferPool -> ready -> go -> keep iodepth in flight on slice j -> drain -> close
 * </pre>
 * Control thread only (the caller's thread); job threads are internal.
 */
public final class LoadGenerator {
    /** The region used by default when the device is larger (--size overrides). */
    public static final long DEFAULT_REGION_CAP = 64L << 30;
    /** Most units tracked by verify (an int each): 16 Mi units = 64 MiB of generation table. */
    public static final long MAX_VERIFY_UNITS = 16L << 20;
    /** Most I/O buffer memory of all jobs together (2 x bs x iodepth x jobs). */
    public static final long MAX_BUFFER_BYTES = 4L << 30;

    private final BenchConfig cfg;
    private final PrintWriter err;

    private LoadGenerator(BenchConfig cfg, PrintWriter err) {
        this.cfg = cfg;
        this.err = err;
    }

    /**
     * Opens {@code cfg.target()}, runs, closes it.
     *
     * @throws BenchException usage for arguments the target cannot take, failure when the target fails
     */
    public static BenchResult run(BenchConfig cfg, PrintWriter err) {
        try (Target t = Targets.open(cfg.target())) {
            return run(cfg, t, err);
        }
    }

    /** Runs on an already open target (left open). */
    public static BenchResult run(BenchConfig cfg, Target target, PrintWriter err) {
        return new LoadGenerator(cfg, err).execute(target);
    }

    private BenchResult execute(Target target) {
        BlockDevice device = target.device();
        Geometry g = device.geometry();
        int bs = cfg.blockSize();
        if (bs % g.blockSize() != 0)
            throw BenchException.usage("--bs " + bs + " is not a multiple of the device block size " + g.blockSize() + " of " + target.spec());
        if (bs % g.bufferAlignment() != 0)
            throw BenchException.usage("--bs " + bs + " is not a multiple of the device buffer alignment " + g.bufferAlignment());
        if (bs > g.maxTransfer())
            throw BenchException.usage("--bs " + bs + " exceeds the device's largest transfer " + Sizes.format(g.maxTransfer()));
        long bufferBytes = 2L * bs * cfg.iodepth() * cfg.jobs(); // a write and a read buffer per slot
        if (bufferBytes > MAX_BUFFER_BYTES)
            throw BenchException.usage("2 x --bs x --iodepth x --jobs = " + Sizes.format(bufferBytes) + " of I/O buffers; at most "
                    + Sizes.format(MAX_BUFFER_BYTES));
        long capacity = g.capacity() - g.capacity() % bs;
        if (capacity < bs) throw BenchException.usage("device " + target.spec() + " is smaller than one --bs block");

        long region;
        if (cfg.size() > 0) {
            if (cfg.size() > capacity)
                throw BenchException.usage("--size " + Sizes.format(cfg.size()) + " exceeds the device capacity " + Sizes.format(capacity));
            region = cfg.size();
            if (cfg.verify() && region / bs > MAX_VERIFY_UNITS)
                throw BenchException.usage("--verify tracks at most " + MAX_VERIFY_UNITS + " blocks; --size "
                        + Sizes.format(region) + " is " + region / bs + " blocks of " + bs + " bytes: use a smaller --size or larger --bs");
        } else {
            region = Math.min(capacity, DEFAULT_REGION_CAP);
            if (cfg.verify()) region = Math.min(region, MAX_VERIFY_UNITS * bs);
            region -= region % bs;
            if (region < capacity)
                err.println("note: using the first " + Sizes.format(region) + " of " + Sizes.format(capacity) + " (--size sets the region)");
        }
        long units = region / bs;
        long perJob = units / cfg.jobs();
        if (perJob < 1)
            throw BenchException.usage("region of " + units + " blocks is too small for " + cfg.jobs() + " jobs");
        if (cfg.verify() && perJob < 2L * cfg.iodepth())
            throw BenchException.usage("--verify needs at least 2 x iodepth (" + 2 * cfg.iodepth() + ") blocks per job; a job has "
                    + perJob + ": raise --size or lower --iodepth/--jobs");

        int[] generations = cfg.verify() ? new int[(int) units] : null;
        boolean prefilled = maybePrefill(target, units, generations);

        String placement = Placement.describe(cfg.jobs(), target.serverPlacement());
        ErrorReporter reporter = new ErrorReporter(err, cfg.maxMismatchReports());
        if (cfg.verify() && !target.retainsWrites())
            err.println("note: " + target.spec() + " discards writes: verify expects zeros on every read");

        CountDownLatch ready = new CountDownLatch(cfg.jobs());
        CountDownLatch go = new CountDownLatch(1);
        BenchJob[] jobs = new BenchJob[cfg.jobs()];
        Thread[] threads = new Thread[cfg.jobs()];
        for (int j = 0; j < jobs.length; j++) {
            jobs[j] = new BenchJob(j, device, cfg, j * perJob, perJob, generations, target.retainsWrites(), reporter, ready, go);
            threads[j] = new Thread(jobs[j], "dsf-bench-job-" + j);
            threads[j].setDaemon(true);
            threads[j].start();
        }
        try {
            awaitUninterruptibly(ready);
            boolean setUpFailed = false;
            for (BenchJob j : jobs) setUpFailed |= j.failureMessage() != null;
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
            long measureStart = setUpFailed ? start : start + cfg.rampNanos();
            long measureEnd = setUpFailed ? start : measureStart + cfg.runtimeNanos();
            for (BenchJob j : jobs) j.setWindow(measureStart, measureEnd);
            go.countDown();
            progressLoop(jobs, threads, start, measureStart, measureEnd);
        } finally {
            go.countDown();
            for (Thread t : threads) joinUninterruptibly(t);
        }
        for (BenchJob j : jobs) {
            if (j.failureMessage() != null) throw BenchException.failure(j.failureMessage(), j.failure());
        }

        Histogram all = new Histogram(1, BenchJob.MAX_LATENCY_NANOS, 3);
        long reads = 0, writes = 0, errors = 0;
        for (BenchJob j : jobs) {
            all.add(j.measured());
            reads += j.measuredReads();
            writes += j.measuredWrites();
            errors += j.errors();
        }
        long n = all.getTotalCount();
        return new BenchResult(cfg, target.spec(), n, reads, writes, errors, cfg.runtimeNanos() / 1e9,
                n == 0 ? 0 : all.getMean() / 1e3,
                n == 0 ? 0 : all.getValueAtPercentile(50) / 1e3,
                n == 0 ? 0 : all.getValueAtPercentile(99) / 1e3,
                n == 0 ? 0 : all.getValueAtPercentile(99.9) / 1e3,
                n == 0 ? 0 : all.getMaxValue() / 1e3,
                region, prefilled, placement);
    }

    /** Decides and runs the fill of the region before a read workload. */
    private boolean maybePrefill(Target target, long units, int[] generations) {
        if (!cfg.rw().hasReads() || !cfg.prefill() || !target.retainsWrites()) return false;
        boolean fresh = Prefill.looksUnwritten(target.device(), units, cfg.blockSize(), cfg.seed());
        boolean fill;
        if (fresh) fill = target.prefillUseful();     // holes read faster than data: lay it out like fio
        else fill = cfg.verify();                      // old contents are unknown to verify: rewrite them
        if (!fill) return false;
        Prefill.fill(target.device(), units, cfg.blockSize(), generations, err, cfg.progressNanos());
        target.settle();
        return true;
    }

    private void progressLoop(BenchJob[] jobs, Thread[] threads, long start, long measureStart, long measureEnd) {
        long interval = cfg.progressNanos();
        Histogram cumulative = new Histogram(1, BenchJob.MAX_LATENCY_NANOS, 3);
        Histogram tick = new Histogram(1, BenchJob.MAX_LATENCY_NANOS, 3);
        Histogram[] recycle = new Histogram[jobs.length];
        long last = start;
        long next = start + interval;
        while (anyAlive(threads)) {
            long now = System.nanoTime();
            if (interval <= 0 || next - measureEnd > 0) { // no tick left: wait for the jobs to drain
                sleepNanos(TimeUnit.MILLISECONDS.toNanos(2));
                continue;
            }
            if (next - now > 0) {
                sleepNanos(Math.min(next - now, TimeUnit.MILLISECONDS.toNanos(100)));
                continue;
            }
            tick.reset();
            for (int j = 0; j < jobs.length; j++) {
                recycle[j] = jobs[j].live().getIntervalHistogram(recycle[j]);
                tick.add(recycle[j]);
            }
            boolean ramp = now - measureStart < 0;
            if (!ramp) cumulative.add(tick);
            long errors = 0;
            for (BenchJob j : jobs) errors += j.errors();
            double iops = tick.getTotalCount() / ((now - last) / 1e9);
            Histogram pct = ramp || cumulative.getTotalCount() == 0 ? tick : cumulative;
            err.printf(Locale.ROOT, "[%s%3.0fs] %.0f IOPS, %.1f MB/s, p50 %s us, p99 %s us%s, errors %d%n",
                    ramp ? "ramp " : "", (now - start) / 1e9, iops, iops * cfg.blockSize() / 1e6,
                    micros(pct.getValueAtPercentile(50)), micros(pct.getValueAtPercentile(99)),
                    ramp ? "" : " so far", errors);
            last = now;
            next += interval;
        }
    }

    /** Nanoseconds as microseconds for progress lines: "0.045", "6.05", "130.5". */
    static String micros(long nanos) {
        double us = nanos / 1e3;
        return String.format(Locale.ROOT, us < 1 ? "%.3f" : us < 10 ? "%.2f" : "%.1f", us);
    }

    private static boolean anyAlive(Thread[] threads) {
        for (Thread t : threads) if (t.isAlive()) return true;
        return false;
    }

    private static void sleepNanos(long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitUninterruptibly(CountDownLatch l) {
        boolean interrupted = false;
        while (true) {
            try {
                l.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
