package io.dsf.bench.store;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.blockstore.store.StoreStats;
import io.dsf.blockstore.store.StoreStatus;
import org.HdrHistogram.Histogram;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * BlockStore against the raw device it sits on, same backend, same sizes, one thread:
 * <ul>
 *   <li>sync latency at QD1: a 4 KiB write then a sync through a channel, vs a 4 KiB device write
 *       then a device flush (target: at most 1.3x), for writes into fresh slices (a new object per
 *       rep) and overwrites of written slices;</li>
 *   <li>sequential and random 4 KiB write throughput at QD32 into an object vs into the raw device
 *       region of the same size (target: at least 0.9x).</li>
 * </ul>
 * Usage: {@code StoreVsRawBench [--raw URI] [--store URI] [--size 256m] [--seconds 3] [--syncs 2000]
 * [--reps 3] [--journal SIZE] [--json]}. The raw side and the store side are two devices of the same size on the
 * same backend (by default two files side by side on the work disk, {@code uring:bench/target/
 * store-bench-{raw,store}.img}), both written once in full before anything is measured so that no
 * run pays for the file system's block allocation. Every rep measures each throughput case in
 * alternating 250 ms windows of raw and store (after a 1 s ramp of each), and interleaves the QD1
 * write + sync requests of raw, fresh and overwrite one by one, so each ratio compares runs taken
 * moments apart on a shared machine; the table gives the median ratio over the reps with
 * min-max. Diagnostics per rep on stderr: store commits and checkpoints per phase, CPU per I/O
 * (whole process), back-pressure retries. With {@code --json} the last line is one JSON object.
 */
public final class StoreVsRawBench {
    private static final int BS = 4096;
    private static final int QD = 32;
    private static final long RAMP_NANOS = 1_000_000_000L; // not measured: caches warm, units armed
    private static final long WINDOW_NANOS = 250_000_000L;

    private StoreVsRawBench() {}

