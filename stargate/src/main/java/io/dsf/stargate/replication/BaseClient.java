package io.dsf.stargate.replication;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaTransport;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The owner side of {@code BASE} ({@link ReplicationDescriptor}, wire version 4): announces to a
 * peer's replica service that this node's (vDisk, shard) has base B, and waits for the peer's ACK,
 * which comes once the peer recorded the base durably and deleted (and synced) its segments of that
 * shard wholly below B. One connection per peer, kept for the next announcement and dropped on any
 * failure. Blocking, control path (a node-level background thread); one thread at a time, not
 * thread safe.
 */
public final class BaseClient implements Rereplicator.Announcer, AutoCloseable {
    private static final EndpointOptions EP = new EndpointOptions(2, 2, 4096);
    private static final long K_SEND = 1, K_RECV = 2;
    private static final int RECV_AT = 1024;

    private final RdmaTransport transport;
    private final String nodeId;
    private final byte[] nodeBytes;
    private final long timeoutNanos;
    private final Map<String, Conn> conns = new HashMap<>();
    private boolean closed;

    /** One cached connection: its own buffer (trailer out at 0, answer in at {@link #RECV_AT}), queue and endpoint. */
    private final class Conn implements AutoCloseable {
        final PeerAddress peer;
        final Arena arena = Arena.ofShared();
        final MemorySegment buf = arena.allocate(4096, 4096);
        final ByteBuffer view = buf.asByteBuffer();
        final MemoryRegion mr;
        final CompletionQueue cq;
        final Endpoint ep;
        final Completions comps = new Completions(4);
        final ReplicationFrame frame = new ReplicationFrame();

        Conn(PeerAddress peer) throws RdmaException {
            this.peer = peer;
            MemoryRegion m = null;
            CompletionQueue q = null;
            try {
                m = transport.register(buf, Access.LOCAL_WRITE);
                q = transport.createCompletionQueue(EP.completionsNeeded());
                this.ep = transport.connect(peer.socketAddress(), q, EP, timeoutNanos);
            } catch (RdmaException | RuntimeException e) {
                if (q != null) q.close();
                if (m != null) m.close();
                arena.close();
                throw e;
            }
            this.mr = m;
            this.cq = q;
        }

        @Override
        public void close() {
            ep.close();
            cq.close();
            mr.close();
            arena.close();
        }
    }

    /**
     * @param t            the transport the replica services listen on
     * @param nodeId       this node's id (the owner named in every {@code BASE})
     * @param timeoutNanos bound on connecting, and on waiting for each answer
     */
    public BaseClient(RdmaTransport t, String nodeId, long timeoutNanos) {
        if (timeoutNanos <= 0) throw new IllegalArgumentException("timeout must be positive: " + timeoutNanos);
        this.transport = t;
        this.nodeId = PeerAddress.checkId(nodeId);
        this.nodeBytes = nodeId.getBytes(StandardCharsets.US_ASCII);
        this.timeoutNanos = timeoutNanos;
    }

    /**
     * Connects to {@code peer} (the connection is kept for announcements): whether its replica
     * service answers at all. Throws naming the peer when it cannot be reached.
     */
    @Override
    public void probe(PeerAddress peer) throws IOException {
        if (closed) throw new IllegalStateException("closed");
        String key = peer.id() + "@" + peer.host() + ":" + peer.port();
        if (conns.containsKey(key)) return;
        try {
            conns.put(key, new Conn(peer));
        } catch (RdmaException e) {
            throw new IOException(peer + " unreachable: " + e.getMessage(), e);
        }
    }

