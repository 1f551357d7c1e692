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
 *       then a device flush (target: at most 1.3x), for writes into fresh slices and overwrites of
 *       written (armed) slices;</li>
 *   <li>sequential and random 4 KiB write throughput at QD32 into an object vs into the raw device
 *       region of the same size (target: at least 0.9x).</li>
 * </ul>
 * Usage: {@code StoreVsRawBench [URI-with-SIZE] [--size 1g] [--seconds 5] [--syncs 2000] [--json]};
 * the default URI is {@code uring:bench/target/store-bench.img?size=SIZE} (a file on the work disk).
 * The raw runs go first, then the device is formatted for the store runs. Prints a table and,
 * with {@code --json}, one JSON object as the last line.
 */
public final class StoreVsRawBench {
    private static final int BS = 4096;
    private static final int QD = 32;
    private static final long RAMP_NANOS = 1_000_000_000L; // not measured: caches warm, units armed

    private StoreVsRawBench() {}

    public static void main(String[] args) throws Exception {
        String uri = "uring:" + Path.of("bench/target/store-bench.img").toAbsolutePath() + "?size=SIZE";
        long size = 1L << 30;
        double seconds = 5;
        int syncs = 2000;
        boolean json = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size" -> size = Sizes.parse(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--syncs" -> syncs = Integer.parseInt(args[++i]);
                case "--json" -> json = true;
                default -> uri = args[i];
            }
        }
        String devUri = uri.replace("SIZE", Long.toString(size + (size / 8) + (256L << 20)));
        if (devUri.contains(":bench/target") || devUri.contains("/bench/target/")) Files.createDirectories(Path.of("bench/target"));
        Map<String, Double> r = new LinkedHashMap<>();
        try (BlockDevice dev = BlockDevices.open(devUri)) {
            // ---------- raw device
            Raw raw = new Raw(dev);
            raw.throughput(size + (size / 8) + (128L << 20), 0, false, true); // prefill: every block of the file allocated once
            r.put("raw_sync_us", raw.writeFlushLatency(syncs, size));
            r.put("raw_seq_iops", raw.throughput(size, seconds, false, false));
            r.put("raw_rand_iops", raw.throughput(size, seconds, true, false));
            raw.close();
            // ---------- store
            try (BlockStore s = BlockStore.format(dev, FormatOptions.DEFAULTS)) {
                Store st = new Store(s);
                StoreObject fresh = s.create(0, size, Map.of());
                r.put("store_sync_fresh_us", st.writeSyncLatency(fresh, syncs, size));
                s.delete(fresh);
                s.sync(); // its units are reusable once the delete is durable
                StoreObject seq = s.create(0, size, Map.of());
                r.put("store_seq_iops", st.throughput(seq, size, seconds, false));   // fresh slices: allocation on the way
                r.put("store_rand_iops", st.throughput(seq, size, seconds, true));   // overwrites of written (armed) slices
                r.put("store_sync_overwrite_us", st.writeSyncLatency(seq, syncs, size));
                st.close();
            }
        }
        r.put("ratio_sync_fresh", r.get("store_sync_fresh_us") / r.get("raw_sync_us"));
        r.put("ratio_sync_overwrite", r.get("store_sync_overwrite_us") / r.get("raw_sync_us"));
        r.put("ratio_seq", r.get("store_seq_iops") / r.get("raw_seq_iops"));
        r.put("ratio_rand", r.get("store_rand_iops") / r.get("raw_rand_iops"));
        System.out.printf(Locale.ROOT, "device %s, region %s, placement: %s%n", devUri, Sizes.format(size), placement());
        System.out.printf(Locale.ROOT, "%-34s %12s %12s %8s %s%n", "measure", "raw", "store", "ratio", "target");
        row("4K write + sync, QD1, mean us (fresh)", r.get("raw_sync_us"), r.get("store_sync_fresh_us"), "<= 1.3");
        row("4K write + sync, QD1, mean us (ovw)", r.get("raw_sync_us"), r.get("store_sync_overwrite_us"), "<= 1.3");
        row("4K seq write QD32, IOPS", r.get("raw_seq_iops"), r.get("store_seq_iops"), ">= 0.9");
        row("4K rand write QD32, IOPS", r.get("raw_rand_iops"), r.get("store_rand_iops"), ">= 0.9");
        if (json) {
            StringBuilder sb = new StringBuilder("{");
            r.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":").append(String.format(Locale.ROOT, "%.3f", v)));
            sb.append(",\"placement\":\"").append(placement().replace("\"", "'")).append("\",\"device\":\"").append(devUri).append("\"}");
            System.out.println(sb);
        }
    }

    private static void row(String what, double raw, double store, String target) {
        System.out.printf(Locale.ROOT, "%-34s %12.1f %12.1f %8.2f %s%n", what, raw, store, store / raw, target);
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

    private static final class Raw {
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

        double writeFlushLatency(int n, long size) {
            Histogram h = new Histogram(3);
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < n + n / 10; i++) {
                long t0 = System.nanoTime();
                done = 0;
                check(q.write(r.nextLong(size / BS) * BS, bufs[0], BS, 0));
                waitFor(1);
                check(q.flush(1));
                waitFor(2);
                if (i >= n / 10) h.recordValue(System.nanoTime() - t0);
            }
            return h.getMean() / 1000.0;
        }

        /** Keeps QD writes in flight for {@code seconds} (or, with {@code once}, until the region was written once). */
        double throughput(long size, double seconds, boolean random, boolean once) {
            SplittableRandom r = new SplittableRandom(2);
            long[] seq = {0};
            done = 0;
            int issued = 0;
            long end = once ? Long.MAX_VALUE : System.nanoTime() + (long) (seconds * 1e9);
            if (once) {
                MemorySegment[] big = bufs; // 4 KiB each: fine for a one-off pass
                for (long off = 0; off < size; off += BS) {
                    while (issued - done >= QD) q.await(QD, 1_000_000);
                    check(q.write(off, big[issued % QD], BS, issued % QD));
                    issued++;
                }
                waitFor(issued);
                done = 0;
                check(q.flush(0));
                waitFor(1);
                return 0;
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < QD; i++, issued++) check(q.write(next(r, seq, size, random), bufs[i], BS, i));
            long measuredStart = 0, base = 0;
            while (System.nanoTime() < end) {
                int before = done;
                q.await(QD, 1_000_000);
                for (int k = before; k < done; k++, issued++) check(q.write(next(r, seq, size, random), bufs[issued % QD], BS, issued % QD));
                if (measuredStart == 0 && System.nanoTime() - t0 > RAMP_NANOS) { // ramp
                    measuredStart = System.nanoTime();
                    base = done;
                }
            }
            double iops = (done - base) / ((System.nanoTime() - measuredStart) / 1e9);
            waitFor(issued);
            done = 0;
            check(q.flush(0));
            waitFor(1);
            return iops;
        }

        void check(int st) { if (st != 0) throw new IllegalStateException("submission refused: " + IoError.describe(st)); }

        void close() { q.close(); }
    }

    // ---------------------------------------------------------------- store

    private static final class Store {
        final StoreChannel ch;
        final MemorySegment[] bufs = new MemorySegment[QD];
        int done, failed;

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
            while ((st = ch.write(o, off, bufs[slot], BS, slot)) == StoreStatus.BACK_PRESSURE.code()) ch.await(QD, 100_000);
            return st;
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

        double throughput(StoreObject o, long size, double seconds, boolean random) {
            SplittableRandom r = new SplittableRandom(2);
            long[] seq = {0};
            done = 0;
            int issued = 0;
            long end = System.nanoTime() + RAMP_NANOS + (long) (seconds * 1e9);
            long t0 = System.nanoTime();
            for (int i = 0; i < QD; i++, issued++) check(submit(o, next(r, seq, size, random), i));
            long measuredStart = 0, base = 0;
            while (System.nanoTime() < end) {
                int before = done;
                ch.await(QD, 1_000_000);
                for (int k = before; k < done; k++, issued++) check(submit(o, next(r, seq, size, random), issued % QD));
                if (measuredStart == 0 && System.nanoTime() - t0 > RAMP_NANOS) {
                    measuredStart = System.nanoTime();
                    base = done;
                }
            }
            double iops = (done - base) / ((System.nanoTime() - measuredStart) / 1e9);
            waitFor(issued);
            done = 0;
            check(ch.sync(0));
            waitFor(1);
            return iops;
        }

        void check(int st) { if (st != 0) throw new IllegalStateException("submission refused: " + StoreStatus.describe(st)); }

        void close() { ch.close(); }
    }

}
