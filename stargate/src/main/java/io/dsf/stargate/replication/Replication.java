package io.dsf.stargate.replication;

import io.dsf.rdma.api.RdmaTransport;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A node's replication settings and the factory of its shards' {@link ShardReplicator}s: this
 * node's id, the transport, the static peer list and the replication factor. Give it to
 * {@code Stargate.open}; with RF 1 (or no peers) {@link #create} returns null and the shards behave
 * exactly as without replication. Thread safe.
 */
public final class Replication implements BatchReplicator.Factory {
    /**
     * @param rf              copies of every acknowledged OpLog batch, this node's included (1..3)
     * @param ackTimeoutNanos a chosen peer that has not acknowledged a batch within this is dropped
     * @param connectTimeoutNanos connection setup bound (runs on the shard thread when a peer is first used)
     * @param retryNanos      a failed peer is not tried again before this
     * @param episodeBytes    OpLog bytes per episode; the peers of a shard are chosen afresh for each
     */
    public record Options(int rf, long ackTimeoutNanos, long connectTimeoutNanos, long retryNanos, long episodeBytes) {
        public Options {
            if (rf < 1 || rf > 3) throw new IllegalArgumentException("rf must be 1, 2 or 3: " + rf);
            if (ackTimeoutNanos <= 0 || connectTimeoutNanos <= 0 || retryNanos < 0) throw new IllegalArgumentException("timeouts must be positive");
            if (episodeBytes < (1 << 20)) throw new IllegalArgumentException("episode must be at least 1 MiB: " + episodeBytes);
        }

        public static Options rf(int rf) {
            return new Options(rf, TimeUnit.SECONDS.toNanos(5), TimeUnit.SECONDS.toNanos(2), TimeUnit.SECONDS.toNanos(1), 1L << 30);
        }

        public Options withAckTimeout(long nanos) { return new Options(rf, nanos, connectTimeoutNanos, retryNanos, episodeBytes); }
        public Options withEpisodeBytes(long b) { return new Options(rf, ackTimeoutNanos, connectTimeoutNanos, retryNanos, b); }
    }

    /**
     * Tells a shard replicator its vDisk's metadata, sent to each peer ({@code META}) before the
     * first batch on a connection, so replicas can rebuild the vDisk on takeover. Called on shard
     * threads when they first replicate or connect (control path); returns null when it does not
     * know the vDisk (then no {@code META} is sent). Thread safe.
     */
    public interface VDiskCatalog {
        ReplicaVDisk describe(long vdiskId);
    }

    /** Told about every batch acknowledged by RF-1 peers, on the owning shard thread (tests, tools; allocation allowed there). */
    public interface Observer {
        void onAcked(long vdisk, int shard, long batchId, long segment, long offset, int bytes, int batchCrc, List<String> peers);
    }

    final String nodeId;
    final Domain domain;
    final byte[] nodeIdBytes;
    final RdmaTransport transport;
    final List<PeerAddress> peers;
    final Options options;
    volatile Observer observer;
    volatile VDiskCatalog catalog;
    final LongAdder acked = new LongAdder(), failed = new LongAdder(), failovers = new LongAdder(), trims = new LongAdder();
    /** Per peer id: what the shards last saw of it (written by shard threads on connection events only). */
    final ConcurrentHashMap<String, PeerHealth> health = new ConcurrentHashMap<>();
    /** The live shard replicators, for {@link #shards()}. */
    final ConcurrentHashMap<ShardReplicator, Boolean> replicators = new ConcurrentHashMap<>();

    /** How the shards last saw a peer: {@code state} "unknown", "connected" or "failed"; the last error (or null), when (epoch ms). */
    public record PeerStatus(PeerAddress peer, String state, String lastError, long lastErrorAtMillis, long failures, long batchesHeld) {}

    /**
     * The peers a vDisk shard currently replicates to (its episode's chosen set) and how far apart
     * its copies are ({@link Domain.Level}: every pair of copies, this node's included, differs in
     * that label; weaker than the strongest the peer list allows only while peers are missing).
     */
    public record ShardStatus(long vdisk, int shard, long episode, List<String> peers, Domain.Level domainLevel) {}

    /** Written by shard threads on connect and failure events (control path; not per batch). Thread safe. */
    static final class PeerHealth {
        volatile boolean connected;
        volatile String lastError;
        volatile long lastErrorAt;
        /** When the current failure streak began, as any shard saw it (System.nanoTime; 0: connected or never failed). */
        volatile long failedSince;
        final LongAdder failures = new LongAdder();
        /** Batches of this node the peer acknowledged (holds durably), over this process's life. */
        final LongAdder batchesHeld = new LongAdder();
    }

    PeerHealth health(PeerAddress p) { return health.computeIfAbsent(p.id(), k -> new PeerHealth()); }

    public Replication(String nodeId, RdmaTransport transport, List<PeerAddress> peers, Options options) {
        this(nodeId, Domain.of(nodeId), transport, peers, options);
    }

    /** @param domain this node's availability-domain labels (placement keeps copies apart, {@link Domain}) */
    public Replication(String nodeId, Domain domain, RdmaTransport transport, List<PeerAddress> peers, Options options) {
        this.nodeId = PeerAddress.checkId(nodeId);
        this.domain = java.util.Objects.requireNonNull(domain, "domain");
        this.nodeIdBytes = nodeId.getBytes(StandardCharsets.US_ASCII);
        this.transport = transport;
        this.peers = List.copyOf(peers);
        this.options = options;
        for (PeerAddress p : peers)
            if (p.id().equals(nodeId)) throw new IllegalArgumentException("the peer list names this node (" + nodeId + ")");
        if (options.rf() - 1 > peers.size())
            throw new IllegalArgumentException("rf " + options.rf() + " needs at least " + (options.rf() - 1) + " peers, got " + peers.size());
    }

    public String nodeId() { return nodeId; }
    public Domain domain() { return domain; }
    public int rf() { return options.rf(); }
    public List<PeerAddress> peers() { return peers; }

    public void observer(Observer o) { observer = o; }

    /** Where shard replicators look up their vDisk's metadata (set once Stargate is open; null: none). */
    public void catalog(VDiskCatalog c) { catalog = c; }

    /** Batches acknowledged by RF-1 peers, batches failed for lack of peers, peers replaced while a batch was pending. */
    public long batchesAcked() { return acked.sum(); }
    public long batchesFailed() { return failed.sum(); }
    public long failovers() { return failovers.sum(); }
    /** Segment trims sent to the peers. */
    public long trimsSent() { return trims.sum(); }

    /**
     * Each peer as the shards last saw it (connected: the last event was a successful connect) and
     * how many of this node's batches it acknowledged: while a peer is failed, that many batches
     * have one copy fewer than RF (no re-replication yet). Thread safe.
     */
    public List<PeerStatus> peerStatus() {
        List<PeerStatus> out = new ArrayList<>();
        for (PeerAddress p : peers) {
            PeerHealth h = health.get(p.id());
            if (h == null) out.add(new PeerStatus(p, "unknown", null, 0, 0, 0));
            else out.add(new PeerStatus(p, h.connected ? "connected" : h.lastError == null ? "unknown" : "failed", h.lastError, h.lastErrorAt,
                    h.failures.sum(), h.batchesHeld.sum()));
        }
        return out;
    }

    /** Every live shard replicator's current peers, sorted by (vDisk, shard). Thread safe (a snapshot). */
    public List<ShardStatus> shards() {
        List<ShardStatus> out = new ArrayList<>();
        for (ShardReplicator r : replicators.keySet()) out.add(r.snapshot());
        out.sort((a, b) -> a.vdisk() != b.vdisk() ? Long.compare(a.vdisk(), b.vdisk()) : Integer.compare(a.shard(), b.shard()));
        return out;
    }

    /**
     * A shard that needs a re-replication pass: a peer that may hold its needed history has been
     * failed since {@code sinceNanos} (RF is short), or, with {@code sinceNanos} 0, its replicated
     * history since the last base outgrew the limit (a checkpoint: the pass's base lets replicas
     * delete the older history).
     */
    public record PassNeed(long vdisk, int shard, long sinceNanos, boolean checkpoint) {}

    /**
     * Every live shard whose needed history sits on a peer failed for longer than {@code graceNanos}
     * (a re-replication pass restores its RF), sorted by (vDisk, shard). Thread safe.
     */
    public List<PassNeed> passesNeeded(long graceNanos) { return passesNeeded(graceNanos, 0, Long.MAX_VALUE); }

    /**
     * As {@link #passesNeeded(long)}, plus every shard whose history replicated since its last base
     * exceeds {@code max(floorBytes, factor x its live data)} (checkpoints; factor 0: none).
     */
    public List<PassNeed> passesNeeded(long graceNanos, double factor, long floorBytes) {
        List<PassNeed> out = new ArrayList<>();
        long now = System.nanoTime();
        for (ShardReplicator r : replicators.keySet()) {
            long since = r.needSince();
            if (since != 0 && now - since >= graceNanos) out.add(new PassNeed(r.vdisk(), r.shard(), since, false));
            else if (factor > 0 && r.historyBytes() > Math.max(floorBytes, (long) (factor * r.liveBytes())))
                out.add(new PassNeed(r.vdisk(), r.shard(), 0, true));
        }
        out.sort((a, b) -> a.vdisk() != b.vdisk() ? Long.compare(a.vdisk(), b.vdisk()) : Integer.compare(a.shard(), b.shard()));
        return out;
    }

    /**
     * Records that peer {@code peerId} could not be reached (a probe outside the shards): shards that
     * may have left history on it learn it is down. Thread safe.
     */
    public void peerUnreachable(String peerId, String why) {
        for (PeerAddress p : peers) {
            if (!p.id().equals(peerId)) continue;
            PeerHealth h = health(p);
            h.connected = false;
            h.lastError = why;
            h.lastErrorAt = System.currentTimeMillis();
            if (h.failedSince == 0) h.failedSince = Math.max(1, System.nanoTime());
        }
    }

    /** Undoes {@link #peerUnreachable} once a probe reaches the peer (a shard's own failure is its own). Thread safe. */
    public void peerReachable(String peerId) {
        for (PeerAddress p : peers) {
            if (!p.id().equals(peerId)) continue;
            PeerHealth h = health(p);
            h.failedSince = 0;
            h.connected = true;
        }
    }

    /**
     * Whether peer {@code peerId} may hold history of vDisk {@code vdisk} that is still needed: it was
     * sent a batch of one of the vDisk's shards since that shard's last completed re-replication pass
     * (true when the vDisk has no live shard here: unknown). A peer for which this is false can be
     * left out of a read repair while it is down. Thread safe (racy snapshots, refreshed every 64 polls).
     */
    public boolean mayHoldNeeded(long vdisk, String peerId) {
        int idx = -1;
        for (int i = 0; i < peers.size(); i++) if (peers.get(i).id().equals(peerId)) idx = i;
        if (idx < 0) return false;
        boolean any = false;
        for (ShardReplicator r : replicators.keySet()) {
            if (r.vdisk() != vdisk) continue;
            any = true;
            if (r.mayHoldNeeded(idx)) return true;
        }
        return !any;
    }

    /** Replicated history since the last base, and live data, of each live shard: {vdisk, shard, history, live}. Thread safe. */
    public List<long[]> history() {
        List<long[]> out = new ArrayList<>();
        for (ShardReplicator r : replicators.keySet()) out.add(new long[]{r.vdisk(), r.shard(), r.historyBytes(), r.liveBytes()});
        out.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        return out;
    }

    @Override
    public BatchReplicator create(long vdiskId, int shard) {
        if (options.rf() == 1 || peers.isEmpty()) return null;
        ShardReplicator r = new ShardReplicator(this, vdiskId, shard);
        replicators.put(r, Boolean.TRUE);
        return r;
    }
}
