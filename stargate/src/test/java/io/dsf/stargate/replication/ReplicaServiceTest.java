package io.dsf.stargate.replication;

import io.dsf.blockstore.store.BlockStore;
import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.List;

import static io.dsf.stargate.replication.ReplicationDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/** The replica side of the protocol: good batches stored and acknowledged, bad ones refused with nothing written. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicaServiceTest {
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

    TestBatches.Owner owner() throws Exception {
        return new TestBatches.Owner(transport, new InetSocketAddress("127.0.0.1", svc.address().getPort()));
    }

    @Test
    void storesAVerifiedBatchAndAcknowledgesItAfterwards() throws Exception {
        try (TestBatches.Owner o = owner(); Arena a = Arena.ofConfined()) {
            int len = TestBatches.build(o.send, 77, 10, new long[]{5, 300}, new int[]{3, 1}, 1);
            int crc = TestBatches.crc(o.send, 0, len);
            o.post(o.seal(TYPE_BATCH, len, 1, 9, 2, 3, 8192, SEG, "nodeA"));
            ReplicationFrame f = o.answer();
            assertNotNull(f);
            assertEquals(TYPE_ACK, f.type());
            assertEquals(1, f.batchId());
            List<ReplicaSegment> held = svc.list();
            assertEquals(1, held.size());
            ReplicaSegment s = held.get(0);
            assertEquals(new ReplicaSegment("nodeA", 9, 2, 3, SEG, s.object()), s);
            MemorySegment back = a.allocate(len, 4096);
            svc.read(s, 8192, back, len);
            assertEquals(crc, TestBatches.crc(back, 0, len));
            assertEquals(OpLogBatchView.OK, OpLogBatchView.verify(back, back.asByteBuffer(), 0, len, new java.util.zip.CRC32C()));
            // a second batch in the same segment, and one in the next segment
            len = TestBatches.build(o.send, 77, 12, new long[]{6}, new int[]{2}, 2);
            o.post(o.seal(TYPE_BATCH, len, 2, 9, 2, 3, 8192 + 4 * 4096, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
            o.post(o.seal(TYPE_BATCH, len, 3, 9, 2, 4, 0, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
            assertEquals(2, svc.list().size());
            assertEquals(3, svc.batchesStored());
        }
    }

    @Test
    void aDataChecksumMismatchIsRefusedAndNothingWritten() throws Exception {
        try (TestBatches.Owner o = owner()) {
            int len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{2}, 1);
            o.send.set(ValueLayout.JAVA_BYTE, 4096 + 5000, (byte) (o.send.get(ValueLayout.JAVA_BYTE, 4096 + 5000) ^ 1));
            o.post(o.seal(TYPE_BATCH, len, 1, 9, 0, 0, 0, SEG, "nodeA"));
            ReplicationFrame f = o.answer();
            assertEquals(TYPE_NACK, f.type());
            assertEquals(REASON_CHECKSUM, f.reason());
            assertTrue(svc.list().isEmpty(), "nothing written");
            // the connection stays usable: a good batch then goes through
            len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{2}, 1);
            o.post(o.seal(TYPE_BATCH, len, 2, 9, 0, 0, 0, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
        }
    }

    @Test
    void aHeaderChecksumMismatchAndAMalformedBatchAreRefused() throws Exception {
        try (TestBatches.Owner o = owner()) {
            int len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{1}, 1);
            o.send.set(ValueLayout.JAVA_LONG_UNALIGNED, 32 + 8, 6L); // entry's block changed after sealing
            o.post(o.seal(TYPE_BATCH, len, 1, 9, 0, 0, 0, SEG, "nodeA"));
            assertEquals(REASON_CHECKSUM, o.answer().reason());
            len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{1}, 1);
            o.post(o.seal(TYPE_BATCH, len + 4096, 2, 9, 0, 0, 0, SEG, "nodeA")); // one slice more than the header says
            ReplicationFrame f = o.answer();
            assertEquals(TYPE_NACK, f.type());
            assertEquals(REASON_MALFORMED_BATCH, f.reason());
            o.send.fill((byte) 0x5a);
            o.post(o.seal(TYPE_BATCH, 8192, 3, 9, 0, 0, 0, SEG, "nodeA")); // junk
            assertEquals(REASON_MALFORMED_BATCH, o.answer().reason());
            assertTrue(svc.list().isEmpty());
            assertEquals(3, svc.batchesRejected());
        }
    }

    @Test
    void outOfRangePlacementIsRefused() throws Exception {
        try (TestBatches.Owner o = owner()) {
            int len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{1}, 1);
            long[][] bad = {{SEG - 4096, SEG}, {-4096, SEG}, {100, SEG}, {0, 5000}, {0, 1L << 50}, {Long.MAX_VALUE - 4095, SEG}};
            long id = 1;
            for (long[] b : bad) {
                o.post(o.seal(TYPE_BATCH, len, id++, 9, 0, 0, b[0], b[1], "nodeA"));
                ReplicationFrame f = o.answer();
                assertEquals(TYPE_NACK, f.type(), "offset " + b[0] + " of " + b[1]);
                assertEquals(REASON_BAD_RANGE, f.reason());
            }
            assertTrue(svc.list().isEmpty());
        }
    }

    /** Each malformed message: the connection is reset (no answer), nothing written, and the service goes on. */
    @Test
    void malformedMessagesResetTheConnection() throws Exception {
        int[] kinds = {0, 1, 2, 3, 4, 5};
        for (int kind : kinds) {
            try (TestBatches.Owner o = owner()) {
                int len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{1}, 1);
                int msg = o.seal(TYPE_BATCH, len, 1, 9, 0, 0, 0, SEG, "nodeA");
                switch (kind) {
                    case 0 -> msg = 40;                                                      // truncated: shorter than a trailer
                    case 1 -> msg = msg - 1;                                                 // truncated by a byte: the trailer is misplaced
                    case 2 -> o.send.set(ValueLayout.JAVA_BYTE, len + OFF_BATCH_ID, (byte) 9); // trailer checksum
                    case 3 -> msg = o.seal(9, len, 1, 9, 0, 0, 0, SEG, "nodeA");              // unknown type
                    case 4 -> msg = o.seal(TYPE_ACK, 0, 1, 9, 0, 0, 0, SEG, "nodeA");         // an ACK sent to a replica
                    case 5 -> msg = o.seal(TYPE_BATCH, len, 1, 9, 0, 0, 0, SEG, "bad id!");   // owner id not a node id
                    default -> throw new AssertionError();
                }
                o.post(msg);
                assertNull(o.answer(), "kind " + kind + ": no answer, the connection is reset");
            }
            assertTrue(svc.list().isEmpty(), "kind " + kind + ": nothing written");
        }
        assertEquals(kinds.length, svc.connectionsReset());
        try (TestBatches.Owner o = owner()) {
            int len = TestBatches.build(o.send, 1, 1, new long[]{5}, new int[]{1}, 1);
            o.post(o.seal(TYPE_BATCH, len, 1, 9, 0, 0, 0, SEG, "nodeA"));
            assertEquals(TYPE_ACK, o.answer().type());
        }
    }

    @Test
    void frameValidationRejectsEachDefect() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(256, 8);
            ReplicationFrame f = new ReplicationFrame().wrap(m, m.asByteBuffer(), 0);
            f.encode(TYPE_ACK, 0, 0, 5, 1, 2, 3, 4, 4096, "n".getBytes());
            assertEquals(ReplicationFrame.VALID, f.validate(TRAILER));
            assertEquals(ReplicationFrame.BAD_LENGTH, f.validate(TRAILER + 4096));
            assertEquals(ReplicationFrame.TRUNCATED, f.validate(TRAILER - 1));
            m.set(ValueLayout.JAVA_INT_UNALIGNED, OFF_RESERVED, 1);
            assertEquals(ReplicationFrame.BAD_CHECKSUM, f.validate(TRAILER));
            f.encode(TYPE_BATCH, 0, MAX_PAYLOAD + 4096, 5, 1, 2, 3, 4, 4096, "n".getBytes());
            assertEquals(ReplicationFrame.BAD_LENGTH, f.validate(MAX_PAYLOAD + 4096 + TRAILER));
            f.encode(0, 0, 0, 5, 1, 2, 3, 4, 4096, "n".getBytes());
            assertEquals(ReplicationFrame.UNKNOWN_TYPE, f.validate(TRAILER));
            assertTrue(f.ownerEquals("n".getBytes()));
            assertFalse(f.ownerEquals("nn".getBytes()));
            // version 4: BASE is a trailer alone; a version 4 trailer is refused now (version 5)
            f.encode(TYPE_BASE, 0, 0, 7, 1, 0, 0, 0, 0, "n".getBytes());
            assertEquals(ReplicationFrame.VALID, f.validate(TRAILER));
            assertEquals("BASE", typeName(f.type()));
            f.encode(TYPE_BASE, 0, 4096, 7, 1, 0, 0, 0, 0, "n".getBytes());
            assertEquals(ReplicationFrame.BAD_LENGTH, f.validate(TRAILER + 4096));
            // version 5: IMAGE carries a batch, COVERED 8 bytes plus 16 per range (at most MAX_RANGES); the next type is unknown
            f.encode(TYPE_IMAGE, 0, 8192, 7, 1, 0, 0, 0, 0, "n".getBytes());
            assertEquals(ReplicationFrame.VALID, f.validate(TRAILER + 8192));
            f.encode(TYPE_IMAGE, 0, MAX_PAYLOAD + 4096, 7, 1, 0, 0, 0, 0, "n".getBytes());
            assertEquals(ReplicationFrame.BAD_LENGTH, f.validate(MAX_PAYLOAD + 4096 + TRAILER));
            f.encode(TYPE_COVERED, 0, 8 + 32, 7, 1, 0, 0, 0, 0, "n".getBytes());
            assertEquals(ReplicationFrame.VALID, f.validate(TRAILER + 40));
            assertEquals("COVERED", typeName(f.type()));
            for (int bad : new int[]{0, 4, 8 + 15, 8 + 16 * (ReplicaImage.MAX_RANGES + 1)}) {
                f.encode(TYPE_COVERED, 0, bad, 7, 1, 0, 0, 0, 0, "n".getBytes());
                assertEquals(ReplicationFrame.BAD_LENGTH, f.validate(TRAILER + bad), "COVERED of " + bad + " bytes");
            }
            f.encode(TYPE_COVERED + 1, 0, 0, 7, 1, 0, 0, 0, 0, "n".getBytes());
            assertEquals(ReplicationFrame.UNKNOWN_TYPE, f.validate(TRAILER));
            f.encode(TYPE_BASE, 0, 0, 7, 1, 0, 0, 0, 0, "n".getBytes());
            m.set(ValueLayout.JAVA_BYTE, OFF_VERSION, (byte) 4);
            m.set(ValueLayout.JAVA_INT_UNALIGNED, OFF_CRC, 0);
            m.set(ValueLayout.JAVA_INT_UNALIGNED, OFF_CRC, TestBatches.crc(m, 0, TRAILER));
            assertEquals(ReplicationFrame.BAD_VERSION, f.validate(TRAILER));
        }
    }
}
