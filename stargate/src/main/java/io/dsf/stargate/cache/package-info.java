/**
 * The Unified Cache: each instance is owned by one shard thread, which alone calls its operations
 * (no locks, no allocation per operation); its counters may be read racily by any thread.
 *
 * <p>{@link io.dsf.stargate.cache.UnifiedCache} keeps 4 KiB blocks, keyed by (volume, block
 * number), in one off-heap slab, in two LRU pools: a block enters the single-touch pool when it is
 * filled after a miss and moves to the multi-touch pool on its next hit. The single-touch pool is
 * capped at a fraction of the slab (25% by default), so a long scan recycles only that fraction
 * and leaves the hot multi-touch set in place.
 *
 * <p>Coherence: writes and invalidations stamp the blocks they touch, and a fill carries the
 * ticket taken when its miss was seen, so data read from storage before a write can never be
 * cached after it. Once {@code write} or {@code invalidate*} returns, {@code read} never returns
 * older data for those blocks.
 */
package io.dsf.stargate.cache;
