package io.dsf.stargate.replication;

import io.dsf.blockstore.store.StoreObject;

/**
 * One replica OpLog segment a {@link ReplicaService} holds: the owner node, vDisk and shard whose
 * OpLog segment number {@code segment} it mirrors, in store object {@code object} of
 * {@code bytes} bytes (batches sit at the offsets the owner wrote them at). Immutable; thread safe.
 */
public record ReplicaSegment(String owner, long vdisk, int shard, long segment, long bytes, StoreObject object) {}
