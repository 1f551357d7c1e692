package io.dsf.rdma.tcp;

import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.RdmaListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The accept timeout bounds one accept call, not the handshake of a connection that came: a
 * connection whose HELLO has not arrived stays pending for the next call.
 * A replica service polls {@code accept} with a short timeout to notice its own shutdown; a peer whose
 * HELLO arrives after that poll's deadline must still be accepted, not reset (seen as "Connection
 * reset" on a primary failing over to a new peer).
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TcpListenerTest {
    private static final EndpointOptions OPTIONS = new EndpointOptions(8, 4, 8192);

    @Test
    void aHelloArrivingAfterTheAcceptTimeoutIsStillAccepted() throws Exception {
        try (TcpTransport t = new TcpTransport()) {
            CompletionQueue cq = t.createCompletionQueue(64);
            RdmaListener l = t.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (Socket raw = new Socket(l.localAddress().getAddress(), l.localAddress().getPort())) {
                raw.setSoTimeout(10_000);
                // the connection is queued before accept runs; accept is polled with 20 ms timeouts, as a service does
                CompletableFuture<Endpoint> accepted = CompletableFuture.supplyAsync(() -> {
                    try {
                        long t0 = System.nanoTime();
                        Endpoint first = l.accept(cq, OPTIONS, TimeUnit.MILLISECONDS.toNanos(20));
                        if (first != null) throw new AssertionError("accepted before the HELLO came");
                        if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(2)) throw new AssertionError("accept overran its timeout");
                        for (int i = 0; i < 500; i++) {
                            Endpoint e = l.accept(cq, OPTIONS, TimeUnit.MILLISECONDS.toNanos(20));
                            if (e != null) return e;
                        }
                        return null;
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                Thread.sleep(300); // the peer is slow: its HELLO comes well after the first accept's timeout
                ByteBuffer hello = Handshake.hello(new EndpointOptions(8, 8, 8192));
                byte[] out = new byte[hello.remaining()];
                hello.get(out);
                raw.getOutputStream().write(out);
                Endpoint e = accepted.get(20, TimeUnit.SECONDS);
                assertNotNull(e, "the connection was dropped instead of accepted");
                assertEquals(EndpointState.CONNECTED, e.state());
                byte[] back = raw.getInputStream().readNBytes(Handshake.HELLO_FRAME);
                assertEquals(Handshake.HELLO_FRAME, back.length, "the acceptor answered with its HELLO");
                e.close();
            }
            l.close();
        }
    }
}
