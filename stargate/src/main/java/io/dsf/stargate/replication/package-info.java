/**
 * OpLog replication: each vDisk shard's thread replicates its own sealed OpLog batches to RF-1
 * peers through its {@link io.dsf.stargate.replication.ShardReplicator} (endpoints and completion
 * queue owned and polled by that shard thread, no locks), and one
 * {@link io.dsf.stargate.replication.ReplicaService} thread per node receives, verifies, stores,
 * syncs and acknowledges the batches of every owner (a separate control thread only accepts
 * connections and hands them over through a queue; a drain thread per node applies stored batches to
 * the replica's image of each owner stream through its own store channel, and hands each drain back
 * through a queue).
 *
 * <p>The wire format is a trailer after the batch bytes ({@link
 * io.dsf.stargate.replication.ReplicationDescriptor}), so the batch lands at offset 0 of a
 * slice-aligned receive buffer and is written to the store from there. The rules (a batch is
 * acknowledged to clients only once it is durable locally and on RF-1 peers; failover; peer
 * choice per episode) are in stargate/ARCHITECTURE.md, "Replication".
 */
package io.dsf.stargate.replication;
