package io.dsf.stargate.stats;

import io.dsf.stargate.cache.UnifiedCache;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.LongSupplier;

/**
 * What one shard of a vDisk records: request counts, bytes and latencies per kind, errors, and
 * the shard's OpLog and cache gauges. The {@code record*} and {@code set*} methods are called by
 * the owning shard thread only (single writer, allocation free); the snapshot side is read by
 * {@link VDiskStats#snapshot()} on any thread.
 *
 * <p>Cost per recorded request: two plain loads and two release stores and one HdrHistogram
 * {@link SingleWriterRecorder#recordValue} (two uncontended atomic increments around a plain
 * histogram update). Latencies are nanoseconds, clamped to [0, {@link VDiskStats#MAX_LATENCY_NANOS}].
 */
public final class VDiskShardStats {
    static final int READ = 0, WRITE = 1, FLUSH = 2, UNMAP = 3, KINDS = 4;
    // counters[] indexes: ops and bytes of kind k at 2k and 2k + 1, then the rest
    static final int ERRORS = 2 * KINDS, OPLOG_BYTES = ERRORS + 1, OPLOG_CAPACITY = ERRORS + 2, N_COUNTERS = ERRORS + 3;
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] counters = new long[N_COUNTERS];
    private final SingleWriterRecorder[] latency = new SingleWriterRecorder[KINDS];
    private final long maxLatency;
    private volatile LongSupplier cacheHits, cacheMisses;

    VDiskShardStats(long maxLatencyNanos, int significantDigits) {
        this.maxLatency = maxLatencyNanos;
        for (int k = 0; k < KINDS; k++) latency[k] = new SingleWriterRecorder(1, maxLatencyNanos, significantDigits);
    }

    private void add(int index, long delta) {
        COUNTER.setRelease(counters, index, counters[index] + delta);
    }

    private long clamp(long nanos) {
        return nanos <= 0 ? 0 : Math.min(nanos, maxLatency);
    }

    private void record(int kind, long bytes, long latencyNanos) {
        add(2 * kind, 1);
        add(2 * kind + 1, bytes);
        latency[kind].recordValue(clamp(latencyNanos));
    }

    /** A completed read of {@code bytes} that took {@code latencyNanos} from submission to completion. Shard thread. */
    public void recordRead(long bytes, long latencyNanos) {
        record(READ, bytes, latencyNanos);
    }

    /** A completed write of {@code bytes}. Shard thread. */
    public void recordWrite(long bytes, long latencyNanos) {
        record(WRITE, bytes, latencyNanos);
    }

    /** A completed flush. Shard thread. */
    public void recordFlush(long latencyNanos) {
        record(FLUSH, 0, latencyNanos);
    }

    /** A completed unmap or write-zeroes covering {@code bytes} (kept apart from writes: no data moved). Shard thread. */
    public void recordUnmap(long bytes, long latencyNanos) {
        record(UNMAP, bytes, latencyNanos);
    }

    /** A request that completed with an error status; it is counted here only, not as a read or write. Shard thread. */
    public void recordError() {
        add(ERRORS, 1);
    }

    /** The shard's part of the vDisk's OpLog: bytes held and bytes it may hold now. Shard thread (or the OpLog's owner). */
    public void setOplog(long bytes, long capacity) {
        COUNTER.setRelease(counters, OPLOG_BYTES, bytes);
        COUNTER.setRelease(counters, OPLOG_CAPACITY, capacity);
    }

    /**
     * Where the snapshot reads this shard's cache hit and miss counts (monotonic, counted per 4 KiB
     * block, readable from any thread). Control plane, once, before or while the shard runs.
     */
    public void bindCache(LongSupplier hits, LongSupplier misses) {
        this.cacheMisses = misses;
        this.cacheHits = hits;
    }

    /** {@link #bindCache(LongSupplier, LongSupplier)} to a {@link UnifiedCache}'s counters. Control plane. */
    public void bindCache(UnifiedCache cache) {
        bindCache(cache::hits, cache::misses);
    }

    // ---------------------------------------------------------------- snapshot side (one reader at a time)

    long counter(int index) {
        return (long) COUNTER.getAcquire(counters, index);
    }

    long cacheHits() {
        LongSupplier s = cacheHits;
        return s == null ? 0 : s.getAsLong();
    }

    long cacheMisses() {
        LongSupplier s = cacheMisses;
        return s == null ? 0 : s.getAsLong();
    }

    /** Swaps out the latencies recorded since the last call into {@code recycle} (null the first time). */
    Histogram intervalLatency(int kind, Histogram recycle) {
        return latency[kind].getIntervalHistogram(recycle);
    }
}
