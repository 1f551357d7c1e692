/**
 * The Stargate data path: each vDisk shard is one thread that owns its slice of the vDisk (OpLog
 * index, block map, device channel) and consumes a multi-producer Disruptor ring; node-level
 * objects ({@link io.dsf.stargate.core.Stargate}, {@link io.dsf.stargate.core.ExtentTable}) are
 * thread safe and off the hot path.
 *
 * <p>See {@code stargate/ARCHITECTURE.md} for the on-store formats and the ordering rules that
 * make recovery correct.
 */
package io.dsf.stargate.core;
