package io.dsf.stargate.replication;

import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static io.dsf.stargate.replication.ReplicationDescriptor.MAX_PAYLOAD;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Placement honours availability domains, judged by what the replica services really hold: over
 * many (vDisk, shard, episode) choices, copies land on other racks than the owner's and each
 * other's while enough racks exist, still spread over every peer that qualifies; with the other
 * racks gone, placement falls back to another block and the shard's status says so; labels that
 * are missing or equal never count as apart.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DomainPlacementTest {
    static final long SEG = 4L << 20;
    final List<AutoCloseable> open = new ArrayList<>();
    RdmaTransport transport;
    final Map<String, ReplicaService> svc = new HashMap<>();

    ReplicaService replica() throws Exception {
        TestBatches.Replica r = TestBatches.Replica.start(transport, "mem:64m", 16);
        open.add(0, r);
        return r.svc();
    }

    @BeforeEach
    void up() throws Exception {
        transport = Transports.open("tcp");
        for (String id : List.of("B", "C", "D", "E")) svc.put(id, replica());
    }

    @AfterEach
    void down() throws Exception {
        for (AutoCloseable x : open) x.close();
        transport.close();
    }

    /** A: rack r1 block b1. B: rack r1 block b2 (the owner's rack). C, E: rack r2. D: rack r3. */
    List<PeerAddress> peers() {
        String spec = "B@127.0.0.1:" + svc.get("B").address().getPort() + "/rack=r1/block=b2,"
                + "C@127.0.0.1:" + svc.get("C").address().getPort() + "/rack=r2/block=b3,"
                + "D@127.0.0.1:" + svc.get("D").address().getPort() + "/rack=r3/block=b4,"
                + "E@127.0.0.1:" + svc.get("E").address().getPort() + "/rack=r2/block=b5";
        return PeerAddress.parseList(spec);
    }

    Replication replication(int rf) {
        return new Replication("A", Domain.parse("rack=r1,block=b1", ",", "A"), transport, peers(),
                Replication.Options.rf(rf).withEpisodeBytes(1 << 20));
    }

    /** Replicates one batch per segment (each a new episode) of vDisk {@code v}'s shard 0; returns the status per segment. */
    static List<Replication.ShardStatus> drive(Replication rep, long v, long firstSeg, int segments) {
        List<Replication.ShardStatus> seen = new ArrayList<>();
        BatchReplicator r = rep.create(v, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment batch = a.allocate(MAX_PAYLOAD, 4096);
            for (int i = 0; i < segments; i++) {
                int len = TestBatches.build(batch, 99, 1 + i, new long[] {8L * i}, new int[] {1}, i + 1);
                r.replicate(batch, len, firstSeg + i, SEG, 0);
                ShardReplicatorTrimTest.pollUntil(r, () -> r.status() != BatchReplicator.PENDING, "batch " + i);
                assertEquals(BatchReplicator.ACKED, r.status(), "batch " + i + " of vDisk " + v);
                seen.add(rep.shards().stream().filter(s -> s.vdisk() == v).findFirst().orElseThrow());
            }
        } finally {
            r.close();
        }
        return seen;
    }

    /** Which replica services hold (owner A, vDisk v, segment). */
    Set<String> holders(long v, long segment) {
        Set<String> out = new TreeSet<>();
        for (Map.Entry<String, ReplicaService> e : svc.entrySet())
            for (ReplicaSegment s : e.getValue().list()) if (s.vdisk() == v && s.segment() == segment) out.add(e.getKey());
        return out;
    }

    @Test
    void rf2CopiesLeaveTheOwnersRackAndSpreadOverTheOtherRacks() {
        Replication rep = replication(2);
        Set<String> used = new HashSet<>();
        for (long v = 1; v <= 6; v++) {
            List<Replication.ShardStatus> st = drive(rep, v, 0, 4);
            for (int i = 0; i < 4; i++) {
                Set<String> h = holders(v, i);
                assertEquals(1, h.size(), "RF2: one replica of vDisk " + v + " segment " + i + ": " + h);
                assertFalse(h.contains("B"), "B shares the owner's rack while C, D, E do not: vDisk " + v + " segment " + i);
                assertEquals(List.copyOf(h), st.get(i).peers(), "the status names the holder");
                assertEquals(Domain.Level.RACK, st.get(i).domainLevel());
                used.addAll(h);
            }
        }
        assertEquals(Set.of("C", "D", "E"), used, "episodes spread over every peer on another rack");
    }

    @Test
    void rf3CopiesTakeThreeRacksThenFallBackToBlocks() throws Exception {
        Replication rep = replication(3);
        for (long v = 1; v <= 6; v++) {
            List<Replication.ShardStatus> st = drive(rep, v, 0, 3);
            for (int i = 0; i < 3; i++) {
                Set<String> h = holders(v, i);
                assertEquals(2, h.size(), "RF3: two replicas: " + h);
                assertTrue(h.contains("D"), "the only rack-r3 peer holds a copy: " + h);
                assertFalse(h.contains("B"), "not on the owner's rack: " + h);
                assertEquals(Domain.Level.RACK, st.get(i).domainLevel(), "three racks: " + h);
            }
        }
        // rack r3 goes away: the third copy can only be apart by block (B: the owner's rack, another block)
        svc.get("D").close();
        List<Replication.ShardStatus> st = drive(rep, 50, 100, 2);
        for (int i = 0; i < 2; i++) {
            Set<String> h = holders(50, 100 + i);
            assertEquals(2, h.size(), "still RF3: " + h);
            assertTrue(h.contains("B"), "the block-apart peer fills in: " + h);
            assertFalse(h.containsAll(Set.of("C", "E")), "never two copies on rack r2 while B is apart by block: " + h);
            assertEquals(Domain.Level.BLOCK, st.get(i).domainLevel(), "the status shows the weaker level: " + st.get(i));
        }
    }

    @Test
    void labelsParseCheckAndCompare() {
        Domain a = Domain.parse("rack=r1, block=b1", ",", "A");
        assertEquals(new Domain("A", "b1", "r1"), a);
        assertEquals("node=box1,block=b1", Domain.parse("node=box1,block=b1", ",", "A").toString());
        for (String bad : List.of("rack", "=r1", "shelf=1", "rack=r1,rack=r2", "rack=-x", "rack=" + "x".repeat(65)))
            assertThrows(IllegalArgumentException.class, () -> Domain.parse(bad, ",", "A"), bad);
        // same node label: not apart at any level above NONE, however the racks differ
        Domain p = new Domain("box1", "b1", "r1"), q = new Domain("box1", "b2", "r2");
        assertFalse(p.apart(q, Domain.Level.NODE));
        assertEquals(Domain.Level.NONE, Domain.levelOf(new Domain[] {p, q}, 2));
        // an unknown rack is never apart by rack
        assertFalse(Domain.of("X").apart(new Domain("Y", null, "r1"), Domain.Level.RACK));
        assertEquals(Domain.Level.NODE, Domain.levelOf(new Domain[] {Domain.of("X"), Domain.of("Y")}, 2));

        List<PeerAddress> ps = PeerAddress.parseList("B@h1:7000/rack=r2/block=b2,C@[::1]:7001,D@h3:7002/node=box1");
        assertEquals(new Domain("B", "b2", "r2"), ps.get(0).domain());
        assertEquals(Domain.of("C"), ps.get(1).domain());
        assertEquals("box1", ps.get(2).domain().node());
        assertEquals("B@h1:7000/block=b2/rack=r2", ps.get(0).spec());
        assertEquals(ps, PeerAddress.parseList(String.join(",", ps.stream().map(PeerAddress::spec).toList()).replace("C@::1", "C@[::1]")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeerAddress.parseList("B@h1:7000/rack"));
        assertTrue(e.getMessage().startsWith("peer B: "), e.getMessage());
    }
}