    public static void main(String[] args) throws Exception {
        String rawUri = "uring:" + Path.of("bench/target/store-bench-raw.img").toAbsolutePath() + "?size=SIZE";
        String storeUri = "uring:" + Path.of("bench/target/store-bench-store.img").toAbsolutePath() + "?size=SIZE";
        long size = 256L << 20;
        double seconds = 3;
        int syncs = 2000, reps = 3;
        boolean json = false;
        long journal = 0; // 0: the format's default (capacity / 128)
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size" -> size = Sizes.parse(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--syncs" -> syncs = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--raw" -> rawUri = args[++i];
                case "--store" -> storeUri = args[++i];
                case "--json" -> json = true;
                case "--journal" -> journal = Sizes.parse(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        long devSize = size + (size / 8) + (256L << 20);
        rawUri = rawUri.replace("SIZE", Long.toString(devSize));
        storeUri = storeUri.replace("SIZE", Long.toString(devSize));
        Files.createDirectories(Path.of("bench/target"));
        Map<String, double[]> r = new LinkedHashMap<>();
        String[] keys = {"raw_write_us", "raw_flush_us", "raw_sync_us", "store_sync_fresh_us", "store_sync_overwrite_us",
                "raw_seq_iops", "store_seq_iops", "raw_rand_iops", "store_rand_iops",
                "ratio_sync_fresh", "ratio_sync_overwrite", "ratio_seq", "ratio_rand"};
        for (String k : keys) r.put(k, new double[reps]);
        try (BlockDevice rawDev = BlockDevices.open(rawUri); BlockDevice storeDev = BlockDevices.open(storeUri)) {
            Raw raw = new Raw(rawDev);
            raw.fill(devSize);                                   // every block of both files written once
            Raw pre = new Raw(storeDev);
            pre.fill(devSize);
            pre.close();
            try (BlockStore s = BlockStore.format(storeDev, journal > 0 ? FormatOptions.DEFAULTS.withJournalBytes(journal) : FormatOptions.DEFAULTS)) {
                Store st = new Store(s);
                StoreObject seq = s.create(0, size, Map.of());
                for (int rep = 0; rep < reps; rep++) {
                    StoreStats s0 = s.stats();
                    raw.size = size;
                    st.size = size;
                    st.obj = seq;
                    double[] cpu = new double[4];
                    long bp0 = st.backPressure;
                    double[] x = compare(raw, st, seconds, false); // rep 1: the store's first pass allocates
                    r.get("raw_seq_iops")[rep] = x[0];
                    r.get("store_seq_iops")[rep] = x[1];
                    cpu[0] = x[2];
                    cpu[1] = x[3];
                    long bpSeq = st.backPressure - bp0;
                    StoreStats s1 = s.stats();
                    bp0 = st.backPressure;
                    x = compare(raw, st, seconds, true);
                    r.get("raw_rand_iops")[rep] = x[0];
                    r.get("store_rand_iops")[rep] = x[1];
                    cpu[2] = x[2];
                    cpu[3] = x[3];
                    long bpRand = st.backPressure - bp0;
                    StoreStats s2 = s.stats();
                    // QD1 write + sync: raw, fresh and overwrite requests interleaved one by one, so
                    // that a change in the machine's load hits all three alike
                    StoreObject fresh = s.create(0, size, Map.of());
                    double[] lat = interleavedSyncLatency(raw, st, fresh, seq, syncs, size);
                    s.delete(fresh);
                    s.sync(); // the deleted object's units are reusable once the delete is durable
                    double[] parts = {lat[0], lat[1], lat[2]};
                    r.get("raw_sync_us")[rep] = lat[0];
                    r.get("raw_write_us")[rep] = lat[1];
                    r.get("raw_flush_us")[rep] = lat[2];
                    r.get("store_sync_fresh_us")[rep] = lat[3];
                    r.get("store_sync_overwrite_us")[rep] = lat[4];
                    StoreStats s3 = s.stats();
                    System.err.printf(Locale.ROOT, "rep %d store commits/checkpoints: seq %d/%d, rand %d/%d, syncs %d/%d;"
                                    + " CPU us per I/O raw/store: seq %.2f/%.2f, rand %.2f/%.2f; back-pressure retries seq %d, rand %d%n", rep + 1,
                            s1.commits() - s0.commits(), s1.checkpoints() - s0.checkpoints(), s2.commits() - s1.commits(),
                            s2.checkpoints() - s1.checkpoints(), s3.commits() - s2.commits(), s3.checkpoints() - s2.checkpoints(),
                            cpu[0], cpu[1], cpu[2], cpu[3], bpSeq, bpRand);
                    r.get("ratio_sync_fresh")[rep] = r.get("store_sync_fresh_us")[rep] / r.get("raw_sync_us")[rep];
                    r.get("ratio_sync_overwrite")[rep] = r.get("store_sync_overwrite_us")[rep] / r.get("raw_sync_us")[rep];
                    r.get("ratio_seq")[rep] = r.get("store_seq_iops")[rep] / r.get("raw_seq_iops")[rep];
                    r.get("ratio_rand")[rep] = r.get("store_rand_iops")[rep] / r.get("raw_rand_iops")[rep];
                    System.err.printf(Locale.ROOT, "rep %d: sync fresh %.2f, sync ovw %.2f, seq %.2f, rand %.2f (raw write %.1f us, flush %.1f us)%n", rep + 1,
                            r.get("ratio_sync_fresh")[rep], r.get("ratio_sync_overwrite")[rep], r.get("ratio_seq")[rep], r.get("ratio_rand")[rep],
                            parts[1], parts[2]);
                }
                st.close();
            }
            raw.close();
        }
        System.out.printf(Locale.ROOT, "raw %s, store %s, region %s, %d reps, placement: %s%n", rawUri, storeUri, Sizes.format(size), reps, placement());
        System.out.printf(Locale.ROOT, "%-38s %12s %12s %20s %s%n", "measure (medians)", "raw", "store", "ratio med (min-max)", "target");
        row("4K write + sync, QD1, mean us (fresh)", r.get("raw_sync_us"), r.get("store_sync_fresh_us"), r.get("ratio_sync_fresh"), "<= 1.3");
        row("4K write + sync, QD1, mean us (ovw)", r.get("raw_sync_us"), r.get("store_sync_overwrite_us"), r.get("ratio_sync_overwrite"), "<= 1.3");
        row("4K seq write QD32, IOPS", r.get("raw_seq_iops"), r.get("store_seq_iops"), r.get("ratio_seq"), ">= 0.9");
        row("4K rand write QD32, IOPS", r.get("raw_rand_iops"), r.get("store_rand_iops"), r.get("ratio_rand"), ">= 0.9");
        System.out.printf(Locale.ROOT, "raw parts: 4K write QD1 %.1f us, flush after it %.1f us (medians)%n", median(r.get("raw_write_us")), median(r.get("raw_flush_us")));
        if (json) {
            StringBuilder sb = new StringBuilder("{");
            r.forEach((k, v) -> {
                sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":").append(String.format(Locale.ROOT, "%.3f", median(v)));
                sb.append(",\"").append(k).append("_reps\":[");
                for (int i = 0; i < v.length; i++) sb.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.3f", v[i]));
                sb.append(']');
            });
            sb.append(",\"placement\":\"").append(placement().replace("\"", "'")).append("\",\"raw\":\"").append(rawUri)
              .append("\",\"store\":\"").append(storeUri).append("\"}");
            System.out.println(sb);
        }
    }

