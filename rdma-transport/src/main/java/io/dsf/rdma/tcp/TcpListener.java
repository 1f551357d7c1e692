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
 * Listening socket of the tcp transport. {@link #accept} runs the handshakes on the accepting
 * thread, several at once without blocking on any; each connection has {@link #HANDSHAKE_NANOS}
 * for its HELLO, across accept calls; a peer failing it is logged and dropped. Control path: one
 * accepting thread at a time;
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

    /** A connection whose HELLO has not fully arrived: kept across accept calls until its own handshake deadline. */
    private static final class Pending {
        final SocketChannel ch;
        final SelectionKey key;
        final java.nio.ByteBuffer in = java.nio.ByteBuffer.allocateDirect(Handshake.HELLO_FRAME).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        final long deadline;
        boolean headerChecked;

        Pending(SocketChannel ch, SelectionKey key, long deadline) {
            this.ch = ch;
            this.key = key;
            this.deadline = deadline;
        }
    }

    private final java.util.ArrayDeque<Pending> pending = new java.util.ArrayDeque<>();

    /**
     * Waits up to {@code timeoutNanos} for a connection whose handshake completes. The timeout bounds
     * this call only: a connection whose HELLO has not arrived when it ends stays pending, with its own
     * {@link #HANDSHAKE_NANOS}, for the next call (a replica service polls accept with short timeouts;
     * a peer whose HELLO came just after one poll's end used to be reset).
     */
    @Override
    public Endpoint accept(CompletionQueue cq, EndpointOptions options, long timeoutNanos) throws RdmaException {
        TcpCompletionQueue q = transport.checkQueue(cq, options);
        long deadline = System.nanoTime() + timeoutNanos;
        try {
            while (true) {
                if (!server.isOpen()) throw new RdmaException(CLOSED, "listener closed");
                for (SocketChannel ch; (ch = server.accept()) != null; ) {
                    try {
                        ch.configureBlocking(false);
                        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                        pending.add(new Pending(ch, ch.register(selector, SelectionKey.OP_READ), System.nanoTime() + HANDSHAKE_NANOS));
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.WARNING, "rejected connection from " + remoteOf(ch) + ": " + e.getMessage());
                        TcpTransport.closeQuietly(ch);
                    }
                }
                Endpoint e = progress(q, options);
                if (e != null) return e;
                long now = System.nanoTime(), left = deadline - now;
                if (left <= 0) return null;
                for (Pending p : pending) left = Math.min(left, p.deadline - now);
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(Math.max(0, left))));
                selector.selectedKeys().clear();
            }
        } catch (java.nio.channels.ClosedSelectorException e) {
            throw new RdmaException(CLOSED, "listener closed", e);
        } catch (IOException e) {
            if (e instanceof RdmaException r) throw r;
            if (!server.isOpen()) throw new RdmaException(CLOSED, "listener closed", e);
            throw new RdmaException(IO, "accept on " + local + ": " + e.getMessage(), e);
        }
    }

    /** Reads what has arrived of every pending HELLO; returns the first connection whose handshake completed. */
    private Endpoint progress(TcpCompletionQueue q, EndpointOptions options) {
        for (java.util.Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            try {
                int n = p.ch.read(p.in);
                if (n < 0) throw new RdmaException(PROTOCOL, "peer closed during the handshake", new java.io.EOFException());
                if (!p.headerChecked && p.in.position() >= io.dsf.rdma.protocol.FrameDescriptor.HEADER_LENGTH) {
                    Handshake.checkHelloHeader(p.in);
                    p.headerChecked = true;
                }
                if (p.in.hasRemaining()) {
                    if (System.nanoTime() - p.deadline >= 0) throw new RdmaException(TIMEOUT, "handshake timed out");
                    continue;
                }
                it.remove();
                p.key.cancel();
                Handshake.Peer peer = Handshake.parseHello(p.in);
                Handshake.writeFully(p.ch, Handshake.hello(options), System.nanoTime() + HANDSHAKE_NANOS);
                TcpEndpoint e = new TcpEndpoint(transport, q, p.ch, options, peer);
                q.handOver(e);
                return e;
            } catch (IOException e) {
                it.remove();
                p.key.cancel();
                LOG.log(System.Logger.Level.WARNING, "rejected connection from " + remoteOf(p.ch) + ": " + e.getMessage());
                TcpTransport.closeQuietly(p.ch);
            }
        }
        return null;
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
        for (Pending p : pending) TcpTransport.closeQuietly(p.ch);
        pending.clear();
        TcpTransport.closeQuietly(server);
        try {
            selector.close();
        } catch (IOException ignored) {
            // dropping it
        }
        transport.forget(this);
    }
}
