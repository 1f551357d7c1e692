package io.dsf.stargate.replication;

import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.VDiskController;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;

/**
 * Reads from the replicas what this node's own copy can no longer give: a read that failed its
 * checksum ({@link VDiskStatus#MEDIUM_ERROR}) is re-read block by block on the vDisk; each block
 * that still fails is taken from the replicated OpLog history on the peers (the entry with the
 * highest sequence number for that block, checksums verified on both sides), written back through
 * the vDisk (a new OpLog write, replicated like any other: the bad copy is superseded) and copied to
 * the caller. The read then completes OK; it stays a MEDIUM_ERROR when that cannot be done safely:
 * a peer is unreachable (it may hold the newest version), a shard's history has a hole, or a bad
 * block has no replicated history (written before replication was on). A shard's base (the highest
 * any peer holds, {@link ReplicaPuller#BASE}) bounds the history: entries below it are ignored, the
 * hole check starts at it, and a bad block with no entry at or above it is zero.
 *
 * <p>Threading: {@link #repair} is called on a shard thread and only queues the work; one repair
 * thread does the pulls and the re-reads/writes (error path: it allocates and blocks). Thread safe.
 * The write back is conditional ({@code VDiskController.passRewrite} against the re-read's mark): a
 * client write that landed on the block since the re-read is newer and is never overwritten.
 */
