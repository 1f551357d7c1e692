package io.dsf.rdma.tcp;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.testing.Pair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The steady-state message path allocates nothing: after a warm-up, thousands of 4 KiB send/recv
 * and write-with-immediate round trips (posts, polls, frame checks, acknowledgements, both sides
 * stepped by this thread) allocate less than a small fixed bound in total, as counted by the JVM
 * for this thread ({@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TcpHotPathAllocationTest {
    private static final int ROUNDS = 20_000;
    /** Total for all measured rounds: far below one byte per message (a per-message allocation would be >= 16 B each). */
    private static final long BOUND = 64 << 10;

    private final Completions batch = new Completions(16);

    @Test
    void sendRecvAndWriteWithImmediateRoundTripsDoNotAllocate() throws Exception {
        measure(false);
    }

    /** The same through {@code await} (the blocking select path), which a node with a blocking idle strategy uses. */
    @Test
    void theAwaitPathDoesNotAllocateEither() throws Exception {
        measure(true);
    }

    private boolean useAwait;

    private void measure(boolean await) throws Exception {
        useAwait = await;
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled(), "allocation counting unavailable");
        try (TcpTransport t = new TcpTransport(); Arena arena = Arena.ofShared()) {
            Pair p = new Pair(t, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), EndpointOptions.DEFAULT, EndpointOptions.DEFAULT);
            try {
                MemoryRegion c = t.register(arena.allocate(16384, 4096), Access.LOCAL_WRITE | Access.REMOTE_WRITE);
                MemoryRegion s = t.register(arena.allocate(16384, 4096), Access.LOCAL_WRITE | Access.REMOTE_WRITE);
                rounds(p, c, s, 3000); // warm-up: JIT, selector key sets, first-use paths
                long before = mx.getCurrentThreadAllocatedBytes();
                rounds(p, c, s, ROUNDS);
                long allocated = mx.getCurrentThreadAllocatedBytes() - before;
                System.out.println("hot path (" + (await ? "await" : "poll") + "): " + allocated + " bytes allocated over " + ROUNDS + " round trips ("
                        + (4 * ROUNDS) + " messages)");
                assertTrue(allocated < BOUND, allocated + " bytes allocated over " + ROUNDS + " round trips");
            } finally {
                p.close();
            }
        }
    }

    /** Alternates a send/recv round trip and a write-with-immediate round trip. */
    private void rounds(Pair p, MemoryRegion c, MemoryRegion s, int n) {
        for (int i = 0; i < n; i++) {
            boolean write = (i & 1) == 1;
            check(p.server.postRecv(s, 0, 4096, 1));
            check(p.client.postRecv(c, 4096, 4096, 2));
            if (write) check(p.client.postWriteWithImm(c, 0, 4096, s.remoteAddress(8192), s.rkey(), i, 3));
            else check(p.client.postSend(c, 0, 4096, 3));
            await(p.serverCq, write ? Opcode.RECV_RDMA_WITH_IMM : Opcode.RECV, p.clientCq);
            if (write) check(p.server.postWriteWithImm(s, 8192, 4096, c.remoteAddress(8192), c.rkey(), i, 4));
            else check(p.server.postSend(s, 0, 4096, 4));
            await(p.clientCq, write ? Opcode.RECV_RDMA_WITH_IMM : Opcode.RECV, p.serverCq);
        }
        // drain the send completions of the last round
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (p.client.sendsOutstanding() + p.server.sendsOutstanding() > 0) {
            if (System.nanoTime() > deadline) fail("send completions missing");
            p.clientCq.poll(batch);
            p.serverCq.poll(batch);
        }
    }

    /** Polls {@code cq} (and {@code other}, which must see only successes) until a receive of {@code opcode} arrives. */
    private void await(CompletionQueue cq, int opcode, CompletionQueue other) {
        long spins = 0;
        while (true) {
            int n = useAwait ? cq.await(batch, 1_000_000_000L) : cq.poll(batch);
            boolean got = false;
            for (int i = 0; i < n; i++) {
                if (batch.status(i) != CompletionStatus.SUCCESS) fail(batch.describe(i));
                if (batch.opcode(i) == opcode) got = true;
            }
            n = other.poll(batch);
            for (int i = 0; i < n; i++) if (batch.status(i) != CompletionStatus.SUCCESS) fail(batch.describe(i));
            if (got) return;
            if (++spins > 50_000_000L) fail("no completion");
        }
    }

    private static void check(int status) {
        if (status != PostStatus.OK) assertEquals(PostStatus.OK, status, PostStatus.name(status));
    }
}