    /**
     * Announces base {@code base} of this node's vDisk {@code vdiskId}, shard {@code shard}, to
     * {@code peer} and returns once the peer acknowledged it (durably recorded, redundant segments
     * deleted). A lower or equal base than the one the peer holds is acknowledged too (no-op).
     *
     * @throws IOException naming the peer when it cannot be reached, refuses (NACK), resets the
     *                     connection, answers wrongly or not within the timeout; the connection is dropped
     */
    @Override
    public void announce(PeerAddress peer, long vdiskId, int shard, long base) throws IOException {
        if (closed) throw new IllegalStateException("closed");
        if (base <= 0) throw new IllegalArgumentException("base must be positive: " + base);
        if (vdiskId < 0 || shard < 0 || shard >= ReplicaService.MAX_SHARDS)
            throw new IllegalArgumentException("vDisk " + vdiskId + " shard " + shard);
        String key = peer.id() + "@" + peer.host() + ":" + peer.port();
        Conn cached = conns.remove(key);
        if (cached != null) {
            try {
                exchange(cached, vdiskId, shard, base);
                conns.put(key, cached);
                return;
            } catch (Broken e) {
                cached.close(); // the peer closed it since (a restart): once more on a new connection (BASE is idempotent)
            } catch (IOException | RuntimeException e) {
                cached.close();
                throw e;
            }
        }
        Conn c;
        try {
            c = new Conn(peer);
        } catch (RdmaException e) {
            throw new IOException("base " + base + " of vDisk " + vdiskId + " shard " + shard + " to " + peer + ": unreachable: "
                    + e.getMessage(), e);
        }
        try {
            exchange(c, vdiskId, shard, base);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        conns.put(key, c);
    }

    /** The connection broke before an answer came (posting failed, or a work request completed in error). */
    private static final class Broken extends IOException {
        Broken(String m) { super(m); }
    }

    private void exchange(Conn c, long vdiskId, int shard, long base) throws IOException {
        String what = "base " + base + " of vDisk " + vdiskId + " shard " + shard + " to " + c.peer;
        if (c.ep.postRecv(c.mr, RECV_AT, ReplicationDescriptor.TRAILER, K_RECV) != PostStatus.OK)
            throw new Broken(what + ": cannot post a receive");
        c.frame.wrap(c.buf, c.view, 0).encode(ReplicationDescriptor.TYPE_BASE, 0, 0, base, vdiskId, shard, 0, 0, 0, nodeBytes);
        int st = c.ep.postSend(c.mr, 0, ReplicationDescriptor.TRAILER, K_SEND);
        if (st != PostStatus.OK) throw new Broken(what + ": send refused: " + PostStatus.name(st));
        long deadline = System.nanoTime() + timeoutNanos;
        int got = -1;
        while (got < 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new IOException(what + ": no answer within " + timeoutNanos / 1_000_000 + " ms");
            int k = c.cq.await(c.comps, Math.min(left, 50_000_000L));
            for (int i = 0; i < k; i++) {
                if (!c.comps.isSuccess(i))
                    throw new Broken(what + ": connection failed (" + CompletionStatus.name(c.comps.status(i))
                            + "; a peer resets the connection on a BASE it finds malformed or of an older wire version)");
                if (c.comps.wrId(i) == K_RECV) got = c.comps.byteLength(i);
            }
        }
        if (got != ReplicationDescriptor.TRAILER) throw new IOException(what + ": answer of " + got + " bytes");
        ReplicationFrame f = c.frame.wrap(c.buf, c.view, RECV_AT);
        int v = f.validate(got);
        if (v != ReplicationFrame.VALID) throw new IOException(what + ": bad answer: " + ReplicationFrame.resultName(v));
        if (f.batchId() != base || f.vdisk() != vdiskId || f.shard() != shard || !f.ownerEquals(nodeBytes))
            throw new IOException(what + ": answer about something else (base " + f.batchId() + ", vDisk " + f.vdisk() + ", shard "
                    + f.shard() + ", owner " + f.owner() + ")");
        if (f.type() == ReplicationDescriptor.TYPE_NACK)
            throw new IOException(what + ": refused: " + ReplicationDescriptor.reasonName(f.reason()));
        if (f.type() != ReplicationDescriptor.TYPE_ACK)
            throw new IOException(what + ": answered with " + ReplicationDescriptor.typeName(f.type()));
    }

    /** This node's id, as sent in every {@code BASE}. */
    public String nodeId() { return nodeId; }

    /** Closes every cached connection. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Conn c : conns.values()) c.close();
        conns.clear();
    }
}
