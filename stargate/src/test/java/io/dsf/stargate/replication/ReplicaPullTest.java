package io.dsf.stargate.replication;

import io.dsf.blockstore.store.BlockStore;
import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static io.dsf.stargate.replication.ReplicationDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/** META stored once and listed; the pull protocol returns what is held, and bad pull input gets an error or a reset, never a crash. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicaPullTest {
    static final long SEG = 4L << 20;
    RdmaTransport transport;
    TestBatches.Replica replica;
    BlockStore store;
    ReplicaService svc;

    @BeforeEach
    void up() throws Exception {
        transport = Transports.open("tcp");
        replica = TestBatches.Replica.start(transport, "mem:64m", 4);
        store = replica.store();
        svc = replica.svc();
    }

    @AfterEach
    void down() {
        if (replica != null) replica.close();
        if (transport != null) transport.close();
    }

    InetSocketAddress at() { return new InetSocketAddress("127.0.0.1", svc.address().getPort()); }

    ReplicaPuller puller() throws Exception { return new ReplicaPuller(transport, "svc", at(), TimeUnit.SECONDS.toNanos(10)); }

    /** Owner nodeA: META of vDisk 9 ("d0", 2 shards) twice, then two batches of shard 1 and one of shard 0. */
    void feed() throws Exception {
        try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
            ReplicaVDisk m = new ReplicaVDisk("nodeA", 9, "d0", 64L << 20, 2, false, 0);
            for (int i = 0; i < 2; i++) {
                int n = m.encode(o.send, 0);
                o.post(o.seal(TYPE_META, n, 0, 9, 1, 0, 0, 0, "nodeA"));
            }
            int len = TestBatches.build(o.send, 77, 1, new long[]{256, 260}, new int[]{2, 1}, 1); // vBlock 1: shard 1
            o.post(o.seal(TYPE_BATCH, len, 1, 9, 1, 0, 0, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
            len = TestBatches.build(o.send, 77, 3, new long[]{256}, new int[]{1}, 2);
            o.post(o.seal(TYPE_BATCH, len, 2, 9, 1, 0, 4 * 4096, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
            len = TestBatches.build(o.send, 78, 1, new long[]{5}, new int[]{1}, 3);
            o.post(o.seal(TYPE_BATCH, len, 3, 9, 0, 0, 0, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
        }
    }

    @Test
    void metadataIsStoredOnceAndThePullReturnsEveryBatchThenEnd() throws Exception {
        feed();
        assertEquals(1, svc.vdisks().size(), "META is idempotent");
        assertEquals(new ReplicaVDisk("nodeA", 9, "d0", 64L << 20, 2, false, 0), svc.vdisks().get(0));
        try (ReplicaPuller p = puller()) {
            ReplicaVDisk m = p.start("nodeA", "d0");
            assertEquals(9, m.id());
            int batches = 0, shard0 = 0;
            while (p.next() != ReplicaPuller.END) {
                batches++;
                if (p.shard() == 0) shard0++;
            }
            assertEquals(3, batches);
            assertEquals(1, shard0);
            assertEquals(ReplicaPuller.END, p.next());
        }
        try (ReplicaPuller p = puller()) {
            assertNull(p.start("nodeB", "d0"), "unknown owner: nothing held");
        }
        try (ReplicaPuller p = puller()) {
            assertNull(p.start("nodeA", "d1"), "unknown name: nothing held");
        }
        assertEquals(1, svc.pullsServed());
    }

    @Test
    void aCorruptStoredBatchIsSkippedNotSent() throws Exception {
        feed();
        ReplicaSegment s1 = svc.list().stream().filter(s -> s.shard() == 1).findFirst().orElseThrow();
        try (var ch = store.openChannel(4, 1 << 20, 1, (t, st) -> { })) {
            var buf = ch.buffers().buffer(ch.buffers().acquire());
            ch.readBlocking(s1.object(), 0, buf, 4096 * 2);
            buf.set(ValueLayout.JAVA_BYTE, 4096 + 10, (byte) (buf.get(ValueLayout.JAVA_BYTE, 4096 + 10) ^ 0x40));
            ch.writeBlocking(s1.object(), 0, buf, 4096 * 2);
        }
        try (ReplicaPuller p = puller()) {
            p.start("nodeA", "d0");
            int batches = 0;
            while (p.next() != ReplicaPuller.END) batches++;
            assertEquals(2, batches, "the damaged batch is not sent");
        }
    }

    /** Each bad pull message: truncated, bad trailer checksum, bad name, NEXT without PULL: reset; the service goes on. */
    @Test
    void badPullInputResetsTheConnectionAndTheServiceGoesOn() throws Exception {
        feed();
        long resetsBefore = svc.connectionsReset();
        for (int kind = 0; kind < 5; kind++) {
            try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
                byte[] name = "d0".getBytes(StandardCharsets.UTF_8);
                java.lang.foreign.MemorySegment.copy(name, 0, o.send, ValueLayout.JAVA_BYTE, 0, name.length);
                int msg = o.seal(TYPE_PULL, name.length, 1, -1, 0, 0, 0, 0, "nodeA");
                switch (kind) {
                    case 0 -> msg = msg - 1;                                                   // truncated by a byte
                    case 1 -> o.send.set(ValueLayout.JAVA_BYTE, name.length + OFF_SEGMENT, (byte) 3); // trailer checksum
                    case 2 -> {                                                                // a name with a '/'
                        o.send.set(ValueLayout.JAVA_BYTE, 1, (byte) '/');
                        msg = o.seal(TYPE_PULL, name.length, 1, -1, 0, 0, 0, 0, "nodeA");
                    }
                    case 3 -> msg = o.seal(TYPE_NEXT, 0, 1, 9, 0, 0, 0, 0, "nodeA");         // NEXT without PULL
                    case 4 -> msg = o.seal(TYPE_PULL, 0, 1, -1, 0, 0, 0, 0, "nodeA");         // empty name
                    default -> throw new AssertionError();
                }
                o.post(msg);
                assertNull(o.answer(), "kind " + kind + ": no answer, the connection is reset");
            }
        }
        assertEquals(resetsBefore + 5, svc.connectionsReset());
        // a pull of an unknown owner is answered with a NACK on a live connection
        try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
            byte[] name = "d0".getBytes(StandardCharsets.UTF_8);
            java.lang.foreign.MemorySegment.copy(name, 0, o.send, ValueLayout.JAVA_BYTE, 0, name.length);
            o.post(o.seal(TYPE_PULL, name.length, 5, -1, 0, 0, 0, 0, "nodeZ"));
            ReplicationFrame f = o.answer();
            assertEquals(TYPE_NACK, f.type());
            assertEquals(REASON_UNKNOWN_VDISK, f.reason());
            assertEquals(5, f.batchId());
        }
        // and the service still stores batches and serves pulls
        try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
            int len = TestBatches.build(o.send, 79, 2, new long[]{6}, new int[]{1}, 4);
            o.post(o.seal(TYPE_BATCH, len, 1, 9, 0, 0, 8192, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
        }
        try (ReplicaPuller p = puller()) {
            assertNotNull(p.start("nodeA", "d0"));
            int batches = 0;
            while (p.next() != ReplicaPuller.END) batches++;
            assertEquals(4, batches);
        }
    }

    @Test
    void metadataPayloadValidation() {
        try (var a = java.lang.foreign.Arena.ofConfined()) {
            var m = a.allocate(256);
            ReplicaVDisk v = new ReplicaVDisk("n", 3, "disk.1", 1L << 30, 4, true, 0);
            int n = v.encode(m, 0);
            assertEquals(v, ReplicaVDisk.decode("n", m, 0, n));
            assertNull(ReplicaVDisk.decode("n", m, 0, n - 1), "truncated");
            m.set(ValueLayout.JAVA_BYTE, 20, (byte) 1);
            assertNull(ReplicaVDisk.decode("n", m, 0, n), "bad checksum");
        }
    }
}
