package io.dsf.stargate.replication;

import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.VDiskController;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Restores RF after a peer failure, on the owner: one background thread that, for every shard whose
 * needed history sits on a peer failed for longer than the grace period
 * ({@link Replication#passesNeeded}), runs a <em>re-replication pass</em>: it reads each of the
 * shard's vBlocks holding data and writes its non-zero blocks again as new OpLog entries, which the
 * shard replicates to its current, live peers ({@link VDiskController#passRewrite}: a block some
 * newer write already carries is skipped, a vBlock whose data moved meanwhile is read again). When
 * every rewrite is acknowledged and no batch failed meanwhile, the shard's <em>base</em> is the
 * pass's first sequence: every block's newest data is in a replicated entry at or above it (or the
 * block is zero), so entries below it are redundant on every peer. The base is then announced to
 * every peer of the list (returning peers when they answer again): a replica deletes its copies
 * wholly below it, and a takeover ignores entries below it.
 *
 * <p>Threading: its own thread does every pass, one at a time, and every announcement (blocking
 * calls); {@link #status()} is a thread-safe snapshot. Control path: allocation is fine.
 */
public final class Rereplicator implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Rereplicator.class.getName());
    private static final int VB = 1 << 20, BLOCK = 4096;
    private static final long OP_SECONDS = 60;
    private static final int MAX_CONFLICTS = 50;

    /** Tells a peer a shard's base (the replica deletes what is wholly below it); blocking. */
    @FunctionalInterface
    public interface Announcer {
        void announce(PeerAddress peer, long vdisk, int shard, long base) throws IOException;

        /** Whether the peer answers at all (throws when not); used once at start. */
        default void probe(PeerAddress peer) throws IOException {}
    }

    /** Progress of re-replication on this node. */
    public record Status(long passesDone, long passesFailed, long checkpoints, long blocksRewritten, String running, long vblocksDone,
                         long vblocksTotal, Map<String, Long> bases, Map<String, Integer> announcementsPending) {}

    /** Default checkpoint rule: a shard whose history since its base exceeds 4x its live data (and 256 MiB) gets a pass. */
    public static final double HISTORY_FACTOR = 4;
    public static final long HISTORY_FLOOR = 256L << 20;

    private final Stargate sg;
    private final Replication repl;
    private final Announcer announcer;
    private final long graceNanos, retryNanos;
    private final Thread thread;
    private volatile boolean closed;
    /** The pass's read buffer; freed by the GC (a shard may still complete into it after a timed-out wait). */
    private final MemorySegment buf = Arena.ofAuto().allocate(VB, 4096);

    private final LongAdder passesDone = new LongAdder(), passesFailed = new LongAdder(), blocksRewritten = new LongAdder(),
            checkpoints = new LongAdder();
    private final double historyFactor;
    private final long historyFloor;
    private volatile String running;
    private volatile long vbDone, vbTotal;
    /** (vDisk id, shard) -> base of the last completed pass; this thread writes, others read. */
    private final Map<String, Long> bases = new java.util.concurrent.ConcurrentHashMap<>();
    /** Per peer id: shard key -> base still to announce. This thread only (status copies under its lock). */
    private final Map<String, Map<String, long[]>> toAnnounce = new LinkedHashMap<>();
    private final Map<String, Long> peerRetryAt = new java.util.HashMap<>();
    /** Shard key -> when a failed pass may be tried again. */
    private final Map<String, Long> passRetryAt = new java.util.HashMap<>();

    /**
     * @param graceNanos a peer must have been failed this long before its shards re-replicate (a
     *                   restarting peer should not cost a pass)
     */
    public Rereplicator(Stargate sg, Replication repl, Announcer announcer, long graceNanos) {
        this(sg, repl, announcer, graceNanos, HISTORY_FACTOR, HISTORY_FLOOR);
    }

    /**
     * @param historyFactor a shard whose replicated history since its base exceeds this many times its
     *                      live data (and {@code historyFloor} bytes) gets a checkpoint pass: its new
     *                      base lets every replica delete the older history (0: never)
     */
    public Rereplicator(Stargate sg, Replication repl, Announcer announcer, long graceNanos, double historyFactor, long historyFloor) {
        if (historyFloor < 0 || graceNanos < 0) throw new IllegalArgumentException("negative limit");
        // a pass writes the live data again, so its own history is about 1x live: below 2x, passes would follow each other
        if (historyFactor != 0 && !(historyFactor >= 2)) throw new IllegalArgumentException("history factor must be 0 (off) or at least 2: " + historyFactor);
        this.historyFactor = historyFactor;
        this.historyFloor = historyFloor;
        this.sg = sg;
        this.repl = repl;
        this.announcer = announcer;
        this.graceNanos = graceNanos;
        this.retryNanos = TimeUnit.SECONDS.toNanos(2);
        this.thread = new Thread(this::run, "dsf-rereplicator");
        thread.setDaemon(true);
    }

    public Rereplicator start() {
        thread.start();
        return this;
    }

    private static String key(long vdisk, int shard) { return vdisk + "/" + shard; }

    private void run() {
        try {
            restorePending();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "re-replication: cannot read the recorded bases: " + e);
        }
        // After a restart every shard counts every peer as maybe holding its history, but learns that a
        // peer is down only by trying it: a peer that died while this node was down would never be tried
        // by shards that do not choose it, and their history on it would stay below RF. Ask each peer once.
        java.util.Set<PeerAddress> silent = new java.util.LinkedHashSet<>();
        for (PeerAddress p : repl.peers()) {
            if (closed) return;
            try {
                announcer.probe(p);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "re-replication: peer " + p + " does not answer at start: " + e.getMessage());
                repl.peerUnreachable(p.id(), "does not answer at start: " + e.getMessage());
                silent.add(p);
            }
        }
        long reprobeAt = System.nanoTime() + retryNanos;
        while (!closed) {
            if (!silent.isEmpty() && System.nanoTime() - reprobeAt >= 0) { // one that starts late is not a failure
                for (var it = silent.iterator(); it.hasNext(); ) {
                    PeerAddress p = it.next();
                    try {
                        announcer.probe(p);
                        repl.peerReachable(p.id());
                        it.remove();
                    } catch (IOException | RuntimeException e) {
                        // still down: its failure stands (and ages toward the grace period)
                    }
                }
                reprobeAt = System.nanoTime() + retryNanos;
            }
            try {
                for (Replication.PassNeed n : repl.passesNeeded(graceNanos, historyFactor, historyFloor)) {
                    if (closed) return;
                    String k = key(n.vdisk(), n.shard());
                    Long at = passRetryAt.get(k);
                    if (at != null && System.nanoTime() - at < 0) continue;
                    VDiskController vd = controller(n.vdisk());
                    if (vd == null) continue;
                    if (!pass(vd, n.shard(), n.checkpoint())) passRetryAt.put(k, System.nanoTime() + retryNanos);
                    else passRetryAt.remove(k);
                }
                announce();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "re-replication: " + e);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private VDiskController controller(long id) {
        for (Stargate.Info i : sg.list()) {
            VDiskController c = sg.controller(i.name());
            if (c != null && c.id() == id) return c;
        }
        return null;
    }

    /** One pass over one shard; true when its base is established. */
    private boolean pass(VDiskController vd, int shard, boolean checkpoint) {
        String label = vd.name() + " shard " + shard + (checkpoint ? " (checkpoint: history outgrew its limit)" : "");
        running = label;
        vbDone = 0;
        vbTotal = 0;
        long t0 = System.nanoTime();
        try {
            VDiskController.PassInfo p = new VDiskController.PassInfo();
            check(await(cb -> vd.passStart(shard, p, 0, cb)), "start");
            vbTotal = p.vblocks.size();
            long rewritten = 0;
            for (int i = 0; i < p.vblocks.size() && !closed; i++) {
                rewritten += rewriteVBlock(vd, p.vblocks.getLong(i), buf);
                vbDone = i + 1;
            }
            if (closed) return false;
            check(await(cb -> vd.passEnd(shard, p, 0, cb)), "end (a batch failed during the pass)");
            bases.put(key(vd.id(), shard), p.base);
            synchronized (toAnnounce) {
                for (PeerAddress peer : repl.peers()) toAnnounce.computeIfAbsent(peer.id(), x -> new LinkedHashMap<>())
                        .put(key(vd.id(), shard), new long[]{vd.id(), shard, p.base});
            }
            persist(vd, shard, p.base);
            passesDone.increment();
            if (checkpoint) checkpoints.increment();
            blocksRewritten.add(rewritten);
            LOG.log(System.Logger.Level.INFO, "re-replication of " + label + " done: " + vbTotal + " vBlocks, " + rewritten
                    + " blocks written again, base " + p.base + ", " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms");
            return true;
        } catch (IOException e) {
            passesFailed.increment();
            LOG.log(System.Logger.Level.WARNING, "re-replication of " + label + " failed (retried): " + e.getMessage());
            return false;
        } finally {
            running = null;
        }
    }

    /** Reads a vBlock and writes its non-zero blocks again; returns the blocks submitted. */
    private long rewriteVBlock(VDiskController vd, long vb, MemorySegment buf) throws IOException {
        for (int attempt = 0; ; attempt++) {
            long[] mark = new long[1];
            check(await(cb -> vd.passRead(vb, buf, mark, cb)), "read of vBlock " + vb);
            List<CompletableFuture<Integer>> writes = new ArrayList<>();
            long blocks = 0;
            int i = 0, n = VB / BLOCK;
            while (i < n) {
                if (zero(buf, i)) {
                    i++;
                    continue;
                }
                int j = i + 1;
                while (j < n && !zero(buf, j)) j++;
                long off = (vb << 20) + (long) i * BLOCK;
                MemorySegment part = buf.asSlice((long) i * BLOCK, (long) (j - i) * BLOCK);
                int len = (j - i) * BLOCK;
                writes.add(submit(cb -> vd.passRewrite(off, part, len, mark[0], 0, cb)));
                blocks += j - i;
                i = j;
            }
            boolean conflict = false;
            for (CompletableFuture<Integer> w : writes) {
                int st = get(w);
                if (st == VDiskStatus.BUSY) conflict = true;
                else check(st, "rewrite in vBlock " + vb);
            }
            if (!conflict) return blocks;
            if (attempt >= MAX_CONFLICTS) throw new IOException("vBlock " + vb + " keeps changing under the pass");
        }
    }

    private static final MemorySegment ZERO = Arena.global().allocate(BLOCK);

    private static boolean zero(MemorySegment buf, int block) {
        return buf.asSlice((long) block * BLOCK, BLOCK).mismatch(ZERO) == -1;
    }

    /** Records the shard's base and the peers still to tell in its store, so a restart goes on announcing it. */
    private void persist(VDiskController vd, int shard, long base) {
        StringBuilder pending = new StringBuilder();
        synchronized (toAnnounce) {
            for (var pe : toAnnounce.entrySet()) {
                long[] v = pe.getValue().get(key(vd.id(), shard));
                if (v != null && v[2] == base) pending.append(pending.isEmpty() ? "" : ",").append(pe.getKey());
            }
        }
        try {
            vd.recordBase(shard, base, pending.toString());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "re-replication: cannot record the base of " + vd.name() + " shard " + shard + ": " + e.getMessage());
        }
    }

    /** Picks up the bases a previous run had not yet announced everywhere (from the shards' records). */
    private void restorePending() {
        for (Stargate.Info i : sg.list()) {
            VDiskController vd = sg.controller(i.name());
            if (vd == null) continue;
            for (int s = 0; s < vd.shardCount(); s++) {
                VDiskController.BaseRecord r;
                try {
                    r = vd.baseRecord(s);
                } catch (RuntimeException e) {
                    continue;
                }
                if (r == null) continue;
                bases.put(key(vd.id(), s), r.base());
                if (r.pending().isEmpty()) continue;
                java.util.Set<String> ids = java.util.Set.of(r.pending().split(","));
                synchronized (toAnnounce) {
                    for (PeerAddress p : repl.peers())
                        if (r.pending().equals("*") || ids.contains(p.id()))
                            toAnnounce.computeIfAbsent(p.id(), x -> new LinkedHashMap<>()).put(key(vd.id(), s), new long[]{vd.id(), s, r.base()});
                }
            }
        }
    }

    private void announce() {
        long now = System.nanoTime();
        List<long[]> told = new ArrayList<>();
        synchronized (toAnnounce) {
            for (var pe : toAnnounce.entrySet()) {
                Long at = peerRetryAt.get(pe.getKey());
                if (at != null && now - at < 0) continue;
                PeerAddress peer = null;
                for (PeerAddress p : repl.peers()) if (p.id().equals(pe.getKey())) peer = p;
                if (peer == null) continue;
                for (var it = pe.getValue().entrySet().iterator(); it.hasNext() && !closed; ) {
                    long[] v = it.next().getValue();
                    try {
                        announcer.announce(peer, v[0], (int) v[1], v[2]);
                        it.remove();
                        told.add(v);
                    } catch (IOException | RuntimeException e) {
                        peerRetryAt.put(pe.getKey(), System.nanoTime() + retryNanos);
                        break;
                    }
                }
            }
        }
        for (long[] v : told) { // the shard's record: one peer fewer to tell
            VDiskController vd = controller(v[0]);
            if (vd != null && base(v[0], (int) v[1]) == v[2]) persist(vd, (int) v[1], v[2]);
        }
    }

    public Status status() {
        Map<String, Integer> pending = new LinkedHashMap<>();
        synchronized (toAnnounce) {
            for (var e : toAnnounce.entrySet()) if (!e.getValue().isEmpty()) pending.put(e.getKey(), e.getValue().size());
        }
        return new Status(passesDone.sum(), passesFailed.sum(), checkpoints.sum(), blocksRewritten.sum(), running, vbDone, vbTotal,
                new java.util.TreeMap<>(bases), pending);
    }

    /** The base of (vDisk, shard)'s last completed pass on this node, or 0. */
    public long base(long vdisk, int shard) { return bases.getOrDefault(key(vdisk, shard), 0L); }

    private interface Op { int start(IoCallback cb); }

    private static CompletableFuture<Integer> submit(Op op) {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = op.start((tag, s) -> f.complete(s));
        if (st != VDiskStatus.OK) f.complete(st);
        return f;
    }

    private static int await(Op op) throws IOException { return get(submit(op)); }

    private static int get(CompletableFuture<Integer> f) throws IOException {
        try {
            return f.get(OP_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("no completion within " + OP_SECONDS + " s");
        }
    }

    private static void check(int st, String what) throws IOException {
        if (st != VDiskStatus.OK) throw new IOException(what + ": " + VDiskStatus.describe(st));
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(OP_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
