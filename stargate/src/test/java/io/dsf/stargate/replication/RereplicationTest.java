package io.dsf.stargate.replication;

import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Re-replication in one JVM: three Stargates on {@code mem:} at RF2; the owner A writes, replica B
 * dies, A keeps writing (no write fails: C takes over as the peer), and after the grace period A's
 * re-replication passes write each shard's live data again so that C alone holds every block's
 * newest data at or above the shard's base. Judged by what C's replica service stores, block by
 * block against a model of every acknowledged write.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RereplicationTest {
    static final long VDISK = ReplicationClusterTest.VDISK;
    static final int BLOCKS = (int) (VDISK / 4096);

    final List<ReplicationClusterTest.Member> members = new ArrayList<>();
    Rereplicator rr;

    Map<String, ReplicationClusterTest.Member> cluster(int n, int rf) throws Exception {
        return TakeoverClusterTest.cluster(members, n, rf);
    }

    /** Opens the owner's Stargate again on its store, replicating to {@code peers} anew (a restart of the owner). */
    static void reopen(ReplicationClusterTest.Member a, List<PeerAddress> peers) {
        a.replication = new Replication(a.id, a.transport, peers, Replication.Options.rf(2));
        a.stargate = Stargate.open(a.dev, a.store, ReplicationClusterTest.OPTS, a.replication);
        a.replication.catalog(Takeover.catalog(a.stargate, a.id));
    }

    @AfterEach
    void down() {
        if (rr != null) rr.close();
        TakeoverClusterTest.down(members);
    }

    static void workload(VDisk d, int[] model, int rounds, long seed) throws Exception {
        TakeoverClusterTest.workload(d, model, rounds, seed, () -> false);
    }

    static void workload(VDisk d, int[] model, int rounds, long seed, java.util.function.BooleanSupplier stop) throws Exception {
        TakeoverClusterTest.workload(d, model, rounds, seed, stop);
    }

    static int[] zeroModel() {
        int[] m = new int[BLOCKS];
        java.util.Arrays.fill(m, TakeoverClusterTest.ZERO_CRC);
        return m;
    }

    /** An entry of a replica's history: its sequence and the CRC32C of its data (or of zeros). */
    record Entry(long seq, int crc) {}

    /**
     * Per block, the newest entry with a sequence at least its shard's base among what {@code m}'s
     * replica service stores for {@code owner}'s vDisk {@code vdisk} (batches verified).
     */
    static Map<Integer, Entry> newestOn(ReplicationClusterTest.Member m, String owner, long vdisk, long[] base) {
        return newestOn(m, owner, vdisk, base, -1).stream().collect(java.util.stream.Collectors.toMap(x -> x.block, x -> x.e, (x, y) -> x.seq() > y.seq() ? x : y));
    }

    record Found(int block, Entry e, long segment) {}

    /** Every entry at or above base (of {@code only} alone when not -1). */
    static List<Found> newestOn(ReplicationClusterTest.Member m, String owner, long vdisk, long[] base, int only) {
        List<Found> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(OpLogBatchView.MAX_BATCH, 4096);
            for (ReplicaSegment s : m.svc.list()) {
                if (!s.owner().equals(owner) || s.vdisk() != vdisk) continue;
                for (ReplicaBatch b : m.svc.batches(s)) {
                    m.svc.read(s, b.offset(), buf, b.bytes());
                    assertEquals(OpLogBatchView.OK, OpLogBatchView.verify(buf, buf.asByteBuffer(), 0, b.bytes(), new java.util.zip.CRC32C()));
                    int slice = 1;
                    for (int i = 0; i < OpLogBatchView.count(buf, 0); i++) {
                        long seq = OpLogBatchView.seq(buf, 0, i), first = OpLogBatchView.block(buf, 0, i);
                        int n = OpLogBatchView.blocks(buf, 0, i);
                        boolean zero = (OpLogBatchView.flags(buf, 0, i) & OpLogBatchView.FLAG_ZERO) != 0;
                        for (int k = 0; k < n; k++) {
                            int block = (int) (first + k);
                            if (seq < base[s.shard()]) continue;
                            if (only != -1 && block != only) continue;
                            int crc = zero ? TakeoverClusterTest.ZERO_CRC : TestBatches.crc(buf, (long) (slice + k) * 4096, 4096);
                            out.add(new Found(block, new Entry(seq, crc), s.segment()));
                        }
                        if (!zero) slice += n;
                    }
                }
            }
        }
        return out;
    }

    /** Every block's model value is the newest entry at or above base on {@code m}, or the block is zero and has none. */
    static void assertHoldsEverything(ReplicationClusterTest.Member m, String owner, long vdisk, long[] base, int[] model) {
        Map<Integer, Entry> newest = newestOn(m, owner, vdisk, base);
        int data = 0;
        for (int b = 0; b < BLOCKS; b++) {
            Entry e = newest.get(b);
            if (e == null) assertEquals(TakeoverClusterTest.ZERO_CRC, model[b], "block " + b + " has data but no entry at or above its base on " + m.id);
            else {
                if (model[b] != e.crc()) fail("block " + b + ": newest entry on " + m.id + " (seq " + e.seq() + ", base " + java.util.Arrays.toString(base)
                        + ") is not the last acknowledged data (model " + model[b] + ", entry " + e.crc() + ", zero " + TakeoverClusterTest.ZERO_CRC
                        + "); every entry of the block on " + m.id + ": " + newestOn(m, owner, vdisk, new long[base.length], b));
                if (model[b] != TakeoverClusterTest.ZERO_CRC) data++;
            }
        }
        assertTrue(data > 100, "the workload left data: " + data + " blocks");
    }

    static void await(String what, java.util.function.BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void aDeadReplicasDataIsWrittenAgainToTheLivePeerAndTheBaseAnnounced() throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(3, 2);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B"), c = byId.get("C");
        ConcurrentLinkedQueue<String> announced = new ConcurrentLinkedQueue<>();
        AtomicInteger refused = new AtomicInteger();
        rr = new Rereplicator(a.stargate, a.replication, (peer, vd, shard, base) -> {
            if (peer.id().equals("B")) {
                refused.incrementAndGet();
                throw new IOException("B is down");
            }
            announced.add(peer.id() + ":" + vd + "/" + shard + "@" + base);
        }, TimeUnit.MILLISECONDS.toNanos(300)).start();
        VDisk d = a.stargate.create("d0", VDISK, 2);
        long id = a.stargate.controller("d0").id();
        int[] model = zeroModel();
        workload(d, model, 80, 1);
        assertEquals(0, rr.status().passesDone(), "no pass while every peer is up");
        boolean[] onB = new boolean[2];
        for (ReplicaSegment s : b.svc.list()) if (s.owner().equals("A")) onB[s.shard()] = true;
        assertTrue(onB[0] || onB[1], "B held some of A's history");

        TakeoverClusterTest.kill(b);
        // writes go on while the passes run (none fails: C takes B's place), until the passes are done
        int expected = (onB[0] ? 1 : 0) + (onB[1] ? 1 : 0);
        java.util.concurrent.atomic.AtomicBoolean passesDone = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.CompletableFuture<Void> writer = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                workload(d, model, 100_000, 2, passesDone::get);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        try {
            await("a pass on each shard B held history of", () -> writer.isDone()
                    || rr.status().passesDone() >= expected && a.replication.passesNeeded(0).isEmpty());
        } finally {
            passesDone.set(true);
        }
        writer.get(60, TimeUnit.SECONDS);
        workload(d, model, 40, 3); // history after the base

        Rereplicator.Status st = rr.status();
        long[] base = {rr.base(id, 0), rr.base(id, 1)};
        for (int s = 0; s < 2; s++) assertEquals(onB[s], base[s] > 1, "shard " + s + " re-replicated iff B held its history: " + st.bases());
        assertEquals(expected, st.passesDone(), "one pass per shard: " + st);
        assertTrue(st.blocksRewritten() > 100, "the passes wrote the live data again: " + st);
        assertEquals(0, a.replication.batchesFailed(), "no batch failed");
        assertHoldsEverything(c, "A", id, base, model);
        System.out.println("re-replication: " + st + "; " + a.stargate.controller("d0").counters());
        // the base is announced to every peer: C now, B still pending (it is down)
        for (int s = 0; s < 2; s++) {
            String k = "C:" + id + "/" + s + "@" + base[s];
            if (onB[s]) await("announcement " + k, () -> announced.contains(k));
        }
        await("B retried", () -> refused.get() > 0);
        assertEquals(expected, rr.status().announcementsPending().get("B"), "B's announcements wait for it");
    }

    /**
     * The same with the real announcer: B comes back and, told the bases, deletes its copies of A's
     * history (all below them: over-replicated); then B is lost for good and A dies, and a takeover
     * on C with B declared lost returns every acknowledged block: C alone carries RF's second copy.
     */
    @Test
    void theReturningReplicaDropsItsCopiesAndTheSurvivorAloneServesATakeover(@org.junit.jupiter.api.io.TempDir java.nio.file.Path spill)
            throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(4, 2); // D: C's peer once C owns the vDisk
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B"), c = byId.get("C"), dd = byId.get("D");
        BaseClient client = new BaseClient(a.transport, "A", TimeUnit.SECONDS.toNanos(5));
        rr = new Rereplicator(a.stargate, a.replication, client, TimeUnit.MILLISECONDS.toNanos(200)).start();
        VDisk d = a.stargate.create("d0", VDISK, 2);
        long id = a.stargate.controller("d0").id();
        int[] model = zeroModel();
        workload(d, model, 80, 4);
        int port = b.svc.address().getPort();
        long bHeld = b.svc.list().stream().filter(s -> s.owner().equals("A")).count();
        assertTrue(bHeld > 0, "B held some of A's history");
        TakeoverClusterTest.kill(b);
        workload(d, model, 60, 5);
        await("re-replication", () -> rr.status().passesDone() >= 1 && a.replication.passesNeeded(0).isEmpty());
        workload(d, model, 20, 6);

        ReplicaService back = ReplicaService.start(b.transport, b.dev, b.store, new java.net.InetSocketAddress("127.0.0.1", port), 16);
        try {
            await("B told the bases", () -> !rr.status().announcementsPending().containsKey("B"));
            assertEquals(List.of(), back.list().stream().filter(s -> s.owner().equals("A")).toList(),
                    "B deleted its copies of A's history: all of it is below the bases");
            assertTrue(back.basesApplied() >= 1 && back.segmentsBelowBase() >= bHeld, "bases " + back.bases());
        } finally {
            back.close();
        }
        rr.close();
        rr = null;
        client.close();
        TakeoverClusterTest.kill(a);
        Takeover.Result res = Takeover.run(c.stargate, c.transport, "A", "d0", List.of(a.address(), c.address(), b.address(), dd.address()), 2,
                java.util.Set.of("B"), spill, new Takeover.Progress("A", "d0"));
        assertEquals(List.of("B"), res.lost());
        assertEquals(List.of(), res.unreachable());
        TakeoverClusterTest.readBack(c.stargate.vdisk("d0"), model);
    }

    /**
     * Checkpoints bound what replicas keep: the owner overwrites 2 MiB of a vDisk 48 times over (96 MiB
     * of history) with every peer up; each shard whose history outgrows twice its live data (and 4
     * MiB) gets a pass, whose base lets the replicas delete the older history. They end up holding a
     * fraction of what was written, and a takeover from them still returns every block.
     */
    @Test
    void checkpointPassesBoundTheReplicasHistory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path spill) throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(4, 2);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B");
        BaseClient client = new BaseClient(a.transport, "A", TimeUnit.SECONDS.toNanos(5));
        rr = new Rereplicator(a.stargate, a.replication, client, TimeUnit.SECONDS.toNanos(30), 2, 4L << 20).start();
        VDisk d = a.stargate.create("d0", VDISK, 2);
        long id = a.stargate.controller("d0").id();
        int[] model = zeroModel();
        java.util.Random r = new java.util.Random(9);
        long written = 0;
        try (Arena ar = Arena.ofShared()) {
            MemorySegment buf = ar.allocate(256 << 10, 4096);
            for (int i = 0; i < 384; i++) {
                long off = (long) r.nextInt(8) * (256 << 10);
                for (long k = 0; k < buf.byteSize(); k += 8) buf.set(java.lang.foreign.ValueLayout.JAVA_LONG, k, r.nextLong());
                java.util.concurrent.CompletableFuture<Integer> f = new java.util.concurrent.CompletableFuture<>();
                assertEquals(VDiskStatus.OK, d.write(off, buf, (int) buf.byteSize(), i, (t, s) -> f.complete(s)));
                assertEquals(VDiskStatus.OK, (int) f.get(30, TimeUnit.SECONDS), "write " + i);
                for (int k = 0; k < 64; k++) model[(int) (off / 4096) + k] = TestBatches.crc(buf, k * 4096L, 4096);
                written += buf.byteSize();
            }
        }
        await("checkpoints done and announced", () -> rr.status().checkpoints() >= 2 && rr.status().running() == null
                && rr.status().announcementsPending().isEmpty() && a.replication.passesNeeded(0, 2, 4L << 20).isEmpty());
        Rereplicator.Status st = rr.status();
        assertEquals(st.checkpoints(), st.passesDone(), "every pass was a checkpoint (no peer failed): " + st);
        long held = 0;
        for (ReplicationClusterTest.Member m : members)
            for (ReplicaSegment s : m.svc.list()) if (s.owner().equals("A") && s.vdisk() == id) held += s.bytes();
        System.out.println("checkpoints: " + st + "; held for A: " + (held >> 20) + " MiB of " + (written >> 20) + " MiB written");
        assertTrue(held < written / 3, "replicas hold " + (held >> 20) + " MiB of A's history, " + (written >> 20) + " MiB written: " + st);
        rr.close();
        rr = null;
        client.close();
        TakeoverClusterTest.kill(a);
        Takeover.run(b.stargate, b.transport, "A", "d0", TakeoverClusterTest.sources(members), 2, spill, new Takeover.Progress("A", "d0"));
        TakeoverClusterTest.readBack(b.stargate.vdisk("d0"), model);
    }

    /**
     * The owner restarts while a replica is down, and nothing is written after: no shard would ever
     * try the dead peer. Each shard recorded in its store which peers hold its history; the
     * re-replication thread asks every peer once at start, the dead one's failure reaches the shards
     * that left history on it (and only those), and their passes make C hold every block's newest
     * data at or above the bases.
     */
    @Test
    void anOwnerRestartedWhileAReplicaIsDownStillRestoresRf() throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(3, 2);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B"), c = byId.get("C");
        VDisk d = a.stargate.create("d0", VDISK, 2);
        long id = a.stargate.controller("d0").id();
        int[] model = zeroModel();
        workload(d, model, 80, 7);
        boolean[] onB = new boolean[2];
        for (ReplicaSegment s : b.svc.list()) if (s.owner().equals("A")) onB[s.shard()] = true;
        assertTrue(onB[0] || onB[1], "B held some of A's history");
        int expected = (onB[0] ? 1 : 0) + (onB[1] ? 1 : 0);
        List<PeerAddress> peers = a.replication.peers();
        a.stargate.close();
        a.stargate = null;
        TakeoverClusterTest.kill(b);

        reopen(a, peers);
        BaseClient client = new BaseClient(a.transport, "A", TimeUnit.SECONDS.toNanos(2));
        rr = new Rereplicator(a.stargate, a.replication, client, TimeUnit.MILLISECONDS.toNanos(200)).start();
        try {
            await("passes after the restart", () -> rr.status().passesDone() >= expected && a.replication.passesNeeded(0).isEmpty()
                    && rr.status().running() == null);
            // each shard recorded where its history went: only those that left some on B write it again
            assertEquals(expected, rr.status().passesDone(), "passes: " + rr.status() + ", B held shards " + java.util.Arrays.toString(onB));
            long[] base = {rr.base(id, 0), rr.base(id, 1)};
            assertHoldsEverything(c, "A", id, base, model);
            TakeoverClusterTest.readBack(a.stargate.vdisk("d0"), model);
        } finally {
            rr.close();
            rr = null;
            client.close();
        }
    }

    /**
     * A base not yet announced to a down peer survives an owner restart: B dies, A's pass completes
     * (B still to be told), A restarts, then B comes back; the new re-replication thread reads the
     * shards' records and tells B, which deletes its copies of A's history.
     */
    @Test
    void basesStillToAnnounceSurviveAnOwnerRestart() throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(3, 2);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B");
        BaseClient client = new BaseClient(a.transport, "A", TimeUnit.SECONDS.toNanos(2));
        rr = new Rereplicator(a.stargate, a.replication, client, TimeUnit.MILLISECONDS.toNanos(200)).start();
        VDisk d = a.stargate.create("d0", VDISK, 2);
        int[] model = zeroModel();
        workload(d, model, 80, 11);
        int port = b.svc.address().getPort();
        long bHeld = b.svc.list().stream().filter(s -> s.owner().equals("A")).count();
        assertTrue(bHeld > 0, "B held some of A's history");
        TakeoverClusterTest.kill(b);
        workload(d, model, 40, 12);
        await("passes, B still to be told", () -> rr.status().passesDone() >= 1 && a.replication.passesNeeded(0).isEmpty()
                && rr.status().running() == null && rr.status().announcementsPending().containsKey("B"));
        rr.close();
        rr = null;
        client.close();
        List<PeerAddress> peers = a.replication.peers();
        a.stargate.close();

        reopen(a, peers);
        BaseClient client2 = new BaseClient(a.transport, "A", TimeUnit.SECONDS.toNanos(2));
        rr = new Rereplicator(a.stargate, a.replication, client2, TimeUnit.SECONDS.toNanos(600)).start();
        try {
            await("the restored announcements", () -> rr.status().announcementsPending().containsKey("B"));
            ReplicaService back = ReplicaService.start(b.transport, b.dev, b.store, new java.net.InetSocketAddress("127.0.0.1", port), 16);
            try {
                await("B told after the restart", () -> !rr.status().announcementsPending().containsKey("B"));
                assertEquals(List.of(), back.list().stream().filter(s -> s.owner().equals("A")).toList(),
                        "B deleted its copies of A's history");
            } finally {
                back.close();
            }
            TakeoverClusterTest.readBack(a.stargate.vdisk("d0"), model);
        } finally {
            rr.close();
            rr = null;
            client2.close();
        }
    }
}
