package io.dsf.stargate.replication;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.dsf.stargate.replication.ReplicationDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Base (wire v4 {@code BASE}): a replica records it durably and deletes exactly its segments of
 * that shard wholly below it; pulls carry it; takeover ignores history below it (a hole there is
 * accepted, one above it refused), nodes declared lost are not needed, and read repair works from
 * the base on. Real replica services over the {@code tcp} transport on loopback, {@code mem:}
 * stores, hand-made OpLog batches (and a real replicating Stargate for read repair).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicaBaseTest {
    static final long SEG = 4L << 20, VDISK = 64L << 20, VD = 9;
    static final String OWNER = "nodeA";
    static final ReplicaVDisk META = new ReplicaVDisk(OWNER, VD, "d0", VDISK, 2, false, 0);
    static final long TIMEOUT = TimeUnit.SECONDS.toNanos(10);

    RdmaTransport transport;
    final List<AutoCloseable> open = new ArrayList<>();
    @TempDir Path spill;

    @BeforeEach
    void up() throws Exception {
        transport = Transports.open("tcp");
    }

    @AfterEach
    void down() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
        transport.close();
    }

    /** A replica node: device, store and (restartable) service. */
    final class Node implements AutoCloseable {
        final String id;
        final BlockDevice dev;
        final BlockStore store;
        ReplicaService svc;

        Node(String id) throws Exception {
            this.id = id;
            dev = BlockDevices.open("mem:64m");
            store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            start();
            open.add(this);
        }

        void start() throws Exception {
            svc = ReplicaService.start(transport, dev, store, new InetSocketAddress("127.0.0.1", 0), 8);
        }

        InetSocketAddress at() { return new InetSocketAddress("127.0.0.1", svc.address().getPort()); }

        PeerAddress address() { return new PeerAddress(id, "127.0.0.1", svc.address().getPort()); }

        TestBatches.Owner owner() throws Exception { return new TestBatches.Owner(transport, at()); }

        /** The segments held of shard {@code shard} of the test vDisk, by number. */
        List<Long> segments(int shard) {
            return svc.list().stream().filter(s -> s.owner().equals(OWNER) && s.vdisk() == VD && s.shard() == shard)
                    .map(ReplicaSegment::segment).toList();
        }

        void drop(int shard, long segment) {
            for (ReplicaSegment s : svc.list())
                if (s.owner().equals(OWNER) && s.vdisk() == VD && s.shard() == shard && s.segment() == segment) store.delete(s.object());
        }

        @Override
        public void close() {
            svc.close();
            store.close();
            dev.close();
        }
    }

    /** One hand-made batch: where it goes and what it holds; {@link #crcs} records the data blocks' CRC32Cs. */
    record B(int shard, long segment, long offset, long firstSeq, long[] blocks, boolean[] zero, int seed) {
        static B data(int shard, long segment, long offset, long firstSeq, int seed, long... blocks) {
            return new B(shard, segment, offset, firstSeq, blocks, new boolean[blocks.length], seed);
        }

        int send(TestBatches.Owner o, long batchId, Map<Long, Integer> crcs) {
            int[] n = new int[blocks.length];
            java.util.Arrays.fill(n, 1);
            int len = TestBatches.build(o.send, 77, firstSeq, blocks, n, zero, seed);
            if (crcs != null) {
                int slice = 0;
                for (int i = 0; i < blocks.length; i++) {
                    if (zero[i]) crcs.put(blocks[i], ZERO_CRC);
                    else crcs.put(blocks[i], TestBatches.crc(o.send, 4096L * (1 + slice++), 4096));
                }
            }
            o.post(o.seal(TYPE_BATCH, len, batchId, VD, shard, segment, offset, SEG, OWNER));
            return len;
        }
    }

    static final int ZERO_CRC;

    static {
        try (Arena a = Arena.ofConfined()) {
            ZERO_CRC = TestBatches.crc(a.allocate(4096), 0, 4096);
        }
    }

    /** Sends META then the batches to {@code n}, each acknowledged; the model (if any) follows them in order. */
    static void feed(Node n, Map<Long, Integer> model, B... batches) throws Exception {
        try (TestBatches.Owner o = n.owner()) {
            int len = META.encode(o.send, 0);
            o.post(o.seal(TYPE_META, len, 0, VD, 0, 0, 0, 0, OWNER));
            long id = 1;
            for (B b : batches) {
                b.send(o, id, model);
                ReplicationFrame f = o.answer();
                assertNotNull(f);
                assertEquals(TYPE_ACK, f.type(), "batch " + id + " to " + n.id);
                assertEquals(id++, f.batchId());
            }
        }
    }

    // shard 0 is vBlock 0 (blocks 0..255) and vBlock 2 (512..767); shard 1 is vBlock 1 (256..511)
    static final B S0_1 = B.data(0, 0, 0, 1, 1, 10, 11);            // seq 1, 2
    static final B S0_3 = B.data(0, 0, 3 * 4096, 3, 2, 12);         // seq 3
    static final B S0_4 = new B(0, 1, 0, 4, new long[]{10, 11}, new boolean[]{true, false}, 3); // seq 4: zeroes block 10; seq 5
    static final B S0_6 = B.data(0, 2, 0, 6, 4, 11);                // seq 6: the re-replication (S0 = 7 below) of ...
    static final B S0_7 = B.data(0, 2, 2 * 4096, 7, 5, 11, 12);     // seq 7, 8: ... blocks 11 and 12 (block 10 is zero)
    static final B S0_9 = B.data(0, 3, 0, 9, 6, 13, 520);           // seq 9, 10: new writes
    static final B S1_1 = B.data(1, 0, 0, 1, 7, 256, 257, 258);     // seq 1..3
    static final B S1_4 = B.data(1, 1, 0, 4, 8, 300);               // seq 4

    @Test
    void baseDeletesTheSegmentsWhollyBelowItKeepsTheRestAndSurvivesARestart() throws Exception {
        Node r = new Node("r1");
        feed(r, null, S0_1, S0_3, S0_4, S0_6, S0_7, S0_9, S1_1, S1_4);
        assertEquals(List.of(0L, 1L, 2L, 3L), r.segments(0));
        assertEquals(List.of(0L, 1L), r.segments(1));
        try (BaseClient c = new BaseClient(transport, OWNER, TIMEOUT)) {
            c.announce(r.address(), VD, 0, 7); // segment 2 straddles it (seq 6 and 7..8): kept
            assertEquals(List.of(2L, 3L), r.segments(0));
            assertEquals(List.of(0L, 1L), r.segments(1), "another shard is untouched");
            assertEquals(1, r.svc.basesApplied());
            assertEquals(2, r.svc.segmentsBelowBase());
            assertEquals(List.of(new ReplicaService.Base(OWNER, VD, 0, 7)), r.svc.bases());
            c.announce(r.address(), VD, 0, 5); // lower: acknowledged, a no-op
            c.announce(r.address(), VD, 0, 7); // equal: the same
            assertEquals(1, r.svc.basesApplied());
            assertEquals(List.of(new ReplicaService.Base(OWNER, VD, 0, 7)), r.svc.bases());
            assertEquals(List.of(2L, 3L), r.segments(0));
        }
        // restart over the same store: the base is still held, and still raised only by a higher one
        r.svc.close();
        r.start();
        assertEquals(List.of(new ReplicaService.Base(OWNER, VD, 0, 7)), r.svc.bases());
        assertEquals(List.of(2L, 3L), r.segments(0));
        try (BaseClient c = new BaseClient(transport, OWNER, TIMEOUT)) {
            c.announce(r.address(), VD, 0, 6);
            assertEquals(0, r.svc.basesApplied(), "below the recorded base: nothing applied after the restart");
            c.announce(r.address(), VD, 0, 9); // segment 2's newest entry is 8: deleted; segment 3 stays
            assertEquals(List.of(3L), r.segments(0));
            c.announce(r.address(), VD, 1, 5); // shard 1: every segment is below 5
            assertEquals(List.of(), r.segments(1));
            assertEquals(List.of(new ReplicaService.Base(OWNER, VD, 0, 9), new ReplicaService.Base(OWNER, VD, 1, 5)), r.svc.bases());
            assertEquals(2, r.svc.basesApplied());
            assertEquals(3, r.svc.segmentsBelowBase());
        }
    }

    /** Each malformed BASE: the connection is reset, nothing changes, and the service goes on. */
    @Test
    void aMalformedBaseResetsTheConnectionAndChangesNothing() throws Exception {
        Node r = new Node("r1");
        feed(r, null, S0_1, S0_4, S1_1);
        long[][] bad = { // base, shard, segment field
                {0, 0, 0}, {-5, 0, 0}, {7, 64, 0}, {7, -1, 0}, {7, 2, 0}, {7, 0, 3}};
        long resets = r.svc.connectionsReset();
        for (long[] b : bad) {
            try (TestBatches.Owner o = r.owner()) {
                o.post(o.seal(TYPE_BASE, 0, b[0], VD, (int) b[1], b[2], 0, 0, OWNER));
                assertNull(o.answer(), "base " + b[0] + " shard " + b[1] + " segment " + b[2] + ": reset, no answer");
            }
        }
        try (TestBatches.Owner o = r.owner()) { // a BASE with a payload is malformed at the trailer already
            o.post(o.seal(TYPE_BASE, 4096, 7, VD, 0, 0, 0, 0, OWNER));
            assertNull(o.answer());
        }
        assertEquals(resets + bad.length + 1, r.svc.connectionsReset());
        assertEquals(List.of(), r.svc.bases());
        assertEquals(0, r.svc.basesApplied());
        assertEquals(List.of(0L, 1L), r.segments(0));
        // a good one on a hand-driven connection: ACK echoing base, vDisk and shard, after which segment 0 is gone
        try (TestBatches.Owner o = r.owner()) {
            o.post(o.seal(TYPE_BASE, 0, 4, VD, 0, 0, 0, 0, OWNER));
            ReplicationFrame f = o.answer();
            assertNotNull(f);
            assertEquals(TYPE_ACK, f.type());
            assertEquals(4, f.batchId());
            assertEquals(VD, f.vdisk());
            assertEquals(0, f.shard());
            assertTrue(f.ownerEquals(OWNER.getBytes()));
        }
        assertEquals(List.of(1L), r.segments(0));
        assertEquals(List.of(0L), r.segments(1));
    }

    @Test
    void theClientFailsPromptlyOnAClosedPortNamingThePeer() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (BaseClient c = new BaseClient(transport, OWNER, TimeUnit.SECONDS.toNanos(30))) {
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> c.announce(new PeerAddress("gone", "127.0.0.1", port), VD, 0, 5));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(e.getMessage().contains("gone@127.0.0.1:" + port), e.getMessage());
            assertTrue(ms < 10_000, "refused connection reported in " + ms + " ms, well before the 30 s timeout");
            assertThrows(IllegalArgumentException.class, () -> c.announce(new PeerAddress("gone", "127.0.0.1", port), VD, 0, 0));
        }
    }

    @Test
    void aPullCarriesTheBasesFirstSkipsBatchesBelowThemAndReportsABaseRaisedMidway() throws Exception {
        Node r = new Node("r1");
        feed(r, null, S0_1, S0_3, S0_4, S0_6, S0_7, S0_9, S1_1, S1_4);
        try (BaseClient c = new BaseClient(transport, OWNER, TIMEOUT)) {
            c.announce(r.address(), VD, 0, 7);
            try (ReplicaPuller p = new ReplicaPuller(transport, "r1", r.at(), TIMEOUT)) {
                assertEquals(VD, p.start(OWNER, "d0").id());
                assertEquals(ReplicaPuller.BASE, p.next());
                assertEquals(0, p.shard());
                assertEquals(7, p.base());
                List<Long> firstSeqs = new ArrayList<>();
                int r1;
                assertTrue((r1 = p.next()) > 0); // the first batch of shard 0 at or above the base
                firstSeqs.add(OpLogBatchView.seq(p.batch(), 0, 0));
                c.announce(r.address(), VD, 1, 4); // raised while the pull runs: reported before the next batch
                assertEquals(ReplicaPuller.BASE, p.next());
                assertEquals(1, p.shard());
                assertEquals(4, p.base());
                for (int x; (x = p.next()) != ReplicaPuller.END; ) {
                    assertTrue(x > 0, "no more bases");
                    firstSeqs.add(p.shard() * 1000L + OpLogBatchView.seq(p.batch(), 0, 0));
                }
                // shard 0: seq 6's batch is below the base and left out; shard 1: only seq 4 (segment 0 was deleted meanwhile)
                assertEquals(List.of(7L, 9L, 1004L), firstSeqs);
            }
        }
    }

    /** The target of a takeover: a Stargate without replication on its own {@code mem:} store. */
    Stargate target() throws Exception {
        BlockDevice dev = BlockDevices.open("mem:192m");
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, ReplicationClusterTest.OPTS);
        open.add(() -> {
            sg.close();
            store.close();
            dev.close();
        });
        return sg;
    }

    static void checkBlocks(VDisk d, Map<Long, Integer> model) throws Exception {
        try (Arena a = Arena.ofShared()) {
            MemorySegment buf = a.allocate(1 << 20, 4096);
            for (long off = 0; off < 4L << 20; off += 1 << 20) { // blocks 0..1023: every block the batches touch
                CountDownLatch done = new CountDownLatch(1);
                AtomicInteger st = new AtomicInteger();
                assertEquals(VDiskStatus.OK, d.read(off, buf, 1 << 20, 0, (t, s) -> {
                    st.set(s);
                    done.countDown();
                }));
                assertTrue(done.await(30, TimeUnit.SECONDS));
                assertEquals(VDiskStatus.OK, st.get());
                for (int b = 0; b < 256; b++) {
                    long block = off / 4096 + b;
                    assertEquals(model.getOrDefault(block, ZERO_CRC), TestBatches.crc(buf, b * 4096L, 4096), "block " + block);
                }
            }
        }
    }

    /**
     * Owner A's shard 0 was re-replicated with S0 = 7 (seq 7..8 rewrite blocks 11 and 12; block 10,
     * zeroed at seq 4, is zero), then took new writes (seq 9..10). r1 held everything and applied
     * base 7 (segments 0 and 1 gone); r2 died early and holds only segment 0 (its seq 1 still says
     * block 10 has data); r3 was the re-replication target. Shard 1 has no base.
     */
    Node[] history(Map<Long, Integer> model) throws Exception {
        Node r1 = new Node("r1"), r2 = new Node("r2"), r3 = new Node("r3");
        Map<Long, Integer> m = new HashMap<>();
        feed(r1, m, S0_1, S0_3, S0_4, S0_6, S0_7, S0_9, S1_1, S1_4);
        feed(r2, null, S0_1, S0_3, S1_1);
        feed(r3, null, S0_7, S0_9, S1_4);
        try (BaseClient c = new BaseClient(transport, OWNER, TIMEOUT)) {
            c.announce(r1.address(), VD, 0, 7);
            c.announce(r3.address(), VD, 0, 7);
        }
        assertEquals(List.of(2L, 3L), r1.segments(0));
        assertEquals(List.of(0L), r2.segments(0), "r2 never heard of the base");
        model.putAll(m);
        model.put(10L, ZERO_CRC);
        return new Node[]{r1, r2, r3};
    }

    @Test
    void takeoverIgnoresHistoryBelowTheBaseAndServesEveryBlock() throws Exception {
        Map<Long, Integer> model = new HashMap<>();
        Node[] n = history(model);
        Stargate sg = target();
        Takeover.Progress p = new Takeover.Progress(OWNER, "d0");
        List<PeerAddress> sources = List.of(new PeerAddress(OWNER, "127.0.0.1", 1), n[0].address(), n[1].address(), n[2].address());
        Takeover.Result res = Takeover.run(sg, transport, OWNER, "d0", sources, 2, spill, p);
        assertEquals("done", p.phase());
        assertArrayEquals(new long[]{7, 0}, res.bases());
        assertArrayEquals(new long[]{10, 4}, res.lastSeq());
        assertEquals(List.of(), res.unreachable());
        assertEquals(List.of(), res.lost());
        assertEquals(List.of("r1", "r2", "r3"), res.sources());
        VDisk d = sg.vdisk("d0");
        assertNotNull(d);
        checkBlocks(d, model); // block 10 zero although r2's seq 1 wrote it: below the base
        assertEquals(ZERO_CRC, (int) model.get(10L));
    }

    @Test
    void aHoleAboveTheBaseIsRefusedAndLostNodesAreNotNeeded() throws Exception {
        Map<Long, Integer> model = new HashMap<>();
        Node[] n = history(model);
        Stargate sg = target();
        List<PeerAddress> sources = List.of(n[0].address(), n[1].address(), n[2].address());
        // r3 down: with RF2 it may hold the only copy of something, so refused
        n[2].svc.close();
        var e1 = assertThrows(Takeover.TakeoverException.class,
                () -> Takeover.run(sg, transport, OWNER, "d0", sources, 2, spill, new Takeover.Progress(OWNER, "d0")));
        assertTrue(e1.getMessage().contains("unreachable"), e1.getMessage());
        // declared lost: not contacted, not counted; r1 holds all from the base on
        Takeover.Result res = Takeover.run(sg, transport, OWNER, "d0", sources, 2, Set.of("r3"), spill, new Takeover.Progress(OWNER, "d0"));
        assertEquals(List.of("r3"), res.lost());
        assertEquals(List.of(), res.unreachable());
        assertEquals(List.of("r1", "r2"), res.sources());
        checkBlocks(sg.vdisk("d0"), model);
        sg.delete("d0");
        // r1 loses segment 2 (seq 6..8): seq 7..8 are at or above the base and were only on r1 and the lost r3
        n[0].drop(0, 2);
        var e2 = assertThrows(Takeover.TakeoverException.class,
                () -> Takeover.run(sg, transport, OWNER, "d0", sources, 2, Set.of("r3"), spill, new Takeover.Progress(OWNER, "d0")));
        assertTrue(e2.getMessage().contains("shard 0: sequence 7..8 missing"), e2.getMessage());
        assertNull(sg.vdisk("d0"), "nothing created");
    }

    /** The newest sequence of each of {@code shards} shards in what {@code n} holds of owner {@code owner}'s vDisk {@code name}. */
    long[] newestSeqs(Node n, String owner, String name, int shards) throws Exception {
        long[] newest = new long[shards];
        try (ReplicaPuller p = new ReplicaPuller(transport, n.id, n.at(), TIMEOUT)) {
            if (p.start(owner, name) == null) return newest;
            for (int r; (r = p.next()) != ReplicaPuller.END; ) {
                if (r == ReplicaPuller.BASE) continue;
                for (int i = 0; i < OpLogBatchView.count(p.batch(), 0); i++)
                    newest[p.shard()] = Math.max(newest[p.shard()], OpLogBatchView.seq(p.batch(), 0, i));
            }
        }
        return newest;
    }

    /**
     * Read repair with a base: owner A (RF2, peers B and C) writes every block five times (over two
     * OpLog segments per shard), then once more (the base: every block's newest value is at or
     * above that pass's first sequence), then zeroes a few; the peers apply the base and delete the
     * first segments. With A's reads corrupted, every block still reads back as last written: the
     * history below the base is gone, and is not needed.
     */
    @Test
    void readRepairUsesTheHistoryFromTheBaseOn() throws Exception {
        String dev = "rb" + System.nanoTime();
        BlockDevice devA = BlockDevices.open("faulty:none,name=" + dev + ":mem:192m");
        BlockStore storeA = BlockStore.format(devA, FormatOptions.DEFAULTS);
        open.add(() -> {
            storeA.close();
            devA.close();
        });
        io.dsf.blockstore.backend.faulty.FaultInjector inj = io.dsf.blockstore.backend.faulty.FaultyBlockDevice.injector(dev);
        Node b = new Node("B"), c = new Node("C");
        List<PeerAddress> peers = List.of(b.address(), c.address());
        Replication rep = new Replication("A", transport, peers, Replication.Options.rf(2));
        Stargate sg = Stargate.open(devA, storeA, ReadRepairTest.OPTS, rep);
        open.add(sg::close);
        rep.catalog(Takeover.catalog(sg, "A"));
        ReplicaReadRepair repair = new ReplicaReadRepair(transport, "A", peers);
        open.add(repair);
        VDisk d = sg.create("v", 8L << 20);
        int blocks = ReadRepairTest.BLOCKS;
        byte[] expect = new byte[blocks * 4096];
        java.util.Random r = new java.util.Random(5);
        long[] base = null;
        try (Arena ar = Arena.ofShared()) {
            MemorySegment buf = ar.allocate(64 * 4096, 4096);
            for (int pass = 0; pass < 6; pass++) {
                if (pass == 5) { // the sixth pass rewrites every block: its first sequence per shard is a base
                    long[] nb = newestSeqs(b, "A", "v", 2), nc = newestSeqs(c, "A", "v", 2);
                    base = new long[]{Math.max(nb[0], nc[0]) + 1, Math.max(nb[1], nc[1]) + 1};
                }
                for (int off = 0; off < blocks; off += 64) {
                    byte[] chunk = new byte[64 * 4096];
                    r.nextBytes(chunk);
                    MemorySegment.copy(chunk, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, chunk.length);
                    assertEquals(VDiskStatus.OK, ReadRepairTest.io(d, false, (long) off * 4096, buf, chunk.length));
                    System.arraycopy(chunk, 0, expect, off * 4096, chunk.length);
                }
            }
            assertEquals(VDiskStatus.OK, ReadRepairTest.zero(d, 300 * 4096L, 8 * 4096L));
            java.util.Arrays.fill(expect, 300 * 4096, 308 * 4096, (byte) 0);
            long vd = ((io.dsf.stargate.core.VDiskController) d).id();
            try (BaseClient bc = new BaseClient(transport, "A", TIMEOUT)) {
                for (Node n : List.of(b, c)) for (int sh = 0; sh < 2; sh++) bc.announce(n.address(), vd, sh, base[sh]);
            }
            assertTrue(b.svc.segmentsBelowBase() + c.svc.segmentsBelowBase() >= 2,
                    "the first segment of each shard is gone: " + b.svc.segmentsBelowBase() + " + " + c.svc.segmentsBelowBase());

            var rule = inj.corruptReadsIn(0, devA.geometry().capacity());
            MemorySegment in = ar.allocate(64 * 4096, 4096);
            assertEquals(VDiskStatus.MEDIUM_ERROR, ReadRepairTest.io(d, true, 0, in, 16 * 4096), "without the repair: a medium error");
            sg.readRepair(repair);
            for (int off = 0; off < blocks; off += 64) {
                assertEquals(VDiskStatus.OK, ReadRepairTest.io(d, true, (long) off * 4096, in, 64 * 4096), "read at block " + off);
                assertArrayEquals(java.util.Arrays.copyOfRange(expect, off * 4096, (off + 64) * 4096),
                        in.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), "blocks " + off + ".. read back as last written");
            }
            assertEquals(0, repair.failed());
            assertEquals(blocks / 64, repair.repaired());
            inj.disarm(rule);
            sg.readRepair(null);
        }
    }
}
