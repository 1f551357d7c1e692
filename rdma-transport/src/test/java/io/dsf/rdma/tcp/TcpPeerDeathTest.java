package io.dsf.rdma.tcp;

import io.dsf.bindings.testing.ChildJvm;
import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A peer process killed with SIGKILL mid-conversation: the survivor's unacknowledged sends and
 * its posted receives complete with errors (the oldest send with TRANSPORT_ERROR, the rest
 * FLUSHED), the acknowledged ones stay successful, and nothing hangs.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TcpPeerDeathTest {

    /** The peer: accepts one connection, posts two receives, then polls until killed. */
    public static final class Peer {
        public static void main(String[] args) throws Exception {
            try (TcpTransport t = new TcpTransport(); Arena arena = Arena.ofShared()) {
                CompletionQueue cq = t.createCompletionQueue(256);
                RdmaListener l = t.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                System.out.println("PORT " + l.localAddress().getPort());
                System.out.flush();
                Endpoint e = l.accept(cq, EndpointOptions.DEFAULT, TimeUnit.SECONDS.toNanos(30));
                if (e == null) System.exit(3);
                MemoryRegion r = t.register(arena.allocate(8192), Access.LOCAL_WRITE);
                e.postRecv(r, 0, 4096, 1);
                e.postRecv(r, 4096, 4096, 2);
                Completions c = new Completions(8);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < end) cq.await(c, TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
    }

    @Test
    void killedPeerFailsOutstandingRequestsWithErrors() throws Exception {
        Process child = new ProcessBuilder(ChildJvm.command(List.of(), Peer.class)).redirectErrorStream(true).start();
        try (TcpTransport t = new TcpTransport(); Arena arena = Arena.ofShared()) {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertNotNull(line, "peer printed nothing");
            assertTrue(line.startsWith("PORT "), line);
            int port = Integer.parseInt(line.substring(5).trim());
            CompletionQueue cq = t.createCompletionQueue(256);
            Endpoint e = t.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), cq, EndpointOptions.DEFAULT,
                    TimeUnit.SECONDS.toNanos(20));
            MemoryRegion r = t.register(arena.allocate(8192), Access.LOCAL_WRITE);
            assertEquals(PostStatus.OK, e.postRecv(r, 4096, 4096, 100));
            for (int i = 0; i < 5; i++) assertEquals(PostStatus.OK, e.postSend(r, 0, 1000, i));
            Completions c = new Completions(16);
            List<String> done = new ArrayList<>();
            List<Integer> status = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (status.size() < 2) { // the peer has two receives: two sends are acknowledged
                assertTrue(System.nanoTime() < deadline, "first two sends not acknowledged: " + done);
                int n = cq.await(c, TimeUnit.MILLISECONDS.toNanos(50));
                for (int i = 0; i < n; i++) {
                    done.add(c.describe(i));
                    status.add(c.status(i));
                }
            }
            assertEquals(List.of(CompletionStatus.SUCCESS, CompletionStatus.SUCCESS), status, done.toString());
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            while (status.size() < 6) {
                assertTrue(System.nanoTime() < deadline, "no error completions after the peer died: " + done);
                int n = cq.await(c, TimeUnit.MILLISECONDS.toNanos(50));
                for (int i = 0; i < n; i++) {
                    done.add(c.describe(i));
                    status.add(c.status(i));
                    if (c.opcode(i) == Opcode.RECV) assertEquals(100, c.wrId(i));
                }
            }
            assertEquals(List.of(CompletionStatus.SUCCESS, CompletionStatus.SUCCESS, CompletionStatus.TRANSPORT_ERROR,
                    CompletionStatus.FLUSHED, CompletionStatus.FLUSHED, CompletionStatus.FLUSHED), status, done.toString());
            assertEquals(EndpointState.ERROR, e.state());
            assertEquals(PostStatus.NOT_CONNECTED, e.postSend(r, 0, 10, 9));
            cq.close();
        } finally {
            child.destroyForcibly();
        }
    }
}