public final class ReplicaReadRepair implements Stargate.ReadRepair, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReplicaReadRepair.class.getName());
    static final int BLOCK = 4096;
    private static final long CONNECT_NANOS = TimeUnit.SECONDS.toNanos(3), IO_SECONDS = 60;
    /** How long a peer may take over one answer of a pull (a drain of the stream defers it). */
    private static final long ANSWER_NANOS = TimeUnit.SECONDS.toNanos(20);

    private final RdmaTransport transport;
    private final String nodeId;
    private final List<PeerAddress> peers;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "read-repair");
        t.setDaemon(true);
        return t;
    });
    private final LongAdder repaired = new LongAdder(), failed = new LongAdder(), blocksRewritten = new LongAdder();

    public ReplicaReadRepair(RdmaTransport transport, String nodeId, List<PeerAddress> peers) {
        this.transport = transport;
        this.nodeId = PeerAddress.checkId(nodeId);
        this.peers = List.copyOf(peers);
    }

    /** Reads completed OK from the replicas, reads left a MEDIUM_ERROR, blocks written back. */
    public long repaired() { return repaired.sum(); }

    /**
     * Tells the repair which unreachable peers it may do without: {@code needed.test(vdiskId, peerId)}
     * false means the peer holds no history of that vDisk still needed (a re-replication pass since
     * replaced it), so its being down does not make the repair refuse. Null: every peer is needed.
     */
    public void neededPeers(java.util.function.BiPredicate<Long, String> needed) { this.needed = needed; }

    private volatile java.util.function.BiPredicate<Long, String> needed;
    public long failed() { return failed.sum(); }
    public long blocksRewritten() { return blocksRewritten.sum(); }

    @Override
    public void repair(VDisk vdisk, long offset, MemorySegment dst, int length, IntConsumer done) {
        try {
            worker.execute(() -> {
                int st;
                try {
                    st = run(vdisk, offset, dst, length);
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "read repair of " + vdisk.name() + " at " + offset + "+" + length + " failed: " + t);
                    st = VDiskStatus.MEDIUM_ERROR;
                }
                (st == VDiskStatus.OK ? repaired : failed).increment();
                done.accept(st);
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            failed.increment();
            done.accept(VDiskStatus.MEDIUM_ERROR);
        }
    }

    private int run(VDisk vdisk, long offset, MemorySegment dst, int length) throws Exception {
        int n = length / BLOCK;
        long first = offset / BLOCK;
        boolean[] bad = new boolean[n];
        int badCount = 0;
        VDiskController c = vdisk instanceof VDiskController x ? x : null;
        long[] marks = new long[n];
        try (Arena a = Arena.ofShared()) { // the shard threads read and write it
            MemorySegment one = a.allocate(BLOCK, BLOCK);
            for (int i = 0; i < n; i++) { // which blocks fail now; the good ones go to the caller as they are
                int st = c != null ? marked(c, (first + i) * BLOCK, one, marks, i) : io(vdisk, true, (first + i) * BLOCK, one);
                if (st == VDiskStatus.OK) MemorySegment.copy(one, 0, dst, (long) i * BLOCK, BLOCK);
                else if (st == VDiskStatus.MEDIUM_ERROR) {
                    bad[i] = true;
                    badCount++;
                } else return st;
            }
            if (badCount == 0) return VDiskStatus.OK;
            long id = c != null ? c.id() : -1;
            byte[][] data = fromReplicas(vdisk.name(), id, first, n, bad);
            if (data == null) return VDiskStatus.MEDIUM_ERROR;
            for (int i = 0; i < n; i++) {
                if (!bad[i]) continue;
                MemorySegment.copy(MemorySegment.ofArray(data[i]), 0, one, 0, BLOCK);
                // the bad copy is superseded by a new, replicated write; conditional on the vDisk: a client write that
                // landed since the re-read is newer than what the replicas had, and is never overwritten
                int st = c != null ? rewrite(c, (first + i) * BLOCK, one, marks[i]) : io(vdisk, false, (first + i) * BLOCK, one);
                if (st == VDiskStatus.BUSY) { // newer data for the vBlock was drained since the re-read: the block holds it now
                    st = io(vdisk, true, (first + i) * BLOCK, one);
                    if (st == VDiskStatus.OK) {
                        MemorySegment.copy(one, 0, dst, (long) i * BLOCK, BLOCK);
                        continue;
                    }
                }
                if (st != VDiskStatus.OK) {
                    LOG.log(System.Logger.Level.WARNING, "read repair of " + vdisk.name() + ": write back of block " + (first + i) + ": "
                            + VDiskStatus.describe(st));
                    return VDiskStatus.MEDIUM_ERROR;
                }
                blocksRewritten.increment();
                MemorySegment.copy(one, 0, dst, (long) i * BLOCK, BLOCK);
            }
            LOG.log(System.Logger.Level.INFO, "read repair of " + vdisk.name() + ": " + badCount + " block(s) from " + first
                    + " read from the replicas and written back");
            return VDiskStatus.OK;
        }
    }

    private static int marked(VDiskController c, long off, MemorySegment buf, long[] marks, int i) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        long[] m = new long[1];
        int st = c.markedRead(off, buf, BLOCK, m, (t, s) -> f.complete(s));
        if (st != VDiskStatus.OK) return st;
        st = f.get(IO_SECONDS, TimeUnit.SECONDS);
        marks[i] = m[0];
        return st;
    }

    private static int rewrite(VDiskController c, long off, MemorySegment buf, long mark) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = c.passRewrite(off, buf, BLOCK, mark, Stargate.ReadRepair.NO_REPAIR, (t, s) -> f.complete(s));
        if (st != VDiskStatus.OK) return st;
        return f.get(IO_SECONDS, TimeUnit.SECONDS);
    }

    private static int io(VDisk d, boolean read, long off, MemorySegment buf) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        long tag = Stargate.ReadRepair.NO_REPAIR; // our own re-reads must not come back to us
        int st = read ? d.read(off, buf, BLOCK, tag, (t, s) -> f.complete(s)) : d.write(off, buf, BLOCK, tag, (t, s) -> f.complete(s));
        if (st != VDiskStatus.OK) return st;
        return f.get(IO_SECONDS, TimeUnit.SECONDS);
    }

    /**
     * The newest replicated content of every bad block of {@code [first, first+n)}, or null when it
     * cannot be known for sure (logged).
     */
    private byte[][] fromReplicas(String name, long vdiskId, long first, int n, boolean[] bad) throws Exception {
        List<ReplicaPuller> pullers = new ArrayList<>();
        try {
            for (PeerAddress p : peers) {
                try {
                    pullers.add(new ReplicaPuller(transport, p.id(), p.socketAddress(), CONNECT_NANOS, ANSWER_NANOS));
                } catch (RdmaException e) {
                    java.util.function.BiPredicate<Long, String> nd = needed;
                    if (nd != null && vdiskId >= 0 && !nd.test(vdiskId, p.id())) {
                        LOG.log(System.Logger.Level.INFO, "read repair of " + name + ": peer " + p.id() + " unreachable, but it holds "
                                + "nothing still needed (re-replicated since)");
                        continue;
                    }
                    LOG.log(System.Logger.Level.WARNING, "read repair of " + name + ": peer " + p.id() + " unreachable (" + e.getMessage()
                            + "); it may hold the newest version, so the read stays a medium error");
                    return null;
                }
            }
            long[] winSeq = new long[n];
            Arrays.fill(winSeq, -1);
            byte[][] data = new byte[n][];
            int shards = -1;
            List<long[]> seqsPerShard = new ArrayList<>();
            int[] seqCount = null;
            long[] base = null;
            SeqCoverage[] covered = null;
            for (ReplicaPuller p : pullers) {
                ReplicaVDisk meta = p.start(nodeId, name);
                if (meta == null || meta.id() != vdiskId) continue;
                if (shards < 0) {
                    shards = meta.shards();
                    for (int s = 0; s < shards; s++) seqsPerShard.add(new long[64]);
                    seqCount = new int[shards];
                    base = new long[shards];
                    covered = new SeqCoverage[shards];
                    for (int s = 0; s < shards; s++) covered[s] = new SeqCoverage();
                }
                for (int r; (r = p.next()) != ReplicaPuller.END; ) {
                    int shard = p.shard();
                    if (shard < 0 || shard >= shards) continue;
                    if (r == ReplicaPuller.BASE) {
                        base[shard] = Math.max(base[shard], p.base());
                        continue;
                    }
                    if (r == ReplicaPuller.COVERED) { // what the peer drained into its image: present
                        covered[shard].addRanges(p.ranges());
                        continue;
                    }
                    // a batch, or a synthetic batch of the peer's image (IMAGE): the same layout, each entry with
                    // its own sequence, merged per block alike (the newest wins)
                    MemorySegment b = p.batch();
                    int count = OpLogBatchView.count(b, 0), slice = 0;
                    for (int i = 0; i < count; i++) {
                        long seq = OpLogBatchView.seq(b, 0, i), block = OpLogBatchView.block(b, 0, i);
                        int k = OpLogBatchView.blocks(b, 0, i);
                        boolean zero = OpLogBatchView.flags(b, 0, i) == OpLogBatchView.FLAG_ZERO;
                        if (seq < base[shard]) { // below the base as known so far: redundant
                            if (!zero) slice += k;
                            continue;
                        }
                        long[] a = seqsPerShard.get(shard);
                        if (seqCount[shard] == a.length) seqsPerShard.set(shard, a = Arrays.copyOf(a, a.length * 2));
                        a[seqCount[shard]++] = seq;
                        for (int j = 0; j < k; j++) {
                            long idx = block + j - first;
                            if (idx < 0 || idx >= n || !bad[(int) idx] || seq <= winSeq[(int) idx]) continue;
                            winSeq[(int) idx] = seq;
                            byte[] d = new byte[BLOCK];
                            if (!zero) MemorySegment.copy(b, OpLogBatchView.PAGE + (long) (slice + j) * BLOCK, MemorySegment.ofArray(d), 0, BLOCK);
                            data[(int) idx] = d;
                        }
                        if (!zero) slice += k;
                    }
                }
            }
            if (shards < 0) {
                LOG.log(System.Logger.Level.WARNING, "read repair of " + name + ": no peer holds its replicated history");
                return null;
            }
            for (int s = 0; s < shards; s++) { // copies of a batch (RF3) repeat sequences; a hole is a batch on no peer
                long[] a = seqsPerShard.get(s);
                for (int i = 0; i < seqCount[s]; i++) covered[s].add(a[i]);
                long[] holes = covered[s].holes(Math.max(1, base[s]), 1);
                if (holes.length > 0) {
                    LOG.log(System.Logger.Level.WARNING, "read repair of " + name + ": shard " + s + " sequence " + holes[0]
                            + " is on no reachable replica; the read stays a medium error");
                    return null;
                }
            }
            for (int i = 0; i < n; i++) { // a newest entry below its shard's base (or none, with a base): the block is zero
                long block = first + i;
                if (bad[i] && winSeq[i] < base[(int) ((block >>> 8) % shards)]) data[i] = new byte[BLOCK];
            }
            for (int i = 0; i < n; i++)
                if (bad[i] && data[i] == null) {
                    LOG.log(System.Logger.Level.WARNING, "read repair of " + name + ": block " + (first + i)
                            + " has no replicated history (written before replication was on?)");
                    return null;
                }
            return data;
        } finally {
            for (ReplicaPuller p : pullers) p.close();
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
