/**
 * Per-vDisk statistics: each shard thread records into its own {@link
 * io.dsf.stargate.stats.VDiskShardStats} (single writer, no locks, no allocation per I/O), and
 * any thread may take a {@link io.dsf.stargate.stats.VDiskStats#snapshot() snapshot}, which
 * never blocks a shard.
 *
 * <p>Counters are plain fields of their one writer published with release stores; latencies go
 * to HdrHistogram {@code SingleWriterRecorder}s, whose interval histograms the snapshot thread
 * swaps out. A {@link io.dsf.stargate.stats.VDiskStatsSnapshot} holds the interval since the
 * previous snapshot and the totals since the vDisk's stats were created; it prints itself as one
 * JSON line (for {@code dsf stats --json} and scripts) or one human line. {@link
 * io.dsf.stargate.stats.VDiskStatsRegistry} is the node's list of them.
 */
package io.dsf.stargate.stats;
