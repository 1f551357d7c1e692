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
import java.util.List;
import java.util.function.BooleanSupplier;

import static io.dsf.stargate.replication.ReplicationDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The owner side driven by hand (the test thread plays the shard thread): RF3 over two replica
 * services; what {@link Replication#shards()} and {@link Replication#peerStatus()} report; a
 * replica segment scanned back batch by batch ({@link ReplicaService#batches}); a TRIM deletes the
 * segment on every replica and only that one; a peer gone shows as failed with its error.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShardReplicatorTrimTest {
    static final long SEG = 4L << 20;
    final List<AutoCloseable> open = new ArrayList<>();
    RdmaTransport transport;
    ReplicaService b, c;

    ReplicaService replica() throws Exception {
        TestBatches.Replica r = TestBatches.Replica.start(transport, "mem:64m", 4);
        open.add(0, r);
        return r.svc();
    }

    @BeforeEach
    void up() throws Exception {
        transport = Transports.open("tcp");
        b = replica();
        c = replica();
    }

    @AfterEach
    void down() throws Exception {
        for (AutoCloseable x : open) x.close();
        transport.close();
    }

    static PeerAddress peer(String id, ReplicaService s) { return new PeerAddress(id, "127.0.0.1", s.address().getPort()); }

    /** Polls {@code r} (as its shard thread would) until {@code done} or 30 s. */
    static void pollUntil(BatchReplicator r, BooleanSupplier done, String what) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            if (r.poll() == 0) Thread.onSpinWait();
        }
    }

    @Test
    void statusScanAndTrim() throws Exception {
        Replication rep = new Replication("A", transport, List.of(peer("B", b), peer("C", c)), Replication.Options.rf(3));
        assertEquals(List.of("unknown", "unknown"), rep.peerStatus().stream().map(Replication.PeerStatus::state).toList());
        BatchReplicator r = rep.create(7, 1);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment batch = a.allocate(MAX_PAYLOAD, 4096);
            int[] crcs = new int[3];
            int[] lens = new int[3];
            long[] segs = {10, 10, 11};
            long[] offs = {0, 4 * 4096, 0};
            for (int i = 0; i < 3; i++) {
                lens[i] = TestBatches.build(batch, 99, 1 + 10L * i, new long[] {100 + 8L * i}, new int[] {2}, i + 1);
                crcs[i] = TestBatches.crc(batch, 0, lens[i]);
                r.replicate(batch, lens[i], segs[i], SEG, offs[i]);
                pollUntil(r, () -> r.status() != BatchReplicator.PENDING, "batch " + i);
                assertEquals(BatchReplicator.ACKED, r.status(), "batch " + i);
            }
            assertEquals(List.of(new Replication.ShardStatus(7, 1, 0, rep.shards().get(0).peers(), Domain.Level.NODE)), rep.shards());
            assertEquals(2, rep.shards().get(0).peers().size());
            assertEquals(List.of("connected", "connected"), rep.peerStatus().stream().map(Replication.PeerStatus::state).toList());

            for (ReplicaService s : List.of(b, c)) {
                List<ReplicaSegment> held = s.list();
                assertEquals(List.of(10L, 11L), held.stream().map(ReplicaSegment::segment).toList());
                List<ReplicaBatch> in10 = s.batches(held.get(0));
                assertEquals(2, in10.size(), "two batches in segment 10");
                assertEquals(0, in10.get(0).offset());
                assertEquals(crcs[0], in10.get(0).crc());
                assertEquals(4 * 4096, in10.get(1).offset());
                assertEquals(crcs[1], in10.get(1).crc());
                assertArrayEquals(new long[] {108, 109}, in10.get(1).blocks());
                assertEquals(TestBatches.crc(batch, 4096, 4096), s.batches(held.get(1)).get(0).blockCrcs()[0]);
            }

            assertTrue(r.trim(10));
            pollUntil(r, () -> b.segmentsTrimmed() == 1 && c.segmentsTrimmed() == 1, "trims");
            for (ReplicaService s : List.of(b, c)) assertEquals(List.of(11L), s.list().stream().map(ReplicaSegment::segment).toList());
            // a repeated trim, and one of a segment never held, delete nothing more; replication goes on
            assertTrue(r.trim(10));
            assertTrue(r.trim(12345));
            int len = TestBatches.build(batch, 99, 50, new long[] {200}, new int[] {1}, 9);
            r.replicate(batch, len, 11, SEG, 8 * 4096);
            pollUntil(r, () -> r.status() != BatchReplicator.PENDING, "batch after trims");
            assertEquals(BatchReplicator.ACKED, r.status());
            assertEquals(1, b.segmentsTrimmed());
            assertEquals(2, b.batches(b.list().get(0)).size());
            assertEquals(0, b.connectionsReset(), "trims are valid messages");

            // a peer that goes away is reported failed, with the reason
            c.close();
            r.replicate(batch, len, 11, SEG, 9 * 4096);
            pollUntil(r, () -> r.status() != BatchReplicator.PENDING, "batch without C");
            assertEquals(BatchReplicator.FAILED, r.status(), "RF3 cannot hold with one peer");
            Replication.PeerStatus pc = rep.peerStatus().get(1);
            assertEquals("failed", pc.state());
            assertNotNull(pc.lastError());
            assertTrue(pc.failures() >= 1);
            assertEquals("connected", rep.peerStatus().get(0).state());
        } finally {
            r.close();
        }
        assertEquals(List.of(), rep.shards(), "a closed replicator leaves the status");
    }
}
