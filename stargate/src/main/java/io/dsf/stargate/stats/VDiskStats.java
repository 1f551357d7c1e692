package io.dsf.stargate.stats;

import io.dsf.stargate.stats.VDiskStatsSnapshot.OpStats;
import io.dsf.stargate.stats.VDiskStatsSnapshot.Period;
import org.HdrHistogram.Histogram;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The statistics of one vDisk: one {@link VDiskShardStats} per shard, written by that shard's
 * thread, and {@link #snapshot()}, which any thread may call (snapshots are serialised with each
 * other, never with the shards). Thread safe.
 *
 * <p>Each snapshot covers the interval since the previous one (or since creation) and the totals
 * since creation. A recording that races with a snapshot lands in this interval or the next one,
 * never in both or neither, so intervals add up to the totals. Counts for a request that is being
 * recorded at the instant of a snapshot may appear in its ops count one interval before its latency
 * (or the reverse): the two agree once recording pauses.
 *
 * <p>Memory: at the default precision each latency histogram takes about 37 KB; a vDisk keeps
 * three per request kind per shard (the recorder's two and the last interval) and eight more for
 * the snapshots, so about 0.45 MB per shard plus 0.3 MB (3 digits: about 7x that).
 */
public final class VDiskStats {
    /** Latencies above this (one hour) are recorded as this. */
    public static final long MAX_LATENCY_NANOS = TimeUnit.HOURS.toNanos(1);
    /** Default HdrHistogram precision: values are kept to within 1%. */
    public static final int DEFAULT_SIGNIFICANT_DIGITS = 2;

    private static final int K = VDiskShardStats.KINDS;

    private final String name;
    private final VDiskShardStats[] shards;
    private final LongSupplier nanoClock;
    private final int digits;

    // snapshot state, guarded by this
    private final long createdNanos;
    private long lastNanos;
    private final long[] lastTotals = new long[VDiskShardStats.N_COUNTERS];
    private long lastCacheHits, lastCacheMisses;
    private final long[] cacheHitsBase, cacheMissesBase; // per shard, for counters that went backwards
    private final long[] shardCacheHits, shardCacheMisses;
    private final Histogram[][] recycled;                // [shard][kind], owned by the recorders' swaps
    private final Histogram[] interval = new Histogram[K];
    private final Histogram[] total = new Histogram[K];

    /** Stats for a vDisk with {@code shards} shards, default precision, on {@link System#nanoTime()}. */
    public VDiskStats(String name, int shards) {
        this(name, shards, DEFAULT_SIGNIFICANT_DIGITS, System::nanoTime);
    }

    /**
     * @param significantDigits HdrHistogram precision, 1..5 (each digit costs about 10x memory per histogram)
     * @param nanoClock         monotonic time source for the intervals (tests pass a fake one)
     */
    public VDiskStats(String name, int shards, int significantDigits, LongSupplier nanoClock) {
        this.name = Objects.requireNonNull(name, "name");
        if (shards <= 0) throw new IllegalArgumentException("a vDisk has at least one shard: " + shards);
        if (significantDigits < 1 || significantDigits > 5)
            throw new IllegalArgumentException("significant digits must be 1..5: " + significantDigits);
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.digits = significantDigits;
        this.shards = new VDiskShardStats[shards];
        for (int s = 0; s < shards; s++) this.shards[s] = new VDiskShardStats(MAX_LATENCY_NANOS, significantDigits);
        recycled = new Histogram[shards][K];
        cacheHitsBase = new long[shards];
        cacheMissesBase = new long[shards];
        shardCacheHits = new long[shards];
        shardCacheMisses = new long[shards];
        for (int k = 0; k < K; k++) {
            interval[k] = new Histogram(1, MAX_LATENCY_NANOS, significantDigits);
            total[k] = new Histogram(1, MAX_LATENCY_NANOS, significantDigits);
        }
        createdNanos = lastNanos = nanoClock.getAsLong();
    }

    public String name() { return name; }

    public int shardCount() { return shards.length; }

    /** The recorder of shard {@code index}; handed once to that shard, which alone records into it. */
    public VDiskShardStats shard(int index) {
        return shards[index];
    }

    /** Closes the current interval and returns it with the totals since creation. Any thread. */
    public synchronized VDiskStatsSnapshot snapshot() {
        long now = nanoClock.getAsLong();
        long[] totals = new long[VDiskShardStats.N_COUNTERS];
        long cacheHits = 0, cacheMisses = 0;
        for (int k = 0; k < K; k++) interval[k].reset();
        for (int s = 0; s < shards.length; s++) {
            VDiskShardStats shard = shards[s];
            for (int i = 0; i < totals.length; i++) totals[i] += shard.counter(i);
            for (int k = 0; k < K; k++) {
                recycled[s][k] = shard.intervalLatency(k, recycled[s][k]);
                interval[k].add(recycled[s][k]);
            }
            cacheHits += monotonic(shard.cacheHits(), s, shardCacheHits, cacheHitsBase);
            cacheMisses += monotonic(shard.cacheMisses(), s, shardCacheMisses, cacheMissesBase);
        }
        for (int k = 0; k < K; k++) total[k].add(interval[k]);

        double intervalSeconds = Math.max(0, now - lastNanos) / 1e9;
        double totalSeconds = Math.max(0, now - createdNanos) / 1e9;
        OpStats[] iv = new OpStats[K], tot = new OpStats[K];
        for (int k = 0; k < K; k++) {
            int ops = 2 * k, bytes = 2 * k + 1;
            iv[k] = op(totals[ops] - lastTotals[ops], totals[bytes] - lastTotals[bytes], intervalSeconds, interval[k]);
            tot[k] = op(totals[ops], totals[bytes], totalSeconds, total[k]);
        }
        int e = VDiskShardStats.ERRORS;
        Period intervalPeriod = new Period(intervalSeconds, iv[0], iv[1], iv[2], iv[3], totals[e] - lastTotals[e],
                cacheHits - lastCacheHits, cacheMisses - lastCacheMisses);
        Period totalPeriod = new Period(totalSeconds, tot[0], tot[1], tot[2], tot[3], totals[e], cacheHits, cacheMisses);
        System.arraycopy(totals, 0, lastTotals, 0, totals.length);
        lastCacheHits = cacheHits;
        lastCacheMisses = cacheMisses;
        lastNanos = now;
        return new VDiskStatsSnapshot(name, System.currentTimeMillis(), totals[VDiskShardStats.OPLOG_BYTES],
                totals[VDiskShardStats.OPLOG_CAPACITY], intervalPeriod, totalPeriod);
    }

    /**
     * Keeps a shard's cache count monotonic across a rebind to a new cache (whose count restarts):
     * a drop is taken as a restart, and the old count is carried in {@code base}.
     */
    private static long monotonic(long value, int shard, long[] last, long[] base) {
        if (value < last[shard]) base[shard] += last[shard];
        last[shard] = value;
        return base[shard] + value;
    }

    private static OpStats op(long ops, long bytes, double seconds, Histogram h) {
        double iops = seconds > 0 ? ops / seconds : 0;
        double mbps = seconds > 0 ? bytes / seconds / 1e6 : 0;
        return new OpStats(ops, bytes, iops, mbps, us(h.getValueAtPercentile(50)), us(h.getValueAtPercentile(99)),
                us(h.getValueAtPercentile(99.9)), us(h.getTotalCount() == 0 ? 0 : h.getMaxValue()));
    }

    private static double us(long nanos) {
        return nanos / 1000.0;
    }

    @Override
    public String toString() {
        return "VDiskStats[" + name + ", " + shards.length + " shards, " + digits + " digits]";
    }
}
