package io.dsf.stargate.replication;

/**
 * One valid OpLog batch found in a replica segment by {@link ReplicaService#batches}: where it sits,
 * its length and CRC32C, and for each 4 KiB data block it carries (write-zeroes entries excluded)
 * the vDisk block number and the block's CRC32C. Immutable once made (the arrays are not shared);
 * thread safe.
 */
public record ReplicaBatch(long offset, int bytes, int crc, long[] blocks, int[] blockCrcs) {}
