package io.dsf.bench.vhost;

import io.dsf.bench.Target;
import io.dsf.bench.Targets;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import org.HdrHistogram.Histogram;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

/**
 * Side by side in time slices: one client thread holds a connection to every target at once and
 * drives them in turn, a short slice each (4 KiB random reads, closed loop), rotating the order every
 * round; only one target has I/O in flight at a time, the others' servers sit idle. Each target's
 * IOPS in a round is compared with the reference target's IOPS of the same round, so whatever slows
 * the whole machine down for seconds at a time hits both sides of a ratio alike.
 *
 * <p>Why: on a virtual machine the cost of the cache-line hand-offs between the client's vCPU and
 * the server's vCPU is set by where the host places the two vCPUs, and it moves by up to 10x from one
 * second to the next (a two-thread ping-pong measured 48, 105 and 530 ns per round trip within one
 * minute here). Runs of several seconds per server, one server after the other, then compare
 * different placements; slices a quarter of a second apart mostly do not.
 *
 * <pre>
 *   java ... io.dsf.bench.vhost.InterleavedCompare --ref NAME --target NAME=SPEC [--target NAME=SPEC ...]
 *        [--rounds 20] [--slice-ms 250] [--depth 32] [--latency-depth 1] [--jobs 1] [--size 1g] [--warmup-ms 3000] [--seed N]
 *        [--rw randread|randwrite]
 * </pre>
 * SPEC is a {@code dsf bench} target ({@code vhost-user-blk:SOCK?null=1}, {@code vhost-user-scsi:SOCK?null=1},
 * {@code vdisk:mem:2g?snapshots=100}). Before random reads, a target that keeps what is written and
 * still reads as never written is prefilled and settled, as {@code dsf bench} does.
 * 4 KiB random reads, or writes with {@code --rw randwrite} (each slot's buffer holds a fixed pattern).
 * Each round runs, per target, one slice at {@code --depth} (IOPS) and one at {@code --latency-depth}
 * (latency histogram), each on {@code --jobs} request queues at once (a driver thread per queue;
 * the depths are per queue). Prints one JSON object per target on stdout: median (min, max) IOPS over the
 * rounds, the median (min, max) of its per-round IOPS ratio to the reference, and p50/p99 latency over
 * all its latency slices with their ratios to the reference's, and the median of the per-round p50
 * and p99 ratios (each round's latency slice against the reference's of the same round: the
 * measure least moved by a slow stretch of the machine). Threads: the main thread runs the
 * rounds; one driver thread per job owns that job's queue of every target (barriers hand each slice
 * over and back).
 */
public final class InterleavedCompare {
    private static final int BS = 4096;
    private static final int POLL_BATCH = 8;

    private InterleavedCompare() {}

    /** One queue of one target: its buffers, slots and results. Used by one driver thread at a time. */
    private static final class Lane implements CompletionHandler {
        final DeviceQueue queue;
        final MemorySegment[] bufs;
        final long[] start;
        final int[] free;
        int freeCount;
        long done;
        long errors;
        boolean recordLatency;
        final Histogram latency = new Histogram(1, 10_000_000_000L, 3);
        /** The latency of the current round's slice only (the side reads and resets it after each round). */
        final Histogram round = new Histogram(1, 10_000_000_000L, 3);
        final SplittableRandom rnd;
        final boolean write;

        Lane(BlockDevice dev, int depth, long seed, boolean write) {
            this.write = write;
            this.queue = dev.openQueue(depth, this);
            MemorySegment region = dev.allocateDma((long) depth * BS);
            bufs = new MemorySegment[depth];
            for (int i = 0; i < depth; i++) bufs[i] = region.asSlice((long) i * BS, BS);
            for (int i = 0; i < depth; i++) bufs[i].fill((byte) (0x41 + i)); // what writes carry
            start = new long[depth];
            free = new int[depth];
            rnd = new SplittableRandom(seed);
        }

