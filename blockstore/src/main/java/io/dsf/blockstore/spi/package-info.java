/**
 * The block device contract: a thread-safe {@link io.dsf.blockstore.spi.BlockDevice} hands out
 * {@link io.dsf.blockstore.spi.DeviceQueue}s, each owned by one thread that submits and polls its
 * own completions; nothing is shared between queues. Modelled on SPDK's bdev function table and
 * per-thread I/O channels.
 */
package io.dsf.blockstore.spi;
