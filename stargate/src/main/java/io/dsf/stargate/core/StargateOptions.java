package io.dsf.stargate.core;

/**
 * Tunables of a {@link Stargate} node; immutable.
 *
 * @param shards               shards per new vDisk (one thread each)
 * @param ringSize             Disruptor ring entries per shard (a power of two)
 * @param oplogSegmentBytes    size of one OpLog segment object
 * @param oplogShardBytes      OpLog capacity per shard; writes wait (back-pressure) above it
 * @param oplogIndexBudget     node-wide cap on OpLog index entries (4 KiB blocks) over all shards
 * @param bypassBytes          outstanding write bytes to a vDisk above which writes go straight
 *                             to the Extent Store (the seeds' 1.5 MiB)
 * @param cacheBytes           node-wide Unified Cache memory; each vDisk shard takes {@code cacheBytes / (4 * shards)} of it while any is left
 * @param egroupExtents        extents (1 MiB each) per extent group object
 * @param idle                 shard idle strategy: spin, backoff or block
 * @param drainStartFraction   OpLog fill (of {@code oplogShardBytes}) above which a shard drains
 *                             continuously; below it drains only when idle
 * @param cacheSecondMissAdmission whether a shard's Unified Cache fills a block only on its second
 *                             recent miss (a ghost table of keys remembers first misses; see
 *                             {@link io.dsf.stargate.cache.UnifiedCache#admit}) instead of on every miss
 * @param idleDrainNanos       how long a shard below the drain threshold goes without a new request
 *                             before it drains (default 1 ms): the gap between two requests of a
 *                             QD1 client is not idleness
 */
public record StargateOptions(int shards, int ringSize, long oplogSegmentBytes, long oplogShardBytes,
                              long oplogIndexBudget, long bypassBytes, long cacheBytes, int egroupExtents,
                              String idle, double drainStartFraction, boolean cacheSecondMissAdmission,
                              long idleDrainNanos) {
    public static final int VBLOCK = 1 << 20;

    public StargateOptions {
        if (shards < 1 || shards > 64) throw new IllegalArgumentException("shards must be 1..64: " + shards);
        if (ringSize < 2 || Integer.bitCount(ringSize) != 1) throw new IllegalArgumentException("ring size must be a power of two: " + ringSize);
        if (oplogSegmentBytes < (4 << 20) || oplogSegmentBytes > (64 << 20) || oplogSegmentBytes % VBLOCK != 0)
            throw new IllegalArgumentException("OpLog segment must be a multiple of 1 MiB from 4 to 64 MiB (an index location addresses 16384 blocks of a segment): " + oplogSegmentBytes);
        if (oplogShardBytes / oplogSegmentBytes > Shard.MAX_SEGMENTS)
            throw new IllegalArgumentException("OpLog per shard may hold at most " + Shard.MAX_SEGMENTS + " segments: " + oplogShardBytes);
        if (oplogShardBytes < 2 * oplogSegmentBytes)
            throw new IllegalArgumentException("OpLog per shard must hold at least two segments: " + oplogShardBytes);
        if (oplogIndexBudget < 1024) throw new IllegalArgumentException("OpLog index budget too small: " + oplogIndexBudget);
        if (bypassBytes < 0) throw new IllegalArgumentException("bypass threshold must be >= 0: " + bypassBytes);
        if (cacheBytes < 0) throw new IllegalArgumentException("cache bytes must be >= 0: " + cacheBytes);
        if (egroupExtents < 1 || egroupExtents > 255) throw new IllegalArgumentException("extents per egroup must be 1..255: " + egroupExtents);
        if (!idle.equals("spin") && !idle.equals("backoff") && !idle.equals("block"))
            throw new IllegalArgumentException("idle must be spin, backoff or block: " + idle);
        if (!(drainStartFraction > 0 && drainStartFraction < 1)) throw new IllegalArgumentException("drain start fraction must be in (0,1)");
        if (idleDrainNanos < 0 || idleDrainNanos > 60_000_000_000L) throw new IllegalArgumentException("idle drain delay must be 0 to 60 s: " + idleDrainNanos + " ns");
    }

    /**
     * Defaults: shards from the core count, 64 MiB OpLog segments, 1 GiB OpLog per shard, 1.5 MiB
     * bypass, 256 MiB cache filled on a block's second miss, idle drains after 1 ms without requests.
     */
    public static StargateOptions defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new StargateOptions(Math.max(1, Math.min(8, cores)), 1024, 64L << 20, 1L << 30,
                4L << 20, 3L << 19, 256L << 20, 4, "backoff", 0.5, true, 1_000_000L);
    }

    public StargateOptions withShards(int n) { return new StargateOptions(n, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withOplog(long segment, long perShard) { return new StargateOptions(shards, ringSize, segment, perShard, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withIndexBudget(long entries) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, entries, bypassBytes, cacheBytes, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withBypassBytes(long b) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, b, cacheBytes, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withCacheBytes(long b) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, b, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withIdle(String i) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, i, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withRingSize(int r) { return new StargateOptions(shards, r, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withDrainStart(double f) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, idle, f, cacheSecondMissAdmission, idleDrainNanos); }
    public StargateOptions withCacheSecondMissAdmission(boolean on) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, idle, drainStartFraction, on, idleDrainNanos); }
    public StargateOptions withIdleDrainDelay(long nanos) { return new StargateOptions(shards, ringSize, oplogSegmentBytes, oplogShardBytes, oplogIndexBudget, bypassBytes, cacheBytes, egroupExtents, idle, drainStartFraction, cacheSecondMissAdmission, nanos); }
}
