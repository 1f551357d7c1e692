package io.dsf.stargate.replication;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreCompletionHandler;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.blockstore.store.StoreStatus;
import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.api.RdmaTransport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The replica side of OpLog replication, one per node: receives sealed OpLog batches from owner
 * shards, verifies the trailer and every checksum of the batch, writes the batch into this node's
 * replica segment object for (owner node, vDisk, shard, segment) at the owner's offset, syncs, and
 * only then acknowledges. A batch that fails a checksum or a range check is answered with a NACK
 * and nothing is written; a malformed message (truncated, bad trailer checksum, unknown type) is
 * logged and its connection reset.
 *
 * <p>Threading: one service thread owns the completion queue, every accepted endpoint, the store
 * channel and the receive buffers (no locks); an acceptor thread only accepts connections and hands
 * them over through a queue. {@link #list}, {@link #read} and the counters are thread safe
 * (control path). Replica objects carry {@code t=rol} and survive Stargate's open untouched.
 */
public final class ReplicaService implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReplicaService.class.getName());
    /** BlockStore type attribute of a replica OpLog segment. */
    public static final String TYPE = "rol";
    static final int ACK_SLOT = 128;
    private static final long K_RECV = 1L << 56, K_SEND = 2L << 56, K_WRITE = 3L << 56, K_SYNC = 4L << 56;
    private static final long KIND = 0xffL << 56;
    private static final EndpointOptions EP = new EndpointOptions(4, 2, 1 << 20);

    private final RdmaTransport transport;
    private final BlockStore store;
    private final RdmaListener listener;
    private final int maxConnections;
    private final MemorySegment recvRegion, ackRegion;
    private final ByteBuffer recvView, ackView;
    private final MemoryRegion recvMr, ackMr;
    private final Arena arena = Arena.ofShared();
    private final CompletionQueue cq;
    private final ConcurrentLinkedQueue<Endpoint> handoff = new ConcurrentLinkedQueue<>();
    private final Thread worker, acceptor;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean closing;

    /** Written by the service thread only. */
    private volatile long batchesStored, batchesRejected, connectionsReset, connectionsAccepted, segmentsTrimmed;

    // ------------------------------------------------------ service thread only
    private static final int C_FREE = 0, C_IDLE = 1, C_WRITING = 2, C_SYNCING = 3, C_CLOSING = 4;

    private final class Conn {
        final int slot;
        final int recvOff, ackOff;
        final MemorySegment recvBuf;
        Endpoint ep;
        int state = C_FREE;
        boolean storeBusy;
        byte[] ownerBytes;
        String owner;
        long vdisk = -1, segment = -1;
        int shard = -1;
        StoreObject obj;
        // the batch being stored
        long batchId, segOff, segBytes;
        int len;
        Conn(int slot) {
            this.slot = slot;
            this.recvOff = slot * ReplicationDescriptor.RECV_BUFFER;
            this.ackOff = slot * ACK_SLOT;
            this.recvBuf = recvRegion.asSlice(recvOff, ReplicationDescriptor.RECV_BUFFER);
        }
    }

    private final Conn[] conns;
    private int closingCount;
    private final Completions comps;
    private final ReplicationFrame frame = new ReplicationFrame(), ackFrame = new ReplicationFrame();
    private final CRC32C crc = new CRC32C();
    private final Map<String, StoreObject> objects = new HashMap<>();
    private StoreChannel ch;
    private long[] storeTag = new long[64];
    private int[] storeStatus = new int[64];
    private int storeN;

    private ReplicaService(RdmaTransport transport, BlockDevice device, BlockStore store, InetSocketAddress listen,
                           int maxConnections) throws RdmaException {
        if (maxConnections < 1 || maxConnections > 1024) throw new IllegalArgumentException("maxConnections must be 1..1024: " + maxConnections);
        this.transport = transport;
        this.store = store;
        this.maxConnections = maxConnections;
        this.recvRegion = device.allocateDma((long) maxConnections * ReplicationDescriptor.RECV_BUFFER);
        this.recvView = recvRegion.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.ackRegion = arena.allocate((long) maxConnections * ACK_SLOT, 4096);
        this.ackView = ackRegion.asByteBuffer();
        MemoryRegion r = null, a = null;
        CompletionQueue q = null;
        RdmaListener l = null;
        try {
            r = transport.register(recvRegion, Access.LOCAL_WRITE);
            a = transport.register(ackRegion, Access.LOCAL_WRITE);
            q = transport.createCompletionQueue(maxConnections * EP.completionsNeeded());
            l = transport.listen(listen);
        } catch (RdmaException | RuntimeException e) {
            if (l != null) l.close();
            if (q != null) q.close();
            if (a != null) a.close();
            if (r != null) r.close();
            arena.close();
            throw e;
        }
        this.recvMr = r;
        this.ackMr = a;
        this.cq = q;
        this.listener = l;
        this.comps = new Completions(256);
        this.conns = new Conn[maxConnections];
        for (int i = 0; i < maxConnections; i++) conns[i] = new Conn(i);
        for (ReplicaSegment s : list()) objects.put(key(s.owner(), s.vdisk(), s.shard(), s.segment()), s.object());
        this.worker = new Thread(this::run, "replica-" + l.localAddress().getPort());
        this.acceptor = new Thread(this::acceptLoop, "replica-accept-" + l.localAddress().getPort());
        worker.setDaemon(true);
        acceptor.setDaemon(true);
    }

    /**
     * Starts a replica service storing into {@code store} (on {@code device}, whose DMA memory holds
     * the receive buffers), listening at {@code listen} (port 0: any), for at most
     * {@code maxConnections} owner-shard connections at once (each holds a 520 KiB receive buffer).
     */
    public static ReplicaService start(RdmaTransport transport, BlockDevice device, BlockStore store, InetSocketAddress listen,
                                       int maxConnections) throws RdmaException {
        ReplicaService s = new ReplicaService(transport, device, store, listen, maxConnections);
        s.worker.start();
        s.acceptor.start();
        return s;
    }

    /** The address owners connect to. */
    public InetSocketAddress address() { return listener.localAddress(); }

    public long batchesStored() { return batchesStored; }
    public long batchesRejected() { return batchesRejected; }
    public long connectionsReset() { return connectionsReset; }
    public long connectionsAccepted() { return connectionsAccepted; }
    /** Replica segments deleted because their owner trimmed them. */
    public long segmentsTrimmed() { return segmentsTrimmed; }

    static String key(String owner, long vdisk, int shard, long segment) {
        return owner + "/" + vdisk + "/" + shard + "/" + segment;
    }

    static byte[] u64(long v) { return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array(); }

    static long u64(byte[] b) {
        return b == null || b.length != 8 ? -1 : ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Every replica segment in the store (including those of earlier runs). Thread safe; control path. */
    public List<ReplicaSegment> list() {
        List<ReplicaSegment> out = new ArrayList<>();
        for (StoreObject o : store.objects()) {
            Map<String, byte[]> a = store.attributes(o);
            byte[] t = a.get("t");
            if (t == null || !TYPE.equals(new String(t, StandardCharsets.US_ASCII))) continue;
            byte[] ow = a.get("o");
            out.add(new ReplicaSegment(ow == null ? "" : new String(ow, StandardCharsets.US_ASCII), u64(a.get("v")),
                    (int) u64(a.get("s")), u64(a.get("n")), o.size(), o));
        }
        out.sort((x, y) -> {
            int c = x.owner().compareTo(y.owner());
            if (c == 0) c = Long.compare(x.vdisk(), y.vdisk());
            if (c == 0) c = Integer.compare(x.shard(), y.shard());
            return c != 0 ? c : Long.compare(x.segment(), y.segment());
        });
        return out;
    }

    /**
     * Reads {@code length} bytes (whole 4 KiB slices) at {@code offset} of a replica segment into
     * {@code dst}, blocking, through a channel of the calling thread. Thread safe; control path.
     */
    public void read(ReplicaSegment s, long offset, MemorySegment dst, int length) {
        try (StoreChannel c = store.openChannel(4, 1 << 20, 1, (t, st) -> { })) {
            MemorySegment buf = c.buffers().buffer(c.buffers().acquire());
            for (int done = 0; done < length; ) {
                int n = Math.min(length - done, 1 << 20);
                c.readBlocking(s.object(), offset + done, buf, n);
                MemorySegment.copy(buf, 0, dst, done, n);
                done += n;
            }
        }
    }

    /**
     * Every valid batch in a replica segment, in offset order: the segment is read in windows and
     * each 4 KiB page that starts a batch passing {@link OpLogBatchView#verify} (header and every
     * data checksum) is taken, with the pages it covers; anything else (never written, torn, stale)
     * is skipped a page at a time. A replacement peer holds batches from the failover on only, so
     * gaps are normal. Blocking, on the calling thread. Thread safe; control path (tools, tests).
     */
    public List<ReplicaBatch> batches(ReplicaSegment s) {
        final int window = 4 << 20;
        List<ReplicaBatch> out = new ArrayList<>();
        CRC32C c = new CRC32C();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(window, 4096);
            ByteBuffer view = buf.asByteBuffer();
            long size = s.bytes(), base = -1;
            int have = 0;
            for (long pos = 0; pos + OpLogBatchView.PAGE <= size; ) {
                if (base < 0 || pos < base || pos + OpLogBatchView.MAX_BATCH > base + have && base + have < size) {
                    base = pos;
                    have = (int) Math.min(window, size - pos);
                    read(s, base, buf, have);
                }
                int at = (int) (pos - base);
                int len = buf.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at) == OpLogBatchView.MAGIC
                        ? (1 + OpLogBatchView.dataSlices(buf, at)) * OpLogBatchView.PAGE : 0;
                if (len <= 0 || len > OpLogBatchView.MAX_BATCH || at + len > have
                        || OpLogBatchView.verify(buf, view, at, len, c) != OpLogBatchView.OK) {
                    pos += OpLogBatchView.PAGE;
                    continue;
                }
                int n = 0, slice = 0;
                for (int i = 0; i < OpLogBatchView.count(buf, at); i++) if (OpLogBatchView.flags(buf, at, i) == 0) n += OpLogBatchView.blocks(buf, at, i);
                long[] blocks = new long[n];
                int[] crcs = new int[n];
                for (int i = 0; i < OpLogBatchView.count(buf, at); i++) {
                    if (OpLogBatchView.flags(buf, at, i) != 0) continue;
                    for (int k = 0; k < OpLogBatchView.blocks(buf, at, i); k++, slice++) {
                        blocks[slice] = OpLogBatchView.block(buf, at, i) + k;
                        crcs[slice] = OpLogBatchView.crc(view, at + (1 + slice) * OpLogBatchView.PAGE, OpLogBatchView.PAGE, c);
                    }
                }
                out.add(new ReplicaBatch(pos, len, OpLogBatchView.crc(view, at, len, c), blocks, crcs));
                pos += len;
            }
        }
        return out;
    }

    // =================================================================== acceptor

    private void acceptLoop() {
        while (!closing) {
            try {
                Endpoint e = listener.accept(cq, EP, TimeUnit.MILLISECONDS.toNanos(100));
                if (e != null) {
                    handoff.add(e);
                    if (closing) break;
                }
            } catch (RdmaException e) {
                if (closing || e.kind() == RdmaException.Kind.CLOSED) break;
                LOG.log(System.Logger.Level.WARNING, "replica accept failed: " + e.getMessage());
            }
        }
    }

    // ============================================================ service thread

    private void run() {
        try {
            ch = store.openChannel(256, 1 << 20, 1, (tag, st) -> { // requests up to 1 MiB: a whole batch
                if (storeN == storeTag.length) {
                    storeTag = java.util.Arrays.copyOf(storeTag, storeN * 2);
                    storeStatus = java.util.Arrays.copyOf(storeStatus, storeN * 2);
                }
                storeTag[storeN] = tag;
                storeStatus[storeN++] = st;
            });
            ch.registerRegion(recvRegion);
            while (!closing) {
                int work = adopt();
                work += cq.poll(comps) > 0 ? onCompletions() : 0;
                work += ch.poll(64);
                work += onStoreCompletions();
                if (closingCount > 0) reap();
                if (work == 0) {
                    if (ch.inFlight() > 0) Thread.onSpinWait();
                    else if (cq.await(comps, TimeUnit.MICROSECONDS.toNanos(500)) > 0) onCompletions();
                }
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "replica service failed", t);
        } finally {
            for (Conn c : conns) if (c.ep != null) c.ep.close();
            Endpoint e;
            while ((e = handoff.poll()) != null) e.close();
            if (ch != null) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (ch.inFlight() > 0 && System.nanoTime() < deadline) ch.poll(64);
                ch.close();
            }
            stopped.countDown();
        }
    }

    private int adopt() {
        int n = 0;
        Endpoint e;
        while ((e = handoff.poll()) != null) {
            n++;
            Conn c = null;
            for (Conn x : conns) if (x.state == C_FREE) { c = x; break; }
            if (c == null) {
                LOG.log(System.Logger.Level.WARNING, "replica: no free connection slot for " + e.remoteAddress() + " (" + maxConnections + " in use); refused");
                e.close();
                continue;
            }
            c.ep = e;
            c.state = C_IDLE;
            c.obj = null;
            c.ownerBytes = null;
            c.segment = -1;
            e.attach(c);
            connectionsAccepted++;
            if (e.postRecv(recvMr, c.recvOff, ReplicationDescriptor.RECV_BUFFER, K_RECV | c.slot) != PostStatus.OK) reset(c, "cannot post a receive");
        }
        return n;
    }

    private int onCompletions() {
        int n = comps.count();
        for (int i = 0; i < n; i++) {
            int slot = (int) (comps.wrId(i) & 0xffff);
            long kind = comps.wrId(i) & KIND;
            if (slot >= conns.length) continue;
            Conn c = conns[slot];
            if (comps.endpoint(i) != c.ep || c.state == C_CLOSING) continue;
            if (!comps.isSuccess(i)) {
                if (comps.status(i) == CompletionStatus.FLUSHED || comps.status(i) == CompletionStatus.TRANSPORT_ERROR) close(c);
                else reset(c, "work request failed: " + comps.describe(i));
                continue;
            }
            if (kind == K_RECV && comps.opcode(i) == Opcode.RECV) onMessage(c, comps.byteLength(i));
            else if (kind == K_RECV) reset(c, "unexpected " + Opcode.name(comps.opcode(i)));
        }
        return n;
    }

    private void onMessage(Conn c, int len) {
        if (len < ReplicationDescriptor.TRAILER || len > ReplicationDescriptor.MAX_MESSAGE) {
            reset(c, "truncated or oversized message of " + len + " bytes");
            return;
        }
        ReplicationFrame f = frame.wrap(recvRegion, recvView, c.recvOff + len - ReplicationDescriptor.TRAILER);
        int v = f.validate(len);
        if (v != ReplicationFrame.VALID) {
            reset(c, "bad trailer: " + ReplicationFrame.resultName(v));
            return;
        }
        if (f.type() != ReplicationDescriptor.TYPE_BATCH && f.type() != ReplicationDescriptor.TYPE_TRIM) {
            reset(c, "unexpected message type " + f.type());
            return;
        }
        if (c.ownerBytes == null || !f.ownerEquals(c.ownerBytes)) {
            String o = f.owner();
            try {
                PeerAddress.checkId(o);
            } catch (IllegalArgumentException e) {
                reset(c, "bad owner id");
                return;
            }
            c.owner = o;
            c.ownerBytes = o.getBytes(StandardCharsets.US_ASCII);
            c.obj = null;
        }
        if (f.type() == ReplicationDescriptor.TYPE_TRIM) {
            onTrim(c, f.vdisk(), f.shard(), f.segment());
            return;
        }
        c.batchId = f.batchId();
        long vdisk = f.vdisk(), segment = f.segment();
        int shard = f.shard();
        c.segOff = f.segmentOffset();
        c.segBytes = f.segmentBytes();
        c.len = f.payloadLength();
        if (c.segBytes < OpLogBatchView.PAGE || (c.segBytes & (OpLogBatchView.PAGE - 1)) != 0 || c.segBytes > store.maxObjectSize()
                || c.segOff < 0 || (c.segOff & (OpLogBatchView.PAGE - 1)) != 0 || c.segOff > c.segBytes - c.len
                || shard < 0 || vdisk < 0 || segment < 0) {
            nack(c, vdisk, shard, segment, ReplicationDescriptor.REASON_BAD_RANGE);
            return;
        }
        int ok = OpLogBatchView.verify(recvRegion, recvView, c.recvOff, c.len, crc);
        if (ok != OpLogBatchView.OK) {
            nack(c, vdisk, shard, segment, ok);
            return;
        }
        if (c.obj == null || c.vdisk != vdisk || c.shard != shard || c.segment != segment) {
            String k = key(c.owner, vdisk, shard, segment);
            StoreObject o = objects.get(k);
            if (o == null || o.isDeleted()) {
                try {
                    o = store.create(0, c.segBytes, Map.of("t", TYPE.getBytes(StandardCharsets.US_ASCII),
                            "o", c.ownerBytes, "v", u64(vdisk), "s", u64(shard), "n", u64(segment)));
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "replica: cannot create segment " + k + ": " + e.getMessage());
                    nack(c, vdisk, shard, segment, ReplicationDescriptor.REASON_STORE);
                    return;
                }
                objects.put(k, o);
            }
            if (o.size() != c.segBytes) {
                nack(c, vdisk, shard, segment, ReplicationDescriptor.REASON_BAD_RANGE);
                return;
            }
            c.obj = o;
            c.vdisk = vdisk;
            c.shard = shard;
            c.segment = segment;
        }
        int st;
        while ((st = ch.write(c.obj, c.segOff, c.recvBuf, c.len, K_WRITE | c.slot)) == StoreStatus.QUEUE_FULL.code()
                || st == StoreStatus.BACK_PRESSURE.code()) {
            ch.poll(64);
            Thread.onSpinWait();
        }
        if (st != StoreChannel.ACCEPTED) {
            LOG.log(System.Logger.Level.WARNING, "replica: store write refused: " + StoreStatus.describe(st));
            nack(c, vdisk, shard, segment, ReplicationDescriptor.REASON_STORE);
            return;
        }
        c.state = C_WRITING;
        c.storeBusy = true;
    }

    /** Deletes this node's copy of the owner's segment (if any), then takes the next message; a TRIM gets no answer. */
    private void onTrim(Conn c, long vdisk, int shard, long segment) {
        if (vdisk < 0 || shard < 0 || segment < 0) {
            reset(c, "trim of a negative vdisk, shard or segment");
            return;
        }
        String k = key(c.owner, vdisk, shard, segment);
        StoreObject o = objects.remove(k);
        if (o != null) {
            for (Conn x : conns) if (x.obj == o) x.obj = null;
            try {
                if (!o.isDeleted()) store.delete(o);
                segmentsTrimmed++;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "replica: cannot delete trimmed segment " + k + ": " + e.getMessage());
            }
        }
        if (c.ep.postRecv(recvMr, c.recvOff, ReplicationDescriptor.RECV_BUFFER, K_RECV | c.slot) != PostStatus.OK)
            reset(c, "cannot re-post a receive");
    }

    private int onStoreCompletions() {
        int n = storeN;
        for (int i = 0; i < storeN; i++) {
            long tag = storeTag[i];
            int st = storeStatus[i];
            Conn c = conns[(int) (tag & 0xffff)];
            long kind = tag & KIND;
            c.storeBusy = false;
            if (c.state == C_CLOSING) continue;
            if (st < 0) {
                LOG.log(System.Logger.Level.WARNING, "replica: store " + (kind == K_WRITE ? "write" : "sync") + " failed: " + StoreStatus.describe(st));
                nack(c, c.vdisk, c.shard, c.segment, ReplicationDescriptor.REASON_STORE);
                continue;
            }
            if (kind == K_WRITE) {
                int s2;
                while ((s2 = ch.sync(K_SYNC | c.slot)) == StoreStatus.QUEUE_FULL.code()) {
                    ch.poll(64);
                    Thread.onSpinWait();
                }
                if (s2 != StoreChannel.ACCEPTED) {
                    nack(c, c.vdisk, c.shard, c.segment, ReplicationDescriptor.REASON_STORE);
                    continue;
                }
                c.state = C_SYNCING;
                c.storeBusy = true;
            } else {
                batchesStored++;
                answer(c, ReplicationDescriptor.TYPE_ACK, ReplicationDescriptor.REASON_NONE, c.vdisk, c.shard, c.segment);
            }
        }
        storeN = 0;
        return n;
    }

    private void nack(Conn c, long vdisk, int shard, long segment, int reason) {
        batchesRejected++;
        LOG.log(System.Logger.Level.WARNING, "replica: rejected batch " + c.batchId + " of " + c.owner + " vdisk " + vdisk
                + " shard " + shard + " segment " + segment + " from " + c.ep.remoteAddress() + ": " + ReplicationDescriptor.reasonName(reason));
        answer(c, ReplicationDescriptor.TYPE_NACK, reason, vdisk, shard, segment);
    }

    /** Re-posts the receive (the batch's buffer is free now), then sends the ACK or NACK. */
    private void answer(Conn c, int type, int reason, long vdisk, int shard, long segment) {
        c.state = C_IDLE;
        ackFrame.wrap(ackRegion, ackView, c.ackOff).encode(type, reason, 0, c.batchId, vdisk, shard, segment, c.segOff,
                c.segBytes, c.ownerBytes == null ? new byte[0] : c.ownerBytes);
        if (c.ep.postRecv(recvMr, c.recvOff, ReplicationDescriptor.RECV_BUFFER, K_RECV | c.slot) != PostStatus.OK) {
            reset(c, "cannot re-post a receive");
            return;
        }
        int st = c.ep.postSend(ackMr, c.ackOff, ReplicationDescriptor.TRAILER, K_SEND | c.slot);
        if (st != PostStatus.OK) reset(c, "cannot send the answer: " + PostStatus.name(st));
    }

    private void reset(Conn c, String why) {
        connectionsReset++;
        batchesRejected++;
        LOG.log(System.Logger.Level.WARNING, "replica: resetting connection from " + c.ep.remoteAddress() + ": " + why);
        close(c);
    }

    private void close(Conn c) {
        c.ep.close();
        c.state = C_CLOSING;
        c.obj = null;
        closingCount++;
    }

    /** Frees closing slots once their store I/O and flushed requests are done. */
    private void reap() {
        for (Conn c : conns) {
            if (c.state != C_CLOSING || c.storeBusy) continue;
            if (c.ep.sendsOutstanding() > 0 || c.ep.recvsOutstanding() > 0) continue;
            c.ep = null;
            c.state = C_FREE;
            closingCount--;
        }
    }

    /** Stops accepting, closes every connection (owners see their requests fail) and waits for the threads. Idempotent. */
    @Override
    public void close() {
        if (closing) return;
        closing = true;
        listener.close();
        try {
            acceptor.join(5000);
            if (!stopped.await(10, TimeUnit.SECONDS)) LOG.log(System.Logger.Level.WARNING, "replica service thread did not stop");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cq.close();
        recvMr.close();
        ackMr.close();
        arena.close();
    }
}
