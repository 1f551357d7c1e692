package io.dsf.node.up;

import io.dsf.stargate.replication.Domain;
import io.dsf.stargate.replication.PeerAddress;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * The multi-node part of {@code up} (DESIGN.md's command-line contract): this node's id, where its
 * replica service listens, the static peer list, the replication factor, the transport, the
 * availability domain and how long a failed peer is waited for before its data is re-replicated.
 * Without peers the node keeps RF1 and only serves as a replica for others. Immutable; thread safe.
 */
public record ClusterConfig(String nodeId, InetSocketAddress listen, List<PeerAddress> peers, int rf, String transport, Domain domain,
                            double rereplicateAfterSeconds, long checkpointAfterBytes, long replicaDrainAfterBytes) {
    /** Default grace before a failed peer's data is re-replicated: a restarting node should not cost a pass. */
    public static final double REREPLICATE_AFTER_SECONDS = 30;

    /** Default: a replica drains an owner stream into its image once this much of it is not drained (and after 30 s idle anyway). */
    public static final long REPLICA_DRAIN_AFTER_BYTES = io.dsf.stargate.replication.ReplicaService.DrainPolicy.DEFAULT.thresholdBytes();

    /** {@link #replicaDrainAfterBytes}: no drain at all ({@code --replica-drain-after off}). */
    public static final long REPLICA_DRAIN_OFF = -1;

    /** The replica service's drain policy: {@link #replicaDrainAfterBytes} (0: only when idle; off: never) and the default idle time. */
    public io.dsf.stargate.replication.ReplicaService.DrainPolicy drainPolicy() {
        if (replicaDrainAfterBytes == REPLICA_DRAIN_OFF) return io.dsf.stargate.replication.ReplicaService.DrainPolicy.OFF;
        return new io.dsf.stargate.replication.ReplicaService.DrainPolicy(replicaDrainAfterBytes,
                io.dsf.stargate.replication.ReplicaService.DrainPolicy.DEFAULT.idleNanos());
    }

    /** Default: a shard's replicated history since its base may reach 4x its live data and at least this before a checkpoint pass. */
    public static final long CHECKPOINT_AFTER_BYTES = io.dsf.stargate.replication.Rereplicator.HISTORY_FLOOR;

    /** Connections (owner vDisk shards) a node's replica service takes at once; each holds a 520 KiB receive buffer. */
    public static final int REPLICA_CONNECTIONS = 32;

    public ClusterConfig {
        PeerAddress.checkId(nodeId);
        if (listen == null) throw new IllegalArgumentException("--listen HOST:PORT is required with --node-id/--peers/--rf");
        peers = List.copyOf(peers);
        if (rf < 1 || rf > 3) throw new IllegalArgumentException("--rf must be 1, 2 or 3: " + rf);
        if (rf - 1 > peers.size()) throw new IllegalArgumentException("--rf " + rf + " needs at least " + (rf - 1) + " peers in --peers, got " + peers.size());
        for (PeerAddress p : peers) if (p.id().equals(nodeId)) throw new IllegalArgumentException("--peers names this node (" + nodeId + ")");
        if (domain == null) domain = Domain.of(nodeId);
        if (checkpointAfterBytes < 0) throw new IllegalArgumentException("--checkpoint-after must be >= 0 (0: no checkpoints): " + checkpointAfterBytes);
        if (replicaDrainAfterBytes < 0 && replicaDrainAfterBytes != REPLICA_DRAIN_OFF)
            throw new IllegalArgumentException("--replica-drain-after must be >= 0 (0: drain only when idle) or off: " + replicaDrainAfterBytes);
        if (!(rereplicateAfterSeconds >= 0) || rereplicateAfterSeconds > 86400)
            throw new IllegalArgumentException("--rereplicate-after must be in 0..86400 seconds: " + rereplicateAfterSeconds);
        if (!transport.equals("tcp") && !transport.equals("verbs")) throw new IllegalArgumentException("--transport must be tcp or verbs: " + transport);
    }
}
