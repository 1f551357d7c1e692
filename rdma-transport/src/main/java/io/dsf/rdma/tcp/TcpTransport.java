package io.dsf.rdma.tcp;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.api.RdmaTransport;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

import static io.dsf.rdma.api.RdmaException.Kind.*;

/**
 * The RDMA SPI over TCP: same semantics as verbs (registered regions with keys, ordered reliable
 * connections, one-sided writes applied by the receiving side's poller into the registered
 * region after key and bounds checks, completions only on acknowledgement), for machines without
 * RDMA hardware. The wire format is {@link io.dsf.rdma.protocol.FrameDescriptor}. Thread safe
 * (control path); the registration table is read lock-free by pollers.
 */
public final class TcpTransport implements RdmaTransport {
    private static final int KEY_SHIFT = 8;

    private final Object lock = new Object();
    /** Copy-on-write: index = (key >>> 8) - 1. Written under {@link #lock}, read by any poller. */
    private volatile TcpMemoryRegion[] table = new TcpMemoryRegion[16];
    private int generation; // under lock
    private final List<TcpListener> listeners = new ArrayList<>(); // under lock
    private volatile boolean closed;

    public TcpTransport() {
        this(TcpEndpoint.ACK_DELAY_NANOS);
    }

    /** Longest a received frame's acknowledgement waits for an outgoing frame to ride on (see {@link TcpEndpoint}). */
    final long ackDelayNanos;

    /** Tests: a transport whose endpoints hold acknowledgements {@code ackDelayNanos} at most. */
    TcpTransport(long ackDelayNanos) {
        if (ackDelayNanos < 0) throw new IllegalArgumentException("negative acknowledgement delay");
        this.ackDelayNanos = ackDelayNanos;
    }

    @Override
    public String kind() {
        return "tcp";
    }

    @Override
    public MemoryRegion register(MemorySegment segment, int access) throws RdmaException {
        if (!segment.isNative()) throw new RdmaException(INVALID_ARGUMENT, "only native segments can be registered");
        if (segment.byteSize() == 0) throw new RdmaException(INVALID_ARGUMENT, "empty segment");
        if ((access & ~Access.ALL) != 0) throw new RdmaException(INVALID_ARGUMENT, "unknown access flags " + Integer.toHexString(access));
        if ((access & Access.REMOTE_WRITE) != 0 && (access & Access.LOCAL_WRITE) == 0)
            throw new RdmaException(INVALID_ARGUMENT, "REMOTE_WRITE needs LOCAL_WRITE (as in verbs)");
        synchronized (lock) {
            if (closed) throw new RdmaException(CLOSED, "transport closed");
            TcpMemoryRegion[] t = table;
            int free = -1;
            for (int i = 0; i < t.length; i++) if (t[i] == null) { free = i; break; }
            if (free < 0) {
                if (t.length >= 1 << 23) throw new RdmaException(RESOURCE, "too many registered regions");
                free = t.length;
                t = java.util.Arrays.copyOf(t, t.length * 2);
            } else {
                t = t.clone();
            }
            int key = ((free + 1) << KEY_SHIFT) | (generation++ & 0xff);
            TcpMemoryRegion r = new TcpMemoryRegion(this, segment, access, key);
            t[free] = r;
            table = t;
            return r;
        }
    }

    void deregister(TcpMemoryRegion r) {
        synchronized (lock) {
            int i = (r.key >>> KEY_SHIFT) - 1;
            TcpMemoryRegion[] t = table;
            if (i >= 0 && i < t.length && t[i] == r) {
                t = t.clone();
                t[i] = null;
                table = t;
            }
        }
    }

    /** The open region with this key, or {@code null}. Any thread; no allocation. */
    TcpMemoryRegion lookup(int key) {
        int i = (key >>> KEY_SHIFT) - 1;
        TcpMemoryRegion[] t = table;
        if (i < 0 || i >= t.length) return null;
        TcpMemoryRegion r = t[i];
        return r != null && r.key == key && r.isOpen() ? r : null;
    }

    @Override
    public CompletionQueue createCompletionQueue(int capacity) throws RdmaException {
        if (closed) throw new RdmaException(CLOSED, "transport closed");
        if (capacity < 1) throw new RdmaException(INVALID_ARGUMENT, "capacity must be positive: " + capacity);
        return new TcpCompletionQueue(this, capacity);
    }

    @Override
    public RdmaListener listen(InetSocketAddress address) throws RdmaException {
        synchronized (lock) {
            if (closed) throw new RdmaException(CLOSED, "transport closed");
            TcpListener l = new TcpListener(this, address);
            listeners.add(l);
            return l;
        }
    }

    void forget(TcpListener l) {
        synchronized (lock) {
            listeners.remove(l);
        }
    }

    @Override
    public Endpoint connect(InetSocketAddress remote, CompletionQueue cq, EndpointOptions options, long timeoutNanos)
            throws RdmaException {
        TcpCompletionQueue q = checkQueue(cq, options);
        long deadline = System.nanoTime() + timeoutNanos;
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            boolean done = ch.connect(remote);
            if (!done) Handshake.finishConnect(ch, deadline, remote);
            Handshake.Peer peer = Handshake.connector(ch, options, deadline);
            TcpEndpoint e = new TcpEndpoint(this, q, ch, options, peer);
            q.handOver(e);
            return e;
        } catch (RdmaException ex) {
            closeQuietly(ch);
            throw ex;
        } catch (IOException ex) {
            closeQuietly(ch);
            throw new RdmaException(ex instanceof java.net.ConnectException ? CONNECTION_REFUSED : IO,
                    "connect to " + remote + ": " + ex.getMessage(), ex);
        }
    }

    TcpCompletionQueue checkQueue(CompletionQueue cq, EndpointOptions options) throws RdmaException {
        if (closed) throw new RdmaException(CLOSED, "transport closed");
        if (!(cq instanceof TcpCompletionQueue q) || q.transport != this)
            throw new RdmaException(INVALID_ARGUMENT, "completion queue of another transport");
        if (q.isClosed()) throw new RdmaException(CLOSED, "completion queue closed");
        if (q.capacity() < options.completionsNeeded())
            throw new RdmaException(RESOURCE, "completion queue capacity " + q.capacity() + " < send + receive depth "
                    + options.completionsNeeded());
        return q;
    }

    static void closeQuietly(java.nio.channels.Channel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing more to do for a channel being dropped
        }
    }

    @Override
    public void close() {
        List<TcpListener> ls;
        synchronized (lock) {
            if (closed) return;
            closed = true;
            ls = new ArrayList<>(listeners);
            listeners.clear();
            TcpMemoryRegion[] t = table;
            table = new TcpMemoryRegion[0];
            for (TcpMemoryRegion r : t) if (r != null) r.close();
        }
        for (TcpListener l : ls) l.close();
    }
}