        @Override
        public void onComplete(long userData, int status) {
            int slot = (int) userData;
            if (status != 0) errors++;
            if (recordLatency) {
                long ns = Math.max(1, System.nanoTime() - start[slot]);
                latency.recordValue(ns);
                round.recordValue(ns);
            }
            free[freeCount++] = slot;
            done++;
        }

        /** Closed loop at {@code depth} until {@code end}; returns the completions counted. */
        long run(int depth, long end, long blocks, boolean latencyToo) {
            recordLatency = latencyToo;
            freeCount = 0;
            for (int i = 0; i < depth; i++) free[freeCount++] = i;
            done = 0;
            long now = System.nanoTime();
            while (now < end) {
                while (freeCount > 0) {
                    int slot = free[--freeCount];
                    start[slot] = now;
                    long off = rnd.nextLong(blocks) * BS;
                    if ((write ? queue.write(off, bufs[slot], BS, slot) : queue.read(off, bufs[slot], BS, slot)) != 0) {
                        free[freeCount++] = slot;
                        break;
                    }
                }
                if (queue.poll(POLL_BATCH) > 0 || latencyToo) now = System.nanoTime();
            }
            long counted = done;
            while (queue.inFlight() > 0) queue.poll(POLL_BATCH); // drained before the next target runs
            recordLatency = false;
            return counted;
        }
    }

    /** One target: its connection and one lane per job. */
    private static final class Side {
        final String name;
        final Target target;
        final Lane[] lanes;
        final List<Double> iops = new ArrayList<>();
        final List<Double> ratios = new ArrayList<>();
        final List<Double> p50Ratios = new ArrayList<>(), p99Ratios = new ArrayList<>();

        Side(String name, String spec, int depth, int jobs, long seed, boolean write, long size, java.io.PrintStream err) {
            this.name = name;
            this.target = Targets.open(spec);
            // reads of never-written blocks would measure holes: lay the region out first, as dsf bench
            // does (before the lanes take their queues: a target may have no queue to spare)
            try {
                if (!write) io.dsf.bench.Prefill.forReads(target, size, BS, seed, new java.io.PrintWriter(err, true), 1_000_000_000L);
            } catch (RuntimeException e) {
                target.close();
                throw e;
            }
            lanes = new Lane[jobs];
            for (int j = 0; j < jobs; j++) lanes[j] = new Lane(target.device(), depth, seed + j, write);
        }

        Histogram latency() {
            Histogram all = new Histogram(1, 10_000_000_000L, 3);
            for (Lane l : lanes) all.add(l.latency);
            return all;
        }

        /** p50 and p99 (ns) of this round's latency slice, over its lanes; resets the round histograms. */
        double[] roundPercentiles() {
            Histogram all = new Histogram(1, 10_000_000_000L, 3);
            for (Lane l : lanes) {
                all.add(l.round);
                l.round.reset();
            }
            return new double[] {all.getValueAtPercentile(50), all.getValueAtPercentile(99)};
        }

        long errors() {
            long e = 0;
            for (Lane l : lanes) e += l.errors;
            return e;
        }

        void close() {
            for (Lane l : lanes) l.queue.close();
            target.close();
        }
    }

    /**
     * The driver threads: thread {@code j} runs lane {@code j} of the side of the current slice; the
     * main thread sets the slice up, and two barrier crossings hand it over and back.
     */
    private static final class Drivers {
        final Thread[] threads;
        final CyclicBarrier go, done;
        final long[] counts;
        volatile Side side;
        volatile int depth;
        volatile long end, blocks;
        volatile boolean latencyToo, stop;
        volatile Throwable failure;

        Drivers(int jobs) {
            threads = new Thread[jobs];
            counts = new long[jobs];
            go = new CyclicBarrier(jobs + 1);
            done = new CyclicBarrier(jobs + 1);
            for (int j = 0; j < jobs; j++) {
                int lane = j;
                threads[j] = new Thread(() -> loop(lane), "interleaved-job-" + j);
                threads[j].setDaemon(true);
                threads[j].start();
            }
        }

