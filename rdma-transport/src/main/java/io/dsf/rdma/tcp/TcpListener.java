package io.dsf.rdma.tcp;

import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaListener;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

import static io.dsf.rdma.api.RdmaException.Kind.*;

/**
 * Listening socket of the tcp transport. {@link #accept} runs the handshake on the accepting
 * thread, with {@link #HANDSHAKE_NANOS} for it whatever the accept timeout; a peer failing it is
 * logged and dropped. Control path: one accepting thread at a time;
 * {@link #close} may come from any thread.
 */
final class TcpListener implements RdmaListener {
    private static final System.Logger LOG = System.getLogger(TcpListener.class.getName());
    /** A peer gets at most this long to complete its handshake, so a silent one cannot hold the listener. */
    static final long HANDSHAKE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final TcpTransport transport;
    private final ServerSocketChannel server;
    private final Selector selector;
    private final InetSocketAddress local;

    TcpListener(TcpTransport transport, InetSocketAddress address) throws RdmaException {
        this.transport = transport;
        ServerSocketChannel s = null;
        Selector sel = null;
        try {
            s = ServerSocketChannel.open();
            s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            s.bind(address, 64);
            s.configureBlocking(false);
            sel = Selector.open();
            s.register(sel, SelectionKey.OP_ACCEPT);
            this.local = (InetSocketAddress) s.getLocalAddress();
        } catch (IOException e) {
            TcpTransport.closeQuietly(s);
            if (sel != null) try { sel.close(); } catch (IOException ignored) { /* dropping it */ }
            throw new RdmaException(IO, "listen on " + address + ": " + e.getMessage(), e);
        }
        this.server = s;
        this.selector = sel;
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public Endpoint accept(CompletionQueue cq, EndpointOptions options, long timeoutNanos) throws RdmaException {
        TcpCompletionQueue q = transport.checkQueue(cq, options);
        long deadline = System.nanoTime() + timeoutNanos;
        try {
            while (true) {
                if (!server.isOpen()) throw new RdmaException(CLOSED, "listener closed");
                SocketChannel ch = server.accept();
                if (ch == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) return null;
                    selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    selector.selectedKeys().clear();
                    continue;
                }
                try {
                    ch.configureBlocking(false);
                    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    // the accept timeout bounds the wait for a connection, not the handshake of one that came:
                    // a peer accepted just before the accept deadline still gets its full handshake time
                    long handshakeDeadline = System.nanoTime() + HANDSHAKE_NANOS;
                    Handshake.Peer peer = Handshake.acceptor(ch, options, handshakeDeadline);
                    TcpEndpoint e = new TcpEndpoint(transport, q, ch, options, peer);
                    q.handOver(e);
                    return e;
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "rejected connection from " + remoteOf(ch) + ": " + e.getMessage());
                    TcpTransport.closeQuietly(ch);
                    if (e instanceof RdmaException r && r.kind() == TIMEOUT && System.nanoTime() - deadline >= 0) return null;
                }
            }
        } catch (java.nio.channels.ClosedSelectorException e) {
            throw new RdmaException(CLOSED, "listener closed", e);
        } catch (IOException e) {
            if (e instanceof RdmaException r) throw r;
            if (!server.isOpen()) throw new RdmaException(CLOSED, "listener closed", e);
            throw new RdmaException(IO, "accept on " + local + ": " + e.getMessage(), e);
        }
    }

    private static String remoteOf(SocketChannel ch) {
        try {
            return String.valueOf(ch.getRemoteAddress());
        } catch (IOException e) {
            return "?";
        }
    }

    @Override
    public void close() {
        TcpTransport.closeQuietly(server);
        try {
            selector.close();
        } catch (IOException ignored) {
            // dropping it
        }
        transport.forget(this);
    }
}
