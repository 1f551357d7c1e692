package io.dsf.stargate.replication;

import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Takeover in one JVM: Stargates on {@code mem:} with replica services on loopback; the owner A
 * takes writes, overwrites, write-zeroes and unmaps across many batches and OpLog segments, then
 * dies (Stargate and replica service closed); another node takes the vDisk over from the replicas
 * and every block reads back as the last acknowledged operation left it. The taken-over vDisk is
 * replicated by its new owner from its first write.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverClusterTest {
    static final long VDISK = ReplicationClusterTest.VDISK;
    static final int BLOCKS = (int) (VDISK / 4096);
    static final int ZERO_CRC;

    static {
        try (Arena a = Arena.ofConfined()) {
            ZERO_CRC = TestBatches.crc(a.allocate(4096), 0, 4096);
        }
    }

    final List<ReplicationClusterTest.Member> members = new ArrayList<>();
    @TempDir Path spill;

    Map<String, ReplicationClusterTest.Member> cluster(int n, int rf) throws Exception { return cluster(members, n, rf); }

    /** {@code n} members A, B, ... (added to {@code members}) with Stargates replicating at {@code rf}, each peer of all others. */
    static Map<String, ReplicationClusterTest.Member> cluster(List<ReplicationClusterTest.Member> members, int n, int rf) throws Exception {
        return cluster(members, n, rf, ReplicationClusterTest.OPTS);
    }

    static Map<String, ReplicationClusterTest.Member> cluster(List<ReplicationClusterTest.Member> members, int n, int rf,
                                                             io.dsf.stargate.core.StargateOptions opts) throws Exception {
        return cluster(members, n, rf, opts, ReplicaService.DrainPolicy.DEFAULT);
    }

    static Map<String, ReplicationClusterTest.Member> cluster(List<ReplicationClusterTest.Member> members, int n, int rf,
                                                             io.dsf.stargate.core.StargateOptions opts, ReplicaService.DrainPolicy drain)
            throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = new HashMap<>();
        for (int i = 0; i < n; i++) {
            ReplicationClusterTest.Member m = new ReplicationClusterTest.Member(String.valueOf((char) ('A' + i)), drain);
            members.add(m);
            byId.put(m.id, m);
        }
        for (ReplicationClusterTest.Member m : members) {
            List<PeerAddress> peers = new ArrayList<>();
            for (ReplicationClusterTest.Member p : members) if (p != m) peers.add(p.address());
            m.replication = new Replication(m.id, m.transport, peers, Replication.Options.rf(rf));
            m.stargate = Stargate.open(m.dev, m.store, opts, m.replication);
            m.replication.catalog(Takeover.catalog(m.stargate, m.id));
        }
        return byId;
    }

    @AfterEach
    void down() { down(members); }

    static void down(List<ReplicationClusterTest.Member> members) {
        for (ReplicationClusterTest.Member m : members) if (m.stargate != null) m.stargate.close();
        for (ReplicationClusterTest.Member m : members) {
            m.svc.close();
            m.transport.close();
            m.store.close();
            m.dev.close();
        }
    }

    /** Sources for a takeover on {@code on}: every member's replica service (the owner's included: it must be dead). */
    List<PeerAddress> sources() { return sources(members); }

    static List<PeerAddress> sources(List<ReplicationClusterTest.Member> members) {
        List<PeerAddress> l = new ArrayList<>();
        for (ReplicationClusterTest.Member m : members) l.add(m.address());
        return l;
    }

    /**
     * Rounds of up to 8 concurrent operations on disjoint ranges (writes 1-16 blocks, write-zeroes
     * and unmaps 1-300 blocks, most in the first 8 MiB so blocks are overwritten many times); the
     * model (block -> CRC32C of its content) follows every acknowledged operation. Returns it.
     */
    static int[] workload(VDisk d, int rounds, long seed) throws Exception {
        int[] model = new int[BLOCKS];
        java.util.Arrays.fill(model, ZERO_CRC);
        workload(d, model, rounds, seed, () -> false);
        return model;
    }

    /** The same on an existing model, stopping early once {@code stop} says so (checked between rounds). */
    static void workload(VDisk d, int[] model, int rounds, long seed, java.util.function.BooleanSupplier stop) throws Exception {
        Random r = new Random(seed);
        try (Arena a = Arena.ofShared()) {
            MemorySegment[] bufs = new MemorySegment[8];
            for (int i = 0; i < 8; i++) bufs[i] = a.allocate(16 * 4096L, 4096);
            for (int round = 0; round < rounds && !stop.getAsBoolean(); round++) {
                int ops = 1 + r.nextInt(8);
                boolean[] taken = new boolean[BLOCKS];
                CountDownLatch done = new CountDownLatch(ops);
                AtomicInteger bad = new AtomicInteger();
                List<Runnable> apply = new ArrayList<>();
                for (int o = 0; o < ops; o++) {
                    int kind = r.nextInt(100);
                    int n = kind < 70 ? 1 + r.nextInt(16) : 1 + r.nextInt(300);
                    int span = r.nextInt(10) < 8 ? 2048 : BLOCKS;
                    int first = r.nextInt(span - n);
                    boolean clash = false;
                    for (int b = first; b < first + n; b++) clash |= taken[b];
                    if (clash) {
                        done.countDown();
                        continue;
                    }
                    for (int b = first; b < first + n; b++) taken[b] = true;
                    if (kind < 70) {
                        MemorySegment buf = bufs[o];
                        for (long k = 0; k < n * 4096L; k += 8) buf.set(ValueLayout.JAVA_LONG, k, r.nextLong());
                        int[] crcs = new int[n];
                        for (int b = 0; b < n; b++) crcs[b] = TestBatches.crc(buf, b * 4096L, 4096);
                        apply.add(() -> System.arraycopy(crcs, 0, model, first, n));
                        assertEquals(VDiskStatus.OK, d.write(first * 4096L, buf, n * 4096, o, (t, st) -> {
                            if (st != VDiskStatus.OK) bad.incrementAndGet();
                            done.countDown();
                        }));
                    } else {
                        apply.add(() -> java.util.Arrays.fill(model, first, first + n, ZERO_CRC));
                        int st = kind < 85 ? d.writeZeroes(first * 4096L, n * 4096L, o, (t, s) -> {
                            if (s != VDiskStatus.OK) bad.incrementAndGet();
                            done.countDown();
                        }) : d.unmap(first * 4096L, n * 4096L, o, (t, s) -> {
                            if (s != VDiskStatus.OK) bad.incrementAndGet();
                            done.countDown();
                        });
                        assertEquals(VDiskStatus.OK, st);
                    }
                }
                assertTrue(done.await(30, TimeUnit.SECONDS), "round " + round + " did not complete");
                assertEquals(0, bad.get(), "round " + round + ": an operation failed");
                for (Runnable x : apply) x.run();
            }
        }
    }

    /** Reads the whole vDisk and compares every block with the model. */
    static void readBack(VDisk d, int[] model) throws Exception {
        try (Arena a = Arena.ofShared()) {
            MemorySegment buf = a.allocate(1 << 20, 4096);
            for (long off = 0; off < VDISK; off += 1 << 20) {
                CountDownLatch done = new CountDownLatch(1);
                AtomicInteger status = new AtomicInteger();
                assertEquals(VDiskStatus.OK, d.read(off, buf, 1 << 20, 0, (t, st) -> {
                    status.set(st);
                    done.countDown();
                }));
                assertTrue(done.await(30, TimeUnit.SECONDS));
                assertEquals(VDiskStatus.OK, status.get());
                for (int b = 0; b < 256; b++) {
                    int block = (int) (off / 4096) + b;
                    assertEquals(model[block], TestBatches.crc(buf, b * 4096L, 4096), "block " + block);
                }
            }
        }
    }

    static void kill(ReplicationClusterTest.Member m) {
        m.stargate.close();
        m.stargate = null;
        m.svc.close();
    }

    void takesOverEveryAcknowledgedWrite(int nodes, int rf) throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(nodes, rf);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B");
        VDisk d = a.stargate.create("d0", VDISK, 2);
        int[] model = workload(d, 150, 11 + rf);
        assertTrue(a.replication.batchesAcked() > 100, "many batches: " + a.replication.batchesAcked());
        long segments = members.stream().filter(m -> m != a).flatMap(m -> m.svc.list().stream()).mapToLong(s -> 1).sum();
        assertTrue(segments >= 4 * (rf - 1), "several OpLog segments replicated: " + segments);
        kill(a);

        long ackedBefore = b.replication.batchesAcked();
        Takeover.Progress p = new Takeover.Progress("A", "d0");
        Takeover.Result res = Takeover.run(b.stargate, b.transport, "A", "d0", sources(), rf, spill, p);
        assertEquals("done", p.phase());
        assertEquals(p.blocksTotal(), p.blocksDone());
        assertEquals(res.dataBlocks() + res.zeroBlocks(), p.blocksTotal());
        assertTrue(res.zeroBlocks() > 0 && res.dataBlocks() > 0, res.toString());
        if (rf == 3) assertTrue(res.duplicates() > 0, "RF3: every batch is on two surviving replicas");
        assertEquals(List.of(), res.unreachable(), "the dead owner is not counted: it holds no copy of its own vDisk");
        VDisk t = b.stargate.vdisk("d0");
        assertNotNull(t);
        assertEquals(VDISK, t.size());
        readBack(t, model);
        // re-protected: the new owner's writes went to its peers with its own metadata
        assertTrue(b.replication.batchesAcked() > ackedBefore, "the takeover's writes were replicated");
        assertEquals(0, b.replication.batchesFailed());
        long holders = members.stream().filter(m -> m != a && m != b)
                .filter(m -> m.svc.vdisks().stream().anyMatch(v -> v.owner().equals("B") && v.name().equals("d0"))).count();
        assertEquals(rf - 1, Math.min(holders, rf - 1), "B's peers know the taken-over vDisk");
        // a second takeover of the same name is refused: it exists
        Takeover.TakeoverException ex = assertThrows(Takeover.TakeoverException.class,
                () -> Takeover.run(b.stargate, b.transport, "A", "d0", sources(), rf, spill, new Takeover.Progress("A", "d0")));
        assertTrue(ex.getMessage().contains("already exists"), ex.getMessage());
    }

    @Test
    void rf2TakeoverOnThreeNodesReturnsEveryAcknowledgedWrite() throws Exception {
        takesOverEveryAcknowledgedWrite(3, 2);
    }

    /** RF3 needs a fourth node so that the taken-over vDisk can be written at RF3 with the owner gone. */
    @Test
    void rf3TakeoverOnFourNodesReturnsEveryAcknowledgedWrite() throws Exception {
        takesOverEveryAcknowledgedWrite(4, 3);
    }

    @Test
    void refusesWhileTheOwnerAnswersAndWhenAReplicaIsMissing() throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(3, 2);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B"), c = byId.get("C");
        workload(a.stargate.create("d0", VDISK, 2), 60, 5);
        // the owner's replica service still answers: refused
        Takeover.Progress p = new Takeover.Progress("A", "d0");
        var e1 = assertThrows(Takeover.TakeoverException.class, () -> Takeover.run(b.stargate, b.transport, "A", "d0", sources(), 2, spill, p));
        assertTrue(e1.getMessage().contains("alive"), e1.getMessage());
        assertEquals("failed", p.phase());
        kill(a);
        // an unknown vDisk
        var e2 = assertThrows(Takeover.TakeoverException.class,
                () -> Takeover.run(b.stargate, b.transport, "A", "nope", sources(), 2, spill, new Takeover.Progress("A", "nope")));
        assertTrue(e2.getMessage().contains("no reachable node holds"), e2.getMessage());
        // a peer unreachable with RF2: it may hold the only copy
        c.svc.close();
        var e3 = assertThrows(Takeover.TakeoverException.class,
                () -> Takeover.run(b.stargate, b.transport, "A", "d0", sources(), 2, spill, new Takeover.Progress("A", "d0")));
        assertTrue(e3.getMessage().contains("unreachable"), e3.getMessage());
        assertNull(b.stargate.vdisk("d0"), "nothing created");
    }

    @Test
    void aHoleInTheSequenceIsReportedNotServed() throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = cluster(3, 2);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B");
        workload(a.stargate.create("d0", VDISK, 2), 150, 6);
        kill(a);
        // lose the first replica segment of shard 0 wherever it is
        boolean dropped = false;
        for (ReplicationClusterTest.Member m : members) {
            if (m == a) continue;
            for (ReplicaSegment s : m.svc.list()) {
                if (s.owner().equals("A") && s.shard() == 0 && s.segment() == 0) {
                    m.store.delete(s.object());
                    dropped = true;
                }
            }
        }
        assertTrue(dropped);
        var e = assertThrows(Takeover.TakeoverException.class,
                () -> Takeover.run(b.stargate, b.transport, "A", "d0", sources(), 2, spill, new Takeover.Progress("A", "d0")));
        assertTrue(e.getMessage().contains("shard 0: sequence 1"), e.getMessage());
        assertNull(b.stargate.vdisk("d0"), "nothing created");
    }

    /**
     * Takeover from replicas that drained most of their history into their images (a 256 KiB drain
     * threshold, so drains run while batches arrive), one stream split over two replicas by a failover
     * (shard 0's peer stops midway and comes back on the same store and port): every block reads back
     * from the new owner as the model says, and without the covered ranges the hole check would refuse.
     */
    @Test
    void takeoverFromDrainedReplicasWithAStreamSplitByAFailover() throws Exception {
        ReplicaService.DrainPolicy drain = new ReplicaService.DrainPolicy(256L << 10, 0);
        Map<String, ReplicationClusterTest.Member> byId = cluster(members, 4, 2, ReplicationClusterTest.OPTS, drain);
        ReplicationClusterTest.Member a = byId.get("A");
        VDisk d = a.stargate.create("d0", VDISK, 2);
        long vd = ((io.dsf.stargate.core.VDiskController) d).id();
        int[] model = workload(d, 80, 31);
        String first = a.replication.shards().stream().filter(s -> s.vdisk() == vd && s.shard() == 0).findFirst().orElseThrow().peers().get(0);
        ReplicationClusterTest.Member victim = byId.get(first);
        int port = victim.svc.address().getPort();
        victim.svc.close(); // shard 0's peer stops: its batches go to another peer from now on
        workload(d, model, 80, 32, () -> false);
        String second = a.replication.shards().stream().filter(s -> s.vdisk() == vd && s.shard() == 0).findFirst().orElseThrow().peers().get(0);
        assertNotEquals(first, second, "shard 0 failed over");
        victim.svc = ReplicaService.start(victim.transport, victim.dev, victim.store, new java.net.InetSocketAddress("127.0.0.1", port), 16, drain);
        workload(d, model, 20, 33, () -> false);
        long drainedSegments = 0, images = 0;
        for (ReplicationClusterTest.Member m : members) {
            if (m == a) continue;
            assertEquals(0, m.svc.drainNow(60, TimeUnit.SECONDS), m.id + ": drains");
            assertEquals(List.of(), m.svc.list(), m.id + ": every segment drained");
            drainedSegments += m.svc.segmentsDrained();
            for (ReplicaService.StreamStatus st : m.svc.streams()) if (st.owner().equals("A")) images += st.imageBlocks();
        }
        assertTrue(drainedSegments > 0 && images > 0, "drained " + drainedSegments + " segments into " + images + " image blocks");
        // shard 0's stream lies on both: each covers some sequences, neither all
        long[] r1 = ranges(byId.get(first), vd, 0), r2 = ranges(byId.get(second), vd, 0);
        assertTrue(r1.length > 0 && r2.length > 0, "both hold part of shard 0: " + java.util.Arrays.toString(r1) + " / " + java.util.Arrays.toString(r2));
        assertEquals(1, r1[0], "the first peer has the start of the stream");
        assertTrue(r2[0] > 1, "the replacement came in later: " + java.util.Arrays.toString(r2));
        kill(a);

        ReplicationClusterTest.Member b = byId.get("B");
        Takeover.Result res = Takeover.run(b.stargate, b.transport, "A", "d0", sources(), 2, spill, new Takeover.Progress("A", "d0"));
        assertTrue(res.dataBlocks() > 0 && res.zeroBlocks() > 0, res.toString());
        readBack(b.stargate.vdisk("d0"), model);
    }

    static long[] ranges(ReplicationClusterTest.Member m, long vd, int shard) {
        for (ReplicaService.StreamStatus st : m.svc.streams())
            if (st.owner().equals("A") && st.vdisk() == vd && st.shard() == shard) return st.drainedRanges();
        return new long[0];
    }
}