        private void loop(int lane) {
            try {
                while (true) {
                    go.await();
                    if (stop) return;
                    try {
                        counts[lane] = side.lanes[lane].run(depth, end, blocks, latencyToo);
                    } catch (RuntimeException | Error e) {
                        failure = e;
                    }
                    done.await();
                }
            } catch (InterruptedException | BrokenBarrierException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Runs one slice of {@code nanos} on every lane of {@code s}; returns completions per second. */
        double slice(Side s, int d, long nanos, long blk, boolean lat) throws Exception {
            side = s;
            depth = d;
            blocks = blk;
            latencyToo = lat;
            long t0 = System.nanoTime();
            end = t0 + nanos;
            go.await();
            done.await();
            if (failure != null) throw new IllegalStateException("a driver thread failed: " + failure, failure);
            long total = 0;
            for (long c : counts) total += c;
            return total / (nanos / 1e9);
        }

        void close() throws Exception {
            stop = true;
            go.await();
        }
    }

    public static void main(String[] args) throws Exception {
        try {
            run(args, System.out, System.err);
        } catch (IllegalArgumentException e) {
            System.err.println("InterleavedCompare: " + e.getMessage());
            System.err.println("usage: --target NAME=SPEC --target NAME=SPEC [...] [--ref NAME] [--rounds 20] [--slice-ms 250] "
                    + "[--depth 32] [--latency-depth 1] [--jobs 1] [--warmup-ms 3000] [--size 1g] [--seed N]");
            System.exit(2);
        }
    }

    /**
     * Runs the comparison; prints the rounds on {@code err} and one JSON line per target on {@code out}.
     *
     * @throws IllegalArgumentException on bad arguments (nothing run)
     */
    public static void run(String[] args, java.io.PrintStream out, java.io.PrintStream err) throws Exception {
        String ref = null;
        List<String[]> specs = new ArrayList<>();
        int rounds = 20, depth = 32, latDepth = 1, jobs = 1;
        long sliceMs = 250, warmupMs = 3000, size = 1L << 30, seed = 42;
        boolean write = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i], v = i + 1 < args.length ? args[i + 1] : null;
            if (v == null) usage("missing value after " + a);
            if (!a.startsWith("--")) usage("unknown argument " + a);
            i++;
            switch (a) {
                case "--ref" -> ref = v;
                case "--target" -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) usage("--target wants NAME=SPEC: " + v);
                    specs.add(new String[] {v.substring(0, eq), v.substring(eq + 1)});
                }
                case "--rounds" -> rounds = Integer.parseInt(v);
                case "--slice-ms" -> sliceMs = Long.parseLong(v);
                case "--depth" -> depth = Integer.parseInt(v);
                case "--latency-depth" -> latDepth = Integer.parseInt(v);
                case "--jobs" -> jobs = Integer.parseInt(v);
                case "--warmup-ms" -> warmupMs = Long.parseLong(v);
                case "--size" -> size = io.dsf.blockstore.io.Sizes.parse(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--rw" -> {
                    if (!v.equals("randread") && !v.equals("randwrite")) usage("--rw must be randread or randwrite: " + v);
                    write = v.equals("randwrite");
                }
                default -> usage("unknown argument " + a);
            }
        }
        if (specs.size() < 2) usage("at least two --target");
        if (specs.stream().map(t -> t[0]).distinct().count() != specs.size()) usage("two targets with one name");
        if (rounds < 1 || sliceMs < 10 || depth < 1 || latDepth < 1 || latDepth > depth || jobs < 1 || jobs > 16)
            usage("bad --rounds/--slice-ms/--depth/--latency-depth/--jobs");
        final String refName = ref == null ? specs.get(0)[0] : ref;
        if (specs.stream().noneMatch(s -> s[0].equals(refName))) usage("--ref " + refName + " is not a target");

        List<Side> sides = new ArrayList<>();
        Drivers drivers = new Drivers(jobs);
        try {
            for (String[] s : specs) sides.add(new Side(s[0], s[1], depth, jobs, seed + 1000L * sides.size(), write, size, err));
            long blocks = size / BS;
            long slice = sliceMs * 1_000_000L;
            for (Side s : sides) { // warm-up: the client's code and each server's path
                drivers.slice(s, depth, warmupMs * 2_000_000L / 3, blocks, false);
                drivers.slice(s, latDepth, warmupMs * 1_000_000L / 3, blocks, true);
                for (Lane l : s.lanes) {
                    l.latency.reset();
                    l.round.reset();
                }
            }
            int n = sides.size();
            Side refSide = sides.stream().filter(s -> s.name.equals(refName)).findFirst().orElseThrow();
            for (int r = 0; r < rounds; r++) {
                double[] got = new double[n];
                for (int k = 0; k < n; k++) {
                    int idx = (k + r) % n; // rotate who goes first
                    Side s = sides.get(idx);
                    got[idx] = drivers.slice(s, depth, slice, blocks, false);
                    drivers.slice(s, latDepth, slice, blocks, true);
                }
                double refIops = got[sides.indexOf(refSide)];
                double[][] pct = new double[n][];
                for (int k = 0; k < n; k++) pct[k] = sides.get(k).roundPercentiles();
                double[] refPct = pct[sides.indexOf(refSide)];
                for (int k = 0; k < n; k++) {
                    sides.get(k).iops.add(got[k]);
                    sides.get(k).ratios.add(got[k] / refIops);
                    sides.get(k).p50Ratios.add(pct[k][0] / refPct[0]);
                    sides.get(k).p99Ratios.add(pct[k][1] / refPct[1]);
                }
                StringBuilder line = new StringBuilder("round ").append(r + 1).append(':');
                for (int k = 0; k < n; k++) line.append(' ').append(sides.get(k).name).append(' ').append(Math.round(got[k] / 1e3)).append('k');
                err.println(line);
            }
            Histogram refLat = refSide.latency();
            double refP50 = refLat.getValueAtPercentile(50) / 1e3, refP99 = refLat.getValueAtPercentile(99) / 1e3;
            for (Side s : sides) {
                Histogram lat = s.latency();
                double p50 = lat.getValueAtPercentile(50) / 1e3, p99 = lat.getValueAtPercentile(99) / 1e3;
                double[] iops = s.iops.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                double[] ratio = s.ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                double[] r50 = s.p50Ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                double[] r99 = s.p99Ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                out.println(String.format(java.util.Locale.ROOT,
                        "{\"name\":\"%s\",\"ref\":\"%s\",\"rw\":\"%s\",\"jobs\":%d,\"rounds\":%d,\"slice_ms\":%d,\"depth\":%d,\"latency_depth\":%d,"
                                + "\"iops_median\":%.0f,\"iops_min\":%.0f,\"iops_max\":%.0f,"
                                + "\"iops_ratio_median\":%.4f,\"iops_ratio_min\":%.4f,\"iops_ratio_max\":%.4f,"
                                + "\"lat_p50_us\":%.3f,\"lat_p99_us\":%.3f,\"lat_p50_ratio\":%.4f,\"lat_p99_ratio\":%.4f,"
                                + "\"lat_p50_round_ratio_median\":%.4f,\"lat_p99_round_ratio_median\":%.4f,\"errors\":%d}",
                        s.name, refName, write ? "randwrite" : "randread", jobs, rounds, sliceMs, depth, latDepth, median(iops), iops[0], iops[iops.length - 1],
                        median(ratio), ratio[0], ratio[ratio.length - 1], p50, p99, p50 / refP50, p99 / refP99, median(r50), median(r99), s.errors()));
            }
        } finally {
            drivers.close();
            for (Side s : sides) s.close();
        }
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static void usage(String why) {
        throw new IllegalArgumentException(why);
    }
}
