package io.dsf.rdma.testing;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
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

import static io.dsf.rdma.testing.Pair.Done;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The behaviour every transport promises, one body for all: the tcp emulation runs it everywhere,
 * the verbs transport where an RDMA device exists. A subclass says how to open its transport and
 * which address to listen on. Each test steps both endpoints from the test thread.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class TransportConformance {
    protected static final int KIB4 = 4096;

    protected RdmaTransport transport;
    protected Arena arena;
    private Pair pair;

    protected abstract RdmaTransport openTransport() throws Exception;

    protected abstract InetSocketAddress listenAddress();

    @BeforeEach
    void openIt() throws Exception {
        transport = openTransport();
        arena = Arena.ofShared();
    }

    @AfterEach
    void closeIt() {
        if (pair != null) pair.close();
        if (transport != null) transport.close();
        if (arena != null) arena.close();
    }

    protected Pair pair(EndpointOptions client, EndpointOptions server) throws Exception {
        pair = new Pair(transport, listenAddress(), client, server);
        return pair;
    }

    protected MemoryRegion region(long size, int access) throws Exception {
        return transport.register(arena.allocate(size, 4096), access);
    }

    protected static void fill(MemorySegment s, long off, int len, int seed) {
        for (int i = 0; i < len; i++) s.set(ValueLayout.JAVA_BYTE, off + i, (byte) (seed * 31 + i * 7));
    }

    protected static byte[] bytes(MemorySegment s, long off, int len) {
        return s.asSlice(off, len).toArray(ValueLayout.JAVA_BYTE);
    }

    protected static byte[] expected(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte) (seed * 31 + i * 7);
        return b;
    }

    private static final int LOCAL = Access.LOCAL_WRITE;
    private static final int REMOTE = Access.LOCAL_WRITE | Access.REMOTE_WRITE;

    @Test
    void pingPongSendRecv() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(2 * KIB4, LOCAL), s = region(2 * KIB4, LOCAL);
        for (int round = 0; round < 200; round++) {
            assertEquals(PostStatus.OK, p.server.postRecv(s, 0, KIB4, 1000 + round));
            assertEquals(PostStatus.OK, p.client.postRecv(c, KIB4, KIB4, 2000 + round));
            fill(c.segment(), 0, KIB4, round);
            assertEquals(PostStatus.OK, p.client.postSend(c, 0, KIB4, round));
            int sd = p.serverDone.size();
            p.pollUntil(() -> p.serverDone.size() > sd, 10, "request " + round);
            Done req = p.serverDone.getLast();
            assertEquals(new Done(p.server, 1000 + round, Opcode.RECV, CompletionStatus.SUCCESS, KIB4, 0, false), req);
            assertArrayEquals(expected(KIB4, round), bytes(s.segment(), 0, KIB4));
            fill(s.segment(), KIB4, KIB4, round + 1);
            assertEquals(PostStatus.OK, p.server.postSend(s, KIB4, KIB4, 3000 + round));
            int target = 2 * (round + 1);
            p.pollUntil(() -> p.clientDone.size() == target && p.serverDone.size() == target, 10, "reply " + round);
        }
        List<Done> sends = p.clientDone.stream().filter(d -> d.opcode() == Opcode.SEND).toList();
        List<Done> recvs = p.clientDone.stream().filter(d -> d.opcode() == Opcode.RECV).toList();
        assertEquals(200, sends.size());
        assertEquals(200, recvs.size());
        for (int i = 0; i < 200; i++) {
            assertEquals(i, sends.get(i).wrId());
            assertEquals(CompletionStatus.SUCCESS, sends.get(i).status());
            assertEquals(2000 + i, recvs.get(i).wrId());
            assertEquals(KIB4, recvs.get(i).byteLength());
        }
        assertArrayEquals(expected(KIB4, 200), bytes(c.segment(), KIB4, KIB4));
    }

    /**
     * {@link io.dsf.rdma.api.CompletionQueue#wakeup}: one given before a wait ends that wait at
     * once, and one from another thread ends a wait in progress, each long before its timeout, and
     * neither raises a completion.
     */
    @Test
    void wakeupEndsAWaitFromAnotherThread() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        io.dsf.rdma.api.Completions out = new io.dsf.rdma.api.Completions(16);
        long timeout = java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        p.serverCq.wakeup();
        long t0 = System.nanoTime();
        assertEquals(0, p.serverCq.await(out, timeout));
        assertTrue(System.nanoTime() - t0 < timeout / 4, "a wake-up given before the wait ends it");
        java.util.concurrent.atomic.AtomicBoolean returned = new java.util.concurrent.atomic.AtomicBoolean();
        Thread waker = new Thread(() -> { // keeps waking until the wait is seen to end (the owner may not be waiting yet)
            while (!returned.get()) {
                p.serverCq.wakeup();
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
        });
        waker.start();
        t0 = System.nanoTime();
        int n = p.serverCq.await(out, timeout);
        long took = System.nanoTime() - t0;
        returned.set(true);
        waker.join();
        assertEquals(0, n, "a wake-up is no completion");
        assertTrue(took < timeout / 4, "the wait ended after " + took / 1_000_000 + " ms");
    }

    @Test
    void sendWithImmediateCarriesItToTheReceiver() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(KIB4, LOCAL), s = region(KIB4, LOCAL);
        p.server.postRecv(s, 0, 512, 7);
        fill(c.segment(), 0, 100, 3);
        assertEquals(PostStatus.OK, p.client.postSendWithImm(c, 0, 100, 0x7eadbeef, 8));
        p.pollUntil(() -> p.serverDone.size() == 1 && p.clientDone.size() == 1, 10, "send with immediate");
        assertEquals(new Done(p.server, 7, Opcode.RECV, CompletionStatus.SUCCESS, 100, 0x7eadbeef, true), p.serverDone.getFirst());
        assertArrayEquals(expected(100, 3), bytes(s.segment(), 0, 100));
    }

    @Test
    void writeWithImmediateLandsInTheRegionAndCompletesAtTheTarget() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(4 * KIB4, LOCAL);
        MemoryRegion target = region(16 * KIB4, REMOTE);
        MemoryRegion recv = region(KIB4, LOCAL);
        assertEquals(PostStatus.OK, p.server.postRecv(recv, 0, 16, 99));
        fill(c.segment(), KIB4, KIB4, 42);
        assertEquals(PostStatus.OK, p.client.postWriteWithImm(c, KIB4, KIB4, target.remoteAddress(5 * KIB4), target.rkey(), 0xcafe, 11));
        p.pollUntil(() -> p.serverDone.size() == 1 && p.clientDone.size() == 1, 10, "write with immediate");
        assertEquals(new Done(p.server, 99, Opcode.RECV_RDMA_WITH_IMM, CompletionStatus.SUCCESS, KIB4, 0xcafe, true), p.serverDone.getFirst());
        assertEquals(new Done(p.client, 11, Opcode.RDMA_WRITE, CompletionStatus.SUCCESS, p.clientDone.getFirst().byteLength(), 0, false),
                p.clientDone.getFirst());
        assertArrayEquals(expected(KIB4, 42), bytes(target.segment(), 5 * KIB4, KIB4));
        assertArrayEquals(new byte[KIB4], bytes(target.segment(), 4 * KIB4, KIB4), "bytes before the target range untouched");
        assertArrayEquals(new byte[KIB4], bytes(target.segment(), 6 * KIB4, KIB4), "bytes after the target range untouched");
        assertArrayEquals(new byte[16], bytes(recv.segment(), 0, 16), "the consumed receive buffer is not written");
    }

    @Test
    void plainWriteLandsWithoutACompletionAtTheTarget() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(KIB4, LOCAL);
        MemoryRegion target = region(KIB4, REMOTE);
        fill(c.segment(), 0, 1000, 9);
        assertEquals(PostStatus.OK, p.client.postWrite(c, 0, 1000, target.remoteAddress(10), target.rkey(), 5));
        p.pollUntil(() -> p.clientDone.size() == 1, 10, "write completion");
        assertEquals(CompletionStatus.SUCCESS, p.clientDone.getFirst().status());
        // a completed write has been placed by the peer (RC semantics): the bytes are there now
        assertArrayEquals(expected(1000, 9), bytes(target.segment(), 10, 1000));
        p.pollRounds(50);
        assertEquals(List.of(), p.serverDone);
    }

    @Test
    void manyInFlightWithBackPressure() throws Exception {
        EndpointOptions small = new EndpointOptions(8, 8, 64 << 10);
        Pair p = pair(small, small);
        MemoryRegion c = region(8 * KIB4, LOCAL), s = region(8L * 1024, LOCAL);
        // the receiver posts nothing yet: the sender fills its send queue and is then refused
        int accepted = 0;
        for (int i = 0; i < 20; i++) {
            c.segment().set(ValueLayout.JAVA_INT, (i % 8) * 1024L, i);
            int st = p.client.postSend(c, (i % 8) * 1024L, 1024, i);
            if (st == PostStatus.OK) accepted++;
            else assertEquals(PostStatus.SEND_QUEUE_FULL, st, PostStatus.name(st));
        }
        assertEquals(8, accepted, "accepted exactly sendQueueDepth requests");
        assertEquals(8, p.client.sendsOutstanding());
        assertEquals(0, p.pollRounds(300), "nothing completes while the receiver has no receive posted");
        assertEquals(EndpointState.CONNECTED, p.client.state());
        // receives trickle in: exactly that many sends complete, in order
        for (int i = 0; i < 3; i++) assertEquals(PostStatus.OK, p.server.postRecv(s, i * 1024L, 1024, 100 + i));
        p.pollUntil(() -> p.serverDone.size() == 3 && p.clientDone.size() == 3, 10, "three deliveries");
        for (int i = 0; i < 3; i++) {
            assertEquals(i, s.segment().get(ValueLayout.JAVA_INT, i * 1024L));
            assertEquals(i, p.clientDone.get(i).wrId());
        }
        assertEquals(5, p.client.sendsOutstanding());
        // now stream: 2000 messages through queues of 8, the receiver reposting as it goes
        int total = 2000;
        int[] next = {8}; // next message index to send
        int[] recvPosted = {3};
        while (p.serverDone.size() < total) {
            while (next[0] < total) {
                int slot = next[0] % 8;
                c.segment().set(ValueLayout.JAVA_INT, slot * 1024L, next[0]);
                int st = p.client.postSend(c, slot * 1024L, 1024, next[0]);
                if (st == PostStatus.SEND_QUEUE_FULL) break;
                assertEquals(PostStatus.OK, st);
                next[0]++;
            }
            while (recvPosted[0] - p.serverDone.size() < 8 && recvPosted[0] < total) {
                assertEquals(PostStatus.OK, p.server.postRecv(s, (recvPosted[0] % 8) * 1024L, 1024, 100 + recvPosted[0]));
                recvPosted[0]++;
            }
            int before = p.serverDone.size();
            p.pollOnce();
            for (int i = before; i < p.serverDone.size(); i++) {
                Done d = p.serverDone.get(i);
                assertEquals(CompletionStatus.SUCCESS, d.status());
                assertEquals(100 + i, d.wrId());
                int slot = (int) ((d.wrId() - 100) % 8);
                assertEquals(i, s.segment().get(ValueLayout.JAVA_INT, slot * 1024L), "message " + i + " in order");
            }
            // send slot i % 8 of the sender's buffer is reused only after message i completed
        }
        p.pollUntil(() -> p.clientDone.size() == total, 10, "all send completions");
        for (int i = 0; i < total; i++) assertEquals(i, p.clientDone.get(i).wrId());
    }

    @Test
    void closeFlushesOutstandingRequestsOnBothSides() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(KIB4, LOCAL), s = region(KIB4, LOCAL);
        for (int i = 0; i < 4; i++) {
            p.client.postRecv(c, i * 256L, 256, i);
            p.server.postRecv(s, i * 256L, 256, 10 + i);
        }
        p.client.close();
        assertEquals(EndpointState.CLOSED, p.client.state());
        assertEquals(PostStatus.NOT_CONNECTED, p.client.postSend(c, 0, 10, 1));
        p.pollUntil(() -> p.clientDone.size() == 4 && p.serverDone.size() == 4, 20, "flushes on both sides");
        for (Done d : p.clientDone) assertEquals(CompletionStatus.FLUSHED, d.status(), d.toString());
        for (Done d : p.serverDone) {
            assertEquals(CompletionStatus.FLUSHED, d.status(), d.toString());
            assertEquals(Opcode.RECV, d.opcode());
        }
        assertNotEquals(EndpointState.CONNECTED, p.server.state());
        assertEquals(PostStatus.NOT_CONNECTED, p.server.postRecv(s, 0, 10, 1));
    }

    @Test
    void peerGoneFailsUnacknowledgedSendsInsteadOfHanging() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(KIB4, LOCAL);
        for (int i = 0; i < 5; i++) assertEquals(PostStatus.OK, p.client.postSend(c, 0, 100, i)); // nobody receives them
        assertEquals(0, p.pollRounds(100));
        p.server.close(); // the peer goes away
        p.pollUntil(() -> p.clientDone.size() == 5, 30, "error completions of the unacknowledged sends");
        for (int i = 0; i < 5; i++) {
            Done d = p.clientDone.get(i);
            assertEquals(i, d.wrId());
            assertNotEquals(CompletionStatus.SUCCESS, d.status(), d.toString());
        }
        p.pollUntil(() -> p.client.state() != EndpointState.CONNECTED, 10, "the client to notice");
    }

    @Test
    void postsRefuseBadRequestsWithAStatus() throws Exception {
        EndpointOptions o = new EndpointOptions(4, 2, 8192);
        Pair p = pair(o, o);
        MemoryRegion c = region(KIB4, LOCAL);
        MemoryRegion readOnly = region(KIB4, 0);
        assertEquals(PostStatus.BAD_BUFFER, p.client.postSend(c, KIB4 - 10, 11, 1));
        assertEquals(PostStatus.BAD_BUFFER, p.client.postSend(c, -1, 10, 1));
        assertEquals(PostStatus.BAD_LENGTH, p.client.postSend(c, 0, 8193, 1));
        assertEquals(PostStatus.BAD_LENGTH, p.client.postWrite(c, 0, 0, 0, 0, 1));
        assertEquals(PostStatus.BAD_BUFFER, p.client.postRecv(readOnly, 0, 10, 1), "receive needs LOCAL_WRITE");
        assertEquals(PostStatus.OK, p.client.postRecv(c, 0, 10, 1));
        assertEquals(PostStatus.OK, p.client.postRecv(c, 0, 10, 2));
        assertEquals(PostStatus.RECV_QUEUE_FULL, p.client.postRecv(c, 0, 10, 3));
        MemoryRegion gone = region(KIB4, LOCAL);
        gone.close();
        assertEquals(PostStatus.BAD_BUFFER, p.client.postSend(gone, 0, 10, 1));
        assertEquals(0, p.pollRounds(20), "refused posts complete nothing");
    }

    @Test
    void writeWithUnknownKeyIsRefusedByThePeerAndReportedToTheWriter() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(KIB4, LOCAL);
        MemoryRegion target = region(KIB4, REMOTE);
        fill(c.segment(), 0, 64, 1);
        assertEquals(PostStatus.OK, p.client.postWrite(c, 0, 64, target.remoteAddress(0), target.rkey() ^ 0x5a5a00, 1));
        p.pollUntil(() -> p.clientDone.size() == 1, 20, "the refused write's completion");
        assertEquals(CompletionStatus.REMOTE_ACCESS_ERROR, p.clientDone.getFirst().status(), p.clientDone.toString());
        assertArrayEquals(new byte[64], bytes(target.segment(), 0, 64), "nothing written");
        p.pollUntil(() -> p.client.state() == EndpointState.ERROR, 10, "the writer's endpoint to break");
    }

    @Test
    void writeOutsideTheRegionIsRefusedAndNothingIsWritten() throws Exception {
        Pair p = pair(EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
        MemoryRegion c = region(KIB4, LOCAL);
        MemoryRegion target = region(KIB4, REMOTE);
        MemoryRegion neighbour = region(KIB4, REMOTE);
        fill(c.segment(), 0, 128, 1);
        // starts inside, ends 1 byte past the end
        assertEquals(PostStatus.OK, p.client.postWrite(c, 0, 128, target.remoteAddress(KIB4 - 127), target.rkey(), 1));
        p.pollUntil(() -> p.clientDone.size() == 1, 20, "the refused write's completion");
        assertEquals(CompletionStatus.REMOTE_ACCESS_ERROR, p.clientDone.getFirst().status(), p.clientDone.toString());
        assertArrayEquals(new byte[KIB4], bytes(target.segment(), 0, KIB4));
        assertArrayEquals(new byte[KIB4], bytes(neighbour.segment(), 0, KIB4));
    }
}