    /** Mean us of: raw write+flush, raw write, raw flush, store write+sync fresh, store write+sync overwrite. */
    private static double[] interleavedSyncLatency(Raw raw, Store st, StoreObject fresh, StoreObject ovw, int n, long size) {
        Histogram h = new Histogram(3), hw = new Histogram(3), hf = new Histogram(3), sf = new Histogram(3), so = new Histogram(3);
        SplittableRandom r = new SplittableRandom(1);
        long[] t = new long[3];
        for (int i = 0; i < n + n / 10; i++) {
            boolean rec = i >= n / 10;
            raw.writeFlush(r.nextLong(size / BS) * BS, t);
            if (rec) {
                h.recordValue(t[0]);
                hw.recordValue(t[1]);
                hf.recordValue(t[2]);
            }
            long x = st.writeSync(fresh, r.nextLong(size / BS) * BS);
            if (rec) sf.recordValue(x);
            x = st.writeSync(ovw, r.nextLong(size / BS) * BS);
            if (rec) so.recordValue(x);
        }
        return new double[]{h.getMean() / 1000.0, hw.getMean() / 1000.0, hf.getMean() / 1000.0, sf.getMean() / 1000.0, so.getMean() / 1000.0};
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private static void row(String what, double[] raw, double[] store, double[] ratio, String target) {
        double lo = Double.MAX_VALUE, hi = 0;
        for (double x : ratio) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
        System.out.printf(Locale.ROOT, "%-38s %12.1f %12.1f %20s %s%n", what, median(raw), median(store),
                String.format(Locale.ROOT, "%.2f (%.2f-%.2f)", median(ratio), lo, hi), target);
    }

    private static String placement() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status")))
                if (l.startsWith("Cpus_allowed_list")) return "cpus " + l.substring(l.indexOf(':') + 1).trim() + ", unpinned; journal thread separate";
        } catch (Exception ignored) {
            // not Linux
        }
        return "unknown";
    }

    /** Offsets: sequential wrap-around or uniformly random 4 KiB slots of the region. */
    private static long next(SplittableRandom r, long[] seq, long size, boolean random) {
        if (random) return r.nextLong(size / BS) * BS;
        long o = seq[0];
        seq[0] = o + BS >= size ? 0 : o + BS;
        return o;
    }

    // ------------------------------------------------------------------ raw

    /** One side of a throughput comparison, keeping its write stream's position across windows. */
    private interface Side {
        long window(long nanos, boolean random);

        void settle();
    }

    /**
     * Throughput of {@code a} and {@code b} compared in alternating windows of {@link #WINDOW_NANOS}
     * (the order swapped every window) after a ramp of each, so that the machine's load, which
     * changes from second to second on a shared host, falls on both alike. Returns IOPS of a, IOPS
     * of b, CPU us per I/O of a, of b.
     */
    private static double[] compare(Side a, Side b, double seconds, boolean random) {
        a.window(RAMP_NANOS, random);
        b.window(RAMP_NANOS, random);
        long[] ios = new long[2], nanos = new long[2], cpu = new long[2];
        Side[] sides = {a, b};
        int windows = Math.max(2, (int) Math.round(seconds * 1e9 / WINDOW_NANOS));
        for (int w = 0; w < 2 * windows; w++) {
            int i = (w & 1) ^ ((w >> 1) & 1); // a b b a a b b a ...
            long c0 = cpuNanos(), t0 = System.nanoTime();
            ios[i] += sides[i].window(WINDOW_NANOS, random);
            nanos[i] += System.nanoTime() - t0;
            cpu[i] += cpuNanos() - c0;
        }
        a.settle();
        b.settle();
        return new double[]{ios[0] / (nanos[0] / 1e9), ios[1] / (nanos[1] / 1e9), cpu[0] / 1000.0 / ios[0], cpu[1] / 1000.0 / ios[1]};
    }

    private static final class Raw implements Side {
        final DeviceQueue q;
        final MemorySegment[] bufs = new MemorySegment[QD];
        int done, failed;

        Raw(BlockDevice dev) {
            q = dev.openQueue(QD + 1, (t, st) -> {
                done++;
                if (st != 0) failed = st;
            });
            BufferPool p = BufferPool.allocate(dev, BS, QD).registerWith(q);
            for (int i = 0; i < QD; i++) {
                bufs[i] = p.buffer(p.acquire());
                bufs[i].fill((byte) (i + 1));
            }
        }

        void waitFor(int n) {
            while (done < n) q.await(QD, 1_000_000_000L);
            if (failed != 0) throw new IllegalStateException("device I/O failed: " + IoError.describe(failed));
        }

        /** One write + flush at QD1: total, write and flush nanoseconds into {@code t}. */
        void writeFlush(long off, long[] t) {
            long t0 = System.nanoTime();
            done = 0;
            check(q.write(off, bufs[0], BS, 0));
            waitFor(1);
            long t1 = System.nanoTime();
            check(q.flush(1));
            waitFor(2);
            long t2 = System.nanoTime();
            t[0] = t2 - t0;
            t[1] = t1 - t0;
            t[2] = t2 - t1;
        }

        /** Mean us of write + flush at QD1, and of its two parts. */
        double[] writeFlushLatency(int n, long size) {
            Histogram h = new Histogram(3), hw = new Histogram(3), hf = new Histogram(3);
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < n + n / 10; i++) {
                long t0 = System.nanoTime();
                done = 0;
                check(q.write(r.nextLong(size / BS) * BS, bufs[0], BS, 0));
                waitFor(1);
                long t1 = System.nanoTime();
                check(q.flush(1));
                waitFor(2);
                long t2 = System.nanoTime();
                if (i >= n / 10) {
                    h.recordValue(t2 - t0);
                    hw.recordValue(t1 - t0);
                    hf.recordValue(t2 - t1);
                }
            }
            return new double[]{h.getMean() / 1000.0, hw.getMean() / 1000.0, hf.getMean() / 1000.0};
        }

        /** Writes the first {@code size} bytes once, sequentially, in 4 KiB writes, and flushes. */
        void fill(long size) {
            done = 0;
            int issued = 0;
            for (long off = 0; off + BS <= size; off += BS) {
                while (issued - done >= QD) q.await(QD, 1_000_000);
                check(q.write(off, bufs[issued % QD], BS, issued % QD));
                issued++;
            }
            waitFor(issued);
            done = 0;
            check(q.flush(0));
            waitFor(1);
        }

        final SplittableRandom rnd = new SplittableRandom(2);
        final long[] seqPos = {0};
        long size;

        /** Keeps QD writes in flight for {@code nanos}, then waits for them; returns the writes completed. */
        public long window(long nanos, boolean random) {
            done = 0;
            int issued = 0;
            long end = System.nanoTime() + nanos;
            for (int i = 0; i < QD; i++, issued++) check(q.write(next(rnd, seqPos, size, random), bufs[i], BS, i));
            while (System.nanoTime() < end) {
                int before = done;
                q.await(QD, 1_000_000);
                for (int k = before; k < done && System.nanoTime() < end; k++, issued++)
                    check(q.write(next(rnd, seqPos, size, random), bufs[issued % QD], BS, issued % QD));
            }
            waitFor(issued);
            return issued;
        }

        public void settle() {
            done = 0;
            check(q.flush(0));
            waitFor(1);
        }

        void check(int st) { if (st != 0) throw new IllegalStateException("submission refused: " + IoError.describe(st)); }

        void close() { q.close(); }
    }

    // ---------------------------------------------------------------- store

    private static final class Store implements Side {
        final StoreChannel ch;
        final MemorySegment[] bufs = new MemorySegment[QD];
        int done, failed;
        /** Writes refused with BACK_PRESSURE (the channel's record ring full) and retried. */
        long backPressure;

        Store(BlockStore s) {
            ch = s.openChannel(QD, BS, QD, (t, st) -> {
                done++;
                if (st != 0) failed = st;
            });
            for (int i = 0; i < QD; i++) {
                bufs[i] = ch.buffers().buffer(ch.buffers().acquire());
                bufs[i].fill((byte) (i + 1));
                bufs[i].set(ValueLayout.JAVA_INT, 0, i);
            }
        }

        void waitFor(int n) {
            while (done < n) ch.await(QD, 1_000_000_000L);
            if (failed != 0) throw new IllegalStateException("store request failed: " + StoreStatus.describe(failed));
        }

        int submit(StoreObject o, long off, int slot) {
            int st;
            while ((st = ch.write(o, off, bufs[slot], BS, slot)) == StoreStatus.BACK_PRESSURE.code()) {
                backPressure++;
                ch.await(QD, 100_000);
            }
            return st;
        }

        /** One write + sync at QD1; returns nanoseconds. */
        long writeSync(StoreObject o, long off) {
            long t0 = System.nanoTime();
            done = 0;
            check(submit(o, off, 0));
            waitFor(1);
            check(ch.sync(1));
            waitFor(2);
            return System.nanoTime() - t0;
        }

        double writeSyncLatency(StoreObject o, int n, long size) {
            Histogram h = new Histogram(3);
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < n + n / 10; i++) {
                long t0 = System.nanoTime();
                done = 0;
                check(submit(o, r.nextLong(size / BS) * BS, 0));
                waitFor(1);
                check(ch.sync(1));
                waitFor(2);
                if (i >= n / 10) h.recordValue(System.nanoTime() - t0);
            }
            return h.getMean() / 1000.0;
        }

        final SplittableRandom rnd = new SplittableRandom(2);
        final long[] seqPos = {0};
        long size;
        StoreObject obj;

        /** Keeps QD writes in flight for {@code nanos}, then waits for them; returns the writes completed. */
        public long window(long nanos, boolean random) {
            done = 0;
            int issued = 0;
            long end = System.nanoTime() + nanos;
            for (int i = 0; i < QD; i++, issued++) check(submit(obj, next(rnd, seqPos, size, random), i));
            while (System.nanoTime() < end) {
                int before = done;
                ch.await(QD, 1_000_000);
                for (int k = before; k < done && System.nanoTime() < end; k++, issued++)
                    check(submit(obj, next(rnd, seqPos, size, random), issued % QD));
            }
            waitFor(issued);
            return issued;
        }

        /** Commits what the windows wrote (a sync), outside the measurement. */
        public void settle() {
            done = 0;
            check(ch.sync(0));
            waitFor(1);
        }

        void check(int st) { if (st != 0) throw new IllegalStateException("submission refused: " + StoreStatus.describe(st)); }

        void close() { ch.close(); }
    }

}
