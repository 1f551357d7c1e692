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
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The puller side of the pull protocol ({@link ReplicationDescriptor}: {@code PULL}, {@code NEXT}):
 * one connection to one replica service, lock step (one request, one answer). {@link #start} asks
 * for an owner's vDisk by name and returns its metadata; {@link #next} returns each base the peer
 * holds for the vDisk ({@link #BASE}: {@link #shard()}, {@link #base()}; before the batches, and again
 * if one rose during the pull), each stored batch, checked on receipt (trailer, placement, the
 * batch's header and data checksums), then {@link #END}. A shard's entries below its base are
 * redundant (every block's newest value is at or above it, or the block is zero), so the peer may
 * leave out batches wholly below it and may have deleted them. Anything unexpected (a bad trailer, a wrong type or request id, a batch that fails
 * a checksum, no answer within the timeout, a broken connection) throws {@link PullException}.
 * Control path; owned by one thread, not thread safe.
 */
public final class ReplicaPuller implements AutoCloseable {
    private static final EndpointOptions EP = new EndpointOptions(4, 2, 1 << 20);
    private static final long K_SEND = 1, K_RECV = 2;
    /** {@link #next} after the last batch. */
    public static final int END = -1;
    /** {@link #next} returned a base: {@link #shard()} and {@link #base()} say which. */
    public static final int BASE = -2;
    /**
     * {@link #next} returned a synthetic batch of the peer's image ({@link #batch()}, {@link #batchBytes()},
     * {@link #shard()}, {@link #vblock()}): drained blocks of one vBlock, each entry with its own block's
     * sequence. Not a batch the owner wrote: merge its entries per block, never deduplicate it as a batch.
     */
    public static final int IMAGE = -3;
    /** {@link #next} returned the sequence ranges the peer drained for {@link #shard()} ({@link #ranges()}): count them as present. */
    public static final int COVERED = -4;

    /** A pull failed: the peer's answer was wrong or missing. */
    public static final class PullException extends IOException {
        public PullException(String m) { super(m); }
    }

    private final String peer;
    private final long answerNanos;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment send, recv;
    private final ByteBuffer sendView, recvView;
    private final MemoryRegion sendMr, recvMr;
    private final CompletionQueue cq;
    private final Endpoint ep;
    private final Completions comps = new Completions(8);
    private final ReplicationFrame frame = new ReplicationFrame();
    private final CRC32C crc = new CRC32C();
    private byte[] owner;
    private long requestId;
    private ReplicaVDisk vd;
    private boolean ended;

    // the last batch received
    private int batchBytes, shard;
    private long segment, offset, segmentBytes, base;
    private long[] ranges = new long[0];

    /**
     * Connects to the replica service at {@code at} ({@code peer}: a name for messages).
     *
     * @throws RdmaException when it cannot be reached within {@code timeoutNanos}
     */
    public ReplicaPuller(RdmaTransport t, String peer, InetSocketAddress at, long timeoutNanos) throws RdmaException {
        this(t, peer, at, timeoutNanos, timeoutNanos);
    }

    /**
     * Connects to the replica service at {@code at} ({@code peer}: a name for messages), waiting at
     * most {@code connectNanos} for the connection and {@code answerNanos} for each answer (a replica
     * defers an answer while a drain rewrites the image it is about to send, and reads its store
     * on a busy machine: longer than a connection takes).
     *
     * @throws RdmaException when it cannot be reached within {@code connectNanos}
     */
    public ReplicaPuller(RdmaTransport t, String peer, InetSocketAddress at, long connectNanos, long answerNanos) throws RdmaException {
        this.peer = peer;
        this.answerNanos = answerNanos;
        send = arena.allocate(4096, 4096);
        recv = arena.allocate(ReplicationDescriptor.RECV_BUFFER, 4096);
        sendView = send.asByteBuffer();
        recvView = recv.asByteBuffer();
        MemoryRegion s = null, r = null;
        CompletionQueue q = null;
        Endpoint e = null;
        try {
            s = t.register(send, Access.LOCAL_WRITE);
            r = t.register(recv, Access.LOCAL_WRITE);
            q = t.createCompletionQueue(EP.completionsNeeded());
            e = t.connect(at, q, EP, connectNanos);
        } catch (RdmaException | RuntimeException x) {
            if (q != null) q.close();
            if (r != null) r.close();
            if (s != null) s.close();
            arena.close();
            throw x;
        }
        sendMr = s;
        recvMr = r;
        cq = q;
        ep = e;
    }

    /**
     * Asks for what the peer holds of {@code owner}'s vDisk {@code name}: its metadata (of the
     * newest vDisk of that name the peer knows), or null when the peer holds none.
     */
    public ReplicaVDisk start(String owner, String name) throws PullException {
        if (this.owner != null) throw new IllegalStateException("one pull per connection");
        this.owner = owner.getBytes(StandardCharsets.US_ASCII);
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length < 1 || n.length > ReplicationDescriptor.MAX_NAME) throw new IllegalArgumentException("vDisk name of " + n.length + " bytes");
        MemorySegment.copy(n, 0, send, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, n.length);
        requestId = System.nanoTime() & Long.MAX_VALUE;
        int len = exchange(ReplicationDescriptor.TYPE_PULL, n.length);
        ReplicationFrame f = frame.wrap(recv, recvView, len - ReplicationDescriptor.TRAILER);
        if (f.type() == ReplicationDescriptor.TYPE_NACK) {
            if (f.reason() == ReplicationDescriptor.REASON_UNKNOWN_VDISK) return null;
            throw new PullException(peer + ": pull refused: " + ReplicationDescriptor.reasonName(f.reason()));
        }
        if (f.type() != ReplicationDescriptor.TYPE_META) throw new PullException(peer + ": answered a PULL with " + ReplicationDescriptor.typeName(f.type()));
        ReplicaVDisk m = ReplicaVDisk.decode(owner, recv, 0, f.payloadLength());
        if (m == null) throw new PullException(peer + ": malformed vDisk metadata");
        if (m.id() != f.vdisk() || !m.name().equals(name)) throw new PullException(peer + ": metadata of another vDisk (" + m + ")");
        vd = m;
        return m;
    }

    /**
     * Fetches the next answer: a batch (returns its length in bytes; it sits at offset 0 of
     * {@link #batch()}, verified; {@link #shard()}, {@link #segment()}... say where it was stored), a
     * base ({@link #BASE}; {@link #shard()} and {@link #base()}), or {@link #END} after the last batch.
     */
    public int next() throws PullException {
        if (vd == null) throw new IllegalStateException("no pull started");
        if (ended) return END;
        int len = exchange(ReplicationDescriptor.TYPE_NEXT, 0);
        ReplicationFrame f = frame.wrap(recv, recvView, len - ReplicationDescriptor.TRAILER);
        switch (f.type()) {
            case ReplicationDescriptor.TYPE_END -> {
                ended = true;
                return END;
            }
            case ReplicationDescriptor.TYPE_NACK -> throw new PullException(peer + ": pull failed: " + ReplicationDescriptor.reasonName(f.reason()));
            case ReplicationDescriptor.TYPE_PULLED -> { }
            case ReplicationDescriptor.TYPE_BASE -> {
                int sh = f.shard();
                long b = f.segment();
                if (f.vdisk() != vd.id() || sh < 0 || sh >= vd.shards() || b <= 0 || f.segmentOffset() != 0 || f.segmentBytes() != 0)
                    throw new PullException(peer + ": malformed base (vDisk " + f.vdisk() + " shard " + sh + " base " + b + ")");
                shard = sh;
                base = b;
                batchBytes = 0;
                return BASE;
            }
            case ReplicationDescriptor.TYPE_IMAGE -> {
                return image(f);
            }
            case ReplicationDescriptor.TYPE_COVERED -> {
                return covered(f);
            }
            default -> throw new PullException(peer + ": answered a NEXT with " + ReplicationDescriptor.typeName(f.type()));
        }
        int n = f.payloadLength();
        long off = f.segmentOffset(), segBytes = f.segmentBytes(), seg = f.segment();
        int sh = f.shard();
        if (f.vdisk() != vd.id() || sh < 0 || sh >= vd.shards() || seg < 0 || off < 0 || (off & 4095) != 0
                || segBytes < n || off > segBytes - n)
            throw new PullException(peer + ": pulled batch with a bad placement (vDisk " + f.vdisk() + " shard " + sh + " segment " + seg
                    + " offset " + off + " of " + segBytes + ")");
        int v = OpLogBatchView.verify(recv, recvView, 0, n, crc);
        if (v != OpLogBatchView.OK)
            throw new PullException(peer + ": pulled batch at shard " + sh + " segment " + seg + " offset " + off + ": "
                    + ReplicationDescriptor.reasonName(v));
        batchBytes = n;
        shard = sh;
        segment = seg;
        offset = off;
        segmentBytes = segBytes;
        return n;
    }

    /** Checks an IMAGE answer: placement, the synthetic batch's checksums, every entry inside its vBlock with a sequence. */
    private int image(ReplicationFrame f) throws PullException {
        int n = f.payloadLength(), sh = f.shard();
        long vb = f.segment(), vblocks = (vd.size() / ReplicaImage.PAGE + ReplicaImage.VBLOCK_BLOCKS - 1) / ReplicaImage.VBLOCK_BLOCKS;
        if (f.vdisk() != vd.id() || sh < 0 || sh >= vd.shards() || vb < 0 || vb >= vblocks || vb % vd.shards() != sh
                || f.segmentOffset() != 0 || f.segmentBytes() != 0)
            throw new PullException(peer + ": image batch with a bad placement (vDisk " + f.vdisk() + " shard " + sh + " vBlock " + vb + ")");
        int v = OpLogBatchView.verify(recv, recvView, 0, n, crc);
        if (v != OpLogBatchView.OK)
            throw new PullException(peer + ": image batch of shard " + sh + " vBlock " + vb + ": " + ReplicationDescriptor.reasonName(v));
        for (int i = 0, c = OpLogBatchView.count(recv, 0); i < c; i++) {
            long seq = OpLogBatchView.seq(recv, 0, i), b = OpLogBatchView.block(recv, 0, i);
            int k = OpLogBatchView.blocks(recv, 0, i);
            if (seq < 1 || b < 0 || (b >>> 8) != vb || ((b + k - 1) >>> 8) != vb)
                throw new PullException(peer + ": image batch of vBlock " + vb + " holds an entry outside it (seq " + seq + ", blocks " + b + "+" + k + ")");
        }
        batchBytes = n;
        shard = sh;
        segment = vb;
        offset = 0;
        segmentBytes = 0;
        return IMAGE;
    }

    /** Checks a COVERED answer: length, checksum, ranges sorted, disjoint and positive. */
    private int covered(ReplicationFrame f) throws PullException {
        int len = f.payloadLength(), sh = f.shard();
        if (f.vdisk() != vd.id() || sh < 0 || sh >= vd.shards() || f.segment() != 0 || f.segmentOffset() != 0 || f.segmentBytes() != 0)
            throw new PullException(peer + ": covered ranges with a bad placement (vDisk " + f.vdisk() + " shard " + sh + ")");
        int count = recv.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0);
        if (count < 1 || count > ReplicaImage.MAX_RANGES || len != 8 + 16 * count)
            throw new PullException(peer + ": covered ranges of " + len + " bytes claiming " + count + " ranges");
        if (OpLogBatchView.crc(recvView, 8, 16 * count, crc) != recv.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 4))
            throw new PullException(peer + ": covered ranges of shard " + sh + ": checksum mismatch");
        long[] r = ReplicaImage.decodePairs(recv, 8, count);
        if (r == null) throw new PullException(peer + ": covered ranges of shard " + sh + " out of order, overlapping or not positive");
        ranges = r;
        shard = sh;
        batchBytes = 0;
        return COVERED;
    }

    /** The ranges (first, last, ...) of the last {@link #COVERED} from {@link #next}. */
    public long[] ranges() { return ranges.clone(); }
    /** The vBlock of the last {@link #IMAGE} from {@link #next}. */
    public long vblock() { return segment; }

    /** The receive buffer: the last batch from {@link #next} at offset 0 (valid until the next call). */
    public MemorySegment batch() { return recv; }
    /** The shard of the last batch or base from {@link #next}. */
    public int shard() { return shard; }
    /** The base of the last {@link #BASE} from {@link #next}: the shard's entries below it are redundant. */
    public long base() { return base; }
    public long segment() { return segment; }
    public long offset() { return offset; }
    public long segmentBytes() { return segmentBytes; }
    public int batchBytes() { return batchBytes; }
    public String peer() { return peer; }

    /** Sends one request and waits for its answer; returns the answer's length (its trailer validated, request id checked). */
    private int exchange(int type, int payload) throws PullException {
        if (ep.postRecv(recvMr, 0, ReplicationDescriptor.RECV_BUFFER, K_RECV) != PostStatus.OK) throw new PullException(peer + ": cannot post a receive");
        frame.wrap(send, sendView, payload).encode(type, 0, payload, requestId, vd == null ? -1 : vd.id(), 0, 0, 0, 0, owner);
        int st = ep.postSend(sendMr, 0, payload + ReplicationDescriptor.TRAILER, K_SEND);
        if (st != PostStatus.OK) throw new PullException(peer + ": send refused: " + PostStatus.name(st));
        long deadline = System.nanoTime() + answerNanos;
        int got = -1;
        while (got < 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new PullException(peer + ": no answer to " + ReplicationDescriptor.typeName(type) + " within "
                    + answerNanos / 1_000_000 + " ms");
            int k = cq.await(comps, Math.min(left, 50_000_000L));
            for (int i = 0; i < k; i++) {
                if (!comps.isSuccess(i))
                    throw new PullException(peer + ": connection failed (" + CompletionStatus.name(comps.status(i)) + ")");
                if (comps.wrId(i) == K_RECV) got = comps.byteLength(i);
            }
        }
        if (got < ReplicationDescriptor.TRAILER || got > ReplicationDescriptor.MAX_MESSAGE) throw new PullException(peer + ": answer of " + got + " bytes");
        ReplicationFrame f = frame.wrap(recv, recvView, got - ReplicationDescriptor.TRAILER);
        int v = f.validate(got);
        if (v != ReplicationFrame.VALID) throw new PullException(peer + ": bad answer: " + ReplicationFrame.resultName(v));
        if (f.batchId() != requestId) throw new PullException(peer + ": answer to another request (" + f.batchId() + ")");
        if (!f.ownerEquals(owner)) throw new PullException(peer + ": answer about another owner (" + f.owner() + ")");
        return got;
    }

    @Override
    public void close() {
        ep.close();
        cq.close();
        sendMr.close();
        recvMr.close();
        arena.close();
    }
}
