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
 * them over through a queue; a scan thread reads the segments of a base being applied (blocking, its
 * own store channel) and hands the result back through a queue (the deletes are the service
 * thread's). {@link #list}, {@link #read}, {@link #bases} and the counters are thread safe
 * (control path). Replica objects carry {@code t=rol} and survive Stargate's open untouched.
 *
 * <p>Base ({@code BASE}, wire version 4): an owner announces that every block of (owner, vDisk,
 * shard) has its newest value in a replicated entry with seq &ge; B, or is zero. The service keeps
 * the highest base per (owner, vDisk, shard) in a {@code t=rob} object (attributes only: {@code o v s
 * b}), deletes its segments of that shard whose newest entry is below B (a segment holding any
 * entry &ge; B, or one a batch was written into since the scan began, stays), syncs through its
 * channel and only then answers ACK. Pulls carry the bases before the batches.
 *
 * <p>Drain: a drain thread ({@link ReplicaDrain}, its own store channel) applies the batches of each
 * (owner, vDisk, shard) stream to an image of that stream ({@link ReplicaImage}) when the stream's
 * undrained bytes pass {@link DrainPolicy#thresholdBytes} or the service has been idle for
 * {@link DrainPolicy#idleNanos}; once the image and the covered ranges are durable the service thread
 * deletes the drained segments (a segment written into since the drain began, or one a pull of the
 * vDisk may still read, is kept for now). Pulls serve, per shard, the segments still held, then the
 * image ({@code IMAGE}), then the covered ranges ({@code COVERED}); the service thread reads an image
 * only while no drain of that stream runs.
 */
public final class ReplicaService implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReplicaService.class.getName());
    /** BlockStore type attribute of a replica OpLog segment. */
    public static final String TYPE = "rol";
    /** BlockStore type attribute of an owner vDisk's metadata ({@link ReplicaVDisk}; attributes only). */
    public static final String META_TYPE = "rom";
    /** BlockStore type attribute of a base record (attributes only: owner, vDisk, shard, base). */
    public static final String BASE_TYPE = "rob";
    /** Shards a vDisk may have at most (Stargate's limit), so a base's shard is below it. */
    static final int MAX_SHARDS = 64;
    /** Bytes a base's segment scan reads at once. */
    static final int SCAN_WINDOW = 1 << 20;
    /** Bytes a pull reads from a replica segment at once. */
    static final int PULL_WINDOW = 2 << 20;
    static final int ACK_SLOT = 128;
    /**
     * When streams drain into their image: a stream whose undrained bytes reach {@code thresholdBytes}
     * (0: never by size), and every stream with undrained bytes once no batch was stored for
     * {@code idleNanos} (0: never when idle). Immutable; thread safe.
     */
    public record DrainPolicy(long thresholdBytes, long idleNanos) {
        /** 64 MiB undrained, or 30 s without a batch. */
        public static final DrainPolicy DEFAULT = new DrainPolicy(64L << 20, TimeUnit.SECONDS.toNanos(30));
        /** Never drains by itself ({@link #drainNow} still does). */
        public static final DrainPolicy OFF = new DrainPolicy(0, 0);

        public DrainPolicy {
            if (thresholdBytes < 0 || idleNanos < 0) throw new IllegalArgumentException("negative drain threshold or idle time");
        }
    }

    private static final long K_RECV = 1L << 56, K_SEND = 2L << 56, K_WRITE = 3L << 56, K_SYNC = 4L << 56, K_PULL = 5L << 56, K_META = 6L << 56,
            K_BASE = 7L << 56;
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
    private volatile long batchesStored, batchesRejected, connectionsReset, connectionsAccepted, segmentsTrimmed, pullsServed,
            batchesPulled, basesApplied, segmentsBelowBase;

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
        /** The BASE being synced: its vDisk and shard (for the ACK). */
        long baseVdisk;
        int baseShard;
        /** The pull this connection serves (null: none); freed when the slot is reaped. */
        Pull pull;
        /** A NEXT waiting for a drain of the stream it needs (answered when that drain is back). */
        boolean deferredNext;
        /** The image stream of the segment being written (resolved with {@link #obj}). */
        ReplicaDrain.Stream stream;
        Conn(int slot) {
            this.slot = slot;
            this.recvOff = slot * ReplicationDescriptor.RECV_BUFFER;
            this.ackOff = slot * ACK_SLOT;
            this.recvBuf = recvRegion.asSlice(recvOff, ReplicationDescriptor.RECV_BUFFER);
        }
    }

    /**
     * A pull in progress on one connection: the replica segments of (owner, vDisk) in (shard,
     * segment) order, the scan position, a read window and a registered send buffer. Service thread only.
     */
    private final class Pull {
        final ReplicaVDisk vd;
        final List<ReplicaSegment> segs;
        /** Per shard: the base held (raised by a BASE during the pull) and the last one sent to the puller. */
        final long[] bases, basesSent;
        final Arena mem = Arena.ofShared();
        final MemorySegment send = mem.allocate(ReplicationDescriptor.RECV_BUFFER, 4096), window = mem.allocate(PULL_WINDOW, 4096);
        final ByteBuffer sendView = send.asByteBuffer(), windowView = window.asByteBuffer();
        final MemoryRegion sendMr;
        StoreChannel rch;
        MemorySegment rbuf;
        int segIdx;
        long pos, winBase = -1, sent;
        int winHave;
        /** Per shard in turn: the log (0), then the image (1), then the covered ranges (2). */
        int shard, phase;
        boolean ended;
        /** This shard's log: block -> highest sequence sent (a damaged image block with a newer or equal entry sent is left out). */
        final org.agrona.collections.Long2LongHashMap logMax = new org.agrona.collections.Long2LongHashMap(-1);
        /** The image of this shard: its vBlocks (taken when the phase begins), the one read and where its next entry starts. */
        long[] vblocks;
        int vbIdx = -1, slot;
        ReplicaImage.Table table;
        /** Per slot of the vBlock read: its data verified (read and matching the table's CRC). */
        final boolean[] good = new boolean[ReplicaImage.VBLOCK_BLOCKS];
        long imageSent;
        /** The shard's covered ranges as they were when its image phase began. */
        long[] ranges;

        Pull(ReplicaVDisk vd, List<ReplicaSegment> segs, long[] bases) throws RdmaException {
            this.vd = vd;
            this.segs = segs;
            this.bases = bases;
            this.basesSent = new long[bases.length];
            try {
                this.sendMr = transport.register(send, Access.LOCAL_WRITE);
            } catch (RdmaException | RuntimeException e) {
                mem.close();
                throw e;
            }
        }

        void free() {
            if (rch != null) rch.close();
            sendMr.close();
            mem.close();
        }
    }

    private final Conn[] conns;
    /** What this node knows of each owner vDisk it holds, by {@code owner/vdisk}; service thread only. */
    private final Map<String, ReplicaVDisk> metas = new HashMap<>();
    private final Map<String, StoreObject> metaObjects = new HashMap<>();
    /** Base records by {@code owner/vdisk/shard}: the object and the base it holds; service thread only. */
    private final Map<String, StoreObject> baseObjects = new HashMap<>();
    private final Map<String, Long> baseValues = new HashMap<>();
    /** Bases being applied (their segments being scanned); service thread only. */
    private final List<Trim> trims = new ArrayList<>();
    /** Trims whose scan is done, from the scan thread. */
    private final ConcurrentLinkedQueue<Trim> scanned = new ConcurrentLinkedQueue<>();
    /** The scan thread: reads a base's segments (blocking) so the service thread goes on storing batches meanwhile. */
    private final java.util.concurrent.ExecutorService scanner;
    private int closingCount;
    /** Image streams by {@code owner/vdisk/shard}: made by the service thread (and at start); read by any thread. */
    private final java.util.concurrent.ConcurrentHashMap<String, ReplicaDrain.Stream> streams = new java.util.concurrent.ConcurrentHashMap<>();
    private final DrainPolicy policy;
    private final ReplicaDrain drain;
    /** The drain thread: drains streams (blocking, its own channel) and hands each job back on {@link #drainedJobs}. */
    private final java.util.concurrent.ExecutorService drainer;
    private final ConcurrentLinkedQueue<ReplicaDrain.Job> drainedJobs = new ConcurrentLinkedQueue<>();
    /** Drain jobs out (service thread only). */
    private final List<ReplicaDrain.Job> drainJobs = new ArrayList<>();
    /** {@link #drainNow} requests waiting for every stream they named (service thread; handed over on {@link #drainRequests}). */
    private final ConcurrentLinkedQueue<java.util.concurrent.CompletableFuture<Integer>> drainRequests = new ConcurrentLinkedQueue<>();
    private final List<java.util.concurrent.CompletableFuture<Integer>> drainWaiters = new ArrayList<>();
    private final java.util.Set<ReplicaDrain.Stream> forced = new java.util.HashSet<>(), freeWanted = new java.util.HashSet<>();
    /** Service thread: a pull ended (or a job is due) since {@link #onDrained} last looked; segments wait for pulls to end. */
    private boolean drainWork, deferredDeletes;
    private long lastStoredNanos = System.nanoTime(), lastIdleCheck;
    private volatile long drainsDone, drainsFailed, segmentsDrained;
    private final java.util.Set<String> noMetaLogged = new java.util.HashSet<>();
    private final Completions comps;
    private final ReplicationFrame frame = new ReplicationFrame(), ackFrame = new ReplicationFrame();
    private final CRC32C crc = new CRC32C();
    private final Map<String, StoreObject> objects = new HashMap<>();
    private StoreChannel ch;
    private long[] storeTag = new long[64];
    private int[] storeStatus = new int[64];
    private int storeN;

    private ReplicaService(RdmaTransport transport, BlockDevice device, BlockStore store, InetSocketAddress listen,
                           int maxConnections, DrainPolicy policy) throws RdmaException {
        if (maxConnections < 1 || maxConnections > 1024) throw new IllegalArgumentException("maxConnections must be 1..1024: " + maxConnections);
        this.transport = transport;
        this.store = store;
        this.maxConnections = maxConnections;
        this.policy = java.util.Objects.requireNonNull(policy, "policy");
        this.recvRegion = device.allocateDma((long) maxConnections * ReplicationDescriptor.RECV_BUFFER);
        if (store.sliceSize() != ReplicaImage.PAGE) throw new IllegalArgumentException("replica images need 4 KiB store slices, not " + store.sliceSize());
        this.drain = new ReplicaDrain(device, store);
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
        for (ReplicaSegment s : list()) {
            objects.put(key(s.owner(), s.vdisk(), s.shard(), s.segment()), s.object());
            stream(s.owner(), s.vdisk(), s.shard()).undrained += s.bytes(); // unknown: drained again when idle
        }
        for (StoreObject o : store.objects()) {
            Map<String, byte[]> ia = store.attributes(o);
            byte[] it = ia.get("t");
            String type = it == null ? "" : new String(it, StandardCharsets.US_ASCII);
            if (type.equals(ReplicaImage.BLOCK_TYPE) || type.equals(ReplicaImage.TABLE_TYPE)) {
                byte[] ow = ia.get("o");
                long v = u64(ia.get("v")), sh = u64(ia.get("s")), vb = u64(ia.get("vb"));
                if (ow == null || v < 0 || sh < 0 || sh >= MAX_SHARDS || type.equals(ReplicaImage.BLOCK_TYPE) && vb < 0) continue;
                ReplicaDrain.Stream st = stream(new String(ow, StandardCharsets.US_ASCII), v, (int) sh);
                if (type.equals(ReplicaImage.TABLE_TYPE)) st.table = o;
                else st.vblocks.put(vb, o);
            }
            ReplicaVDisk m = meta(store, o);
            if (m != null) {
                metas.put(m.owner() + "/" + m.id(), m);
                metaObjects.put(m.owner() + "/" + m.id(), o);
            }
            Base b = base(store, o);
            if (b != null) {
                String k = b.owner() + "/" + b.vdisk() + "/" + b.shard();
                Long had = baseValues.get(k);
                if (had == null || b.base() > had) {
                    baseObjects.put(k, o);
                    baseValues.put(k, b.base());
                }
            }
        }
        this.worker = new Thread(this::run, "replica-" + l.localAddress().getPort());
        this.acceptor = new Thread(this::acceptLoop, "replica-accept-" + l.localAddress().getPort());
        int port = l.localAddress().getPort();
        this.scanner = java.util.concurrent.Executors.newSingleThreadExecutor(job -> {
            Thread t = new Thread(job, "replica-scan-" + port);
            t.setDaemon(true);
            return t;
        });
        this.drainer = java.util.concurrent.Executors.newSingleThreadExecutor(job -> {
            // background work: below the data path's threads when the cores are contended
            Thread t = new Thread(() -> {
                io.dsf.bindings.libc.ThreadNice.set(DRAIN_NICE);
                job.run();
            }, "replica-drain-" + port);
            t.setDaemon(true);
            return t;
        });
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
        return start(transport, device, store, listen, maxConnections, DrainPolicy.DEFAULT);
    }

    /** As {@link #start(RdmaTransport, BlockDevice, BlockStore, InetSocketAddress, int)}, draining streams as {@code policy} says. */
    public static ReplicaService start(RdmaTransport transport, BlockDevice device, BlockStore store, InetSocketAddress listen,
                                       int maxConnections, DrainPolicy policy) throws RdmaException {
        ReplicaService s = new ReplicaService(transport, device, store, listen, maxConnections, policy);
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
    /** Replica segments deleted because their owner trimmed them ({@code TRIM}) or because a base made them redundant. */
    public long segmentsTrimmed() { return segmentsTrimmed; }
    /** Bases that raised a held base (lower or equal repeats not counted), and the segments they deleted. */
    public long basesApplied() { return basesApplied; }
    public long segmentsBelowBase() { return segmentsBelowBase; }
    /** Pulls answered with a vDisk's metadata, and batches sent to pullers. */
    public long pullsServed() { return pullsServed; }
    public long batchesPulled() { return batchesPulled; }

    /** Drains completed (and failed), and segments they let go. */
    public long drainsDone() { return drainsDone; }
    public long drainsFailed() { return drainsFailed; }
    public long segmentsDrained() { return segmentsDrained; }
    /** Image entries sent to pullers (synthetic batches). */
    public long imageBatchesPulled() { return imageBatchesPulled; }
    private volatile long imageBatchesPulled;

    /**
     * What this node holds of one owner stream besides its segments: the covered sequence ranges
     * (first, last, ...; every sequence drained, none below the base), the image's blocks and vBlocks,
     * the bytes stored since the last drain began (an estimate after a restart: the segments' sizes),
     * and the drains done since the start. Immutable; thread safe.
     */
    public record StreamStatus(String owner, long vdisk, int shard, long[] drainedRanges, long imageBlocks, long imageVBlocks,
                               long undrainedBytes, long drains, boolean loaded) {}

    /** Every image stream this node knows of, by owner, vDisk, shard. Thread safe; control path. */
    public List<StreamStatus> streams() {
        List<StreamStatus> out = new ArrayList<>();
        for (ReplicaDrain.Stream x : streams.values())
            out.add(new StreamStatus(x.owner, x.vdisk, x.shard, x.ranges.clone(), x.imageBlocks, x.vblocks.size(), x.undrained, x.drains, x.loaded));
        out.sort((x, y) -> {
            int c = x.owner().compareTo(y.owner());
            if (c == 0) c = Long.compare(x.vdisk(), y.vdisk());
            return c != 0 ? c : Integer.compare(x.shard(), y.shard());
        });
        return out;
    }

    /**
     * The newest drained version of each block of one image vBlock: block number, kind
     * ({@link ReplicaImage#KIND_DATA} or {@link ReplicaImage#KIND_ZERO}), sequence and CRC32C, as its
     * table says (blocks below the stream's base included; tools compare the CRCs). Immutable; thread safe.
     */
    public record ImageBlock(long block, int kind, long seq, int crc) {}

    /**
     * The blocks of every image vBlock of {@code owner}'s vDisk {@code vdisk}, shard {@code shard}, read
     * from their tables, blocking, through a channel of the calling thread (tools and tests; a drain
     * running meanwhile may show a vBlock as before or after it). Thread safe; control path.
     */
    public List<ImageBlock> imageBlocks(String owner, long vdisk, int shard) {
        List<ImageBlock> out = new ArrayList<>();
        ReplicaDrain.Stream st = streams.get(owner + "/" + vdisk + "/" + shard);
        ReplicaVDisk meta = null;
        for (ReplicaVDisk m : vdisks()) if (m.owner().equals(owner) && m.id() == vdisk) meta = m;
        if (st == null || meta == null || st.table == null) return out;
        long[] vbs = st.vblocks.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
        CRC32C c = new CRC32C();
        try (StoreChannel rc = store.openChannel(4, 1 << 20, 1, (t, x) -> { })) {
            MemorySegment buf = rc.buffers().buffer(rc.buffers().acquire());
            ByteBuffer view = buf.asByteBuffer();
            for (long vb : vbs) {
                StoreObject t = st.table;
                long off = ReplicaImage.tableOffset(vb / meta.shards());
                if (t == null || t.isDeleted() || off + 2L * ReplicaImage.PAGE > t.size()) continue;
                ReplicaImage.Table tab = new ReplicaImage.Table(vb);
                try {
                    rc.readBlocking(t, off, buf, 2 * ReplicaImage.PAGE);
                } catch (io.dsf.blockstore.store.StoreException e) {
                    continue;
                }
                ReplicaImage.decodeTable(buf, view, 0, tab, c);
                for (int i = 0; i < ReplicaImage.VBLOCK_BLOCKS; i++)
                    if (tab.kind[i] != ReplicaImage.KIND_ABSENT) out.add(new ImageBlock(vb * ReplicaImage.VBLOCK_BLOCKS + i, tab.kind[i], tab.seq[i], tab.crc[i]));
            }
        }
        return out;
    }

    /**
     * Drains every stream that holds segments now, and waits until each drain is back (a stream being
     * drained is drained once more after it). Returns the number of drains that failed. Control path
     * (tests, tools); blocks the caller, never the service thread.
     */
    public int drainNow(long timeout, TimeUnit unit) throws java.util.concurrent.TimeoutException, InterruptedException {
        java.util.concurrent.CompletableFuture<Integer> f = new java.util.concurrent.CompletableFuture<>();
        drainRequests.add(f);
        try {
            return f.get(timeout, unit);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The image stream of (owner, vDisk, shard), made on first use. Service thread (and the constructor). */
    private ReplicaDrain.Stream stream(String owner, long vdisk, int shard) {
        return streams.computeIfAbsent(owner + "/" + vdisk + "/" + shard, k -> new ReplicaDrain.Stream(owner, vdisk, shard));
    }

    /** The metadata record of a {@code rom} object, or null when {@code o} is something else (or unreadable). */
    static ReplicaVDisk meta(BlockStore store, StoreObject o) {
        Map<String, byte[]> a = store.attributes(o);
        byte[] t = a.get("t");
        if (t == null || !META_TYPE.equals(new String(t, StandardCharsets.US_ASCII))) return null;
        byte[] ow = a.get("o"), nm = a.get("nm"), ro = a.get("ro");
        try {
            return new ReplicaVDisk(ow == null ? "" : new String(ow, StandardCharsets.US_ASCII), u64(a.get("v")),
                    nm == null ? "" : new String(nm, StandardCharsets.UTF_8), u64(a.get("sz")), (int) u64(a.get("sh")),
                    ro != null && ro.length == 1 && ro[0] == 1, u64(a.get("p")));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static Map<String, byte[]> metaAttrs(ReplicaVDisk m) {
        Map<String, byte[]> a = new java.util.LinkedHashMap<>();
        a.put("t", META_TYPE.getBytes(StandardCharsets.US_ASCII));
        a.put("o", m.owner().getBytes(StandardCharsets.US_ASCII));
        a.put("v", u64(m.id()));
        a.put("nm", m.name().getBytes(StandardCharsets.UTF_8));
        a.put("sz", u64(m.size()));
        a.put("sh", u64(m.shards()));
        a.put("ro", new byte[]{(byte) (m.readOnly() ? 1 : 0)});
        a.put("p", u64(m.parent()));
        return a;
    }

    /** The metadata of every owner vDisk this node holds batches or metadata of (including earlier runs'), by owner then id. Thread safe; control path. */
    public List<ReplicaVDisk> vdisks() {
        List<ReplicaVDisk> out = new ArrayList<>();
        for (StoreObject o : store.objects()) {
            ReplicaVDisk m = meta(store, o);
            if (m != null) out.add(m);
        }
        out.sort((x, y) -> {
            int c = x.owner().compareTo(y.owner());
            return c != 0 ? c : Long.compare(x.id(), y.id());
        });
        return out;
    }

    /**
     * A base this node holds: for {@code owner}'s vDisk {@code vdisk}, shard {@code shard}, every
     * block's newest value is carried by a replicated entry with seq &ge; {@code base}, or the block
     * is zero. Immutable; thread safe.
     */
    public record Base(String owner, long vdisk, int shard, long base) {}

    /** The record of a {@code rob} object, or null when {@code o} is something else (or malformed). */
    static Base base(BlockStore store, StoreObject o) {
        Map<String, byte[]> a = store.attributes(o);
        byte[] t = a.get("t");
        if (t == null || !BASE_TYPE.equals(new String(t, StandardCharsets.US_ASCII))) return null;
        byte[] ow = a.get("o");
        long v = u64(a.get("v")), sh = u64(a.get("s")), b = u64(a.get("b"));
        if (ow == null || v < 0 || sh < 0 || sh >= MAX_SHARDS || b <= 0) return null;
        return new Base(new String(ow, StandardCharsets.US_ASCII), v, (int) sh, b);
    }

    /**
     * Every base held (the highest per owner, vDisk and shard; earlier runs' included), by owner,
     * vDisk, shard. Thread safe; control path (tools: {@code dsf replicas --json}).
     */
    public List<Base> bases() {
        Map<String, Base> best = new HashMap<>();
        for (StoreObject o : store.objects()) {
            Base b = base(store, o);
            if (b == null) continue;
            best.merge(b.owner() + "/" + b.vdisk() + "/" + b.shard(), b, (x, y) -> x.base() >= y.base() ? x : y);
        }
        List<Base> out = new ArrayList<>(best.values());
        out.sort((x, y) -> {
            int c = x.owner().compareTo(y.owner());
            if (c == 0) c = Long.compare(x.vdisk(), y.vdisk());
            return c != 0 ? c : Integer.compare(x.shard(), y.shard());
        });
        return out;
    }

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

    private long busySince;
    private boolean busyLogged;
    private int storeSpins;
    /** Idle loops spent spinning on a busy store channel before waiting on it, and how long one wait lasts at most (new messages wait that long). */
    private static final int STORE_SPINS = 256;
    /**
     * Longest wait for the network while the store is idle: new messages and connections end it at
     * once; the drain and scan threads' results wait for it. 20 ms rather than 0.5 ms: an idle RF2
     * node used 120-190 ms of CPU per 10 s with it, 260-300 ms at 0.5 ms.
     */
    static final long IDLE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /** Nice value of the drain thread (the data path's threads keep 0). */
    static final int DRAIN_NICE = 10;
    private static final long STORE_WAIT_NANOS = 200_000;

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
            for (ReplicaDrain.Stream st : streams.values()) { // images of earlier runs: their ranges and tables read in the background
                ReplicaVDisk meta = metas.get(st.owner + "/" + st.vdisk);
                if (st.table != null && meta != null && st.shard < meta.shards())
                    submit(new ReplicaDrain.Job(st, meta, List.of(), 0), MODE_LOAD);
            }
            while (!closing) {
                int work = adopt();
                if (ch.inFlight() == 0 && !ch.leadingCommit()) { busySince = 0; busyLogged = false; }
                // while the store works on a batch, the network is looked at only every few turns: its
                // poll is a system call, and the spin below would otherwise make one per turn
                if (storeSpins == 0 || (storeSpins & 31) == 0) work += cq.poll(comps) > 0 ? onCompletions() : 0;
                work += ch.poll(64);
                work += onStoreCompletions();
                if (!trims.isEmpty()) work += onScanned();
                work += onDrained();
                if (closingCount > 0) reap();
                if (work > 0) storeSpins = 0;
                else {
                    if (ch.inFlight() > 0 || ch.leadingCommit()) { // a commit this channel leads progresses only here
                        if (busySince == 0) busySince = System.nanoTime();
                        else if (System.nanoTime() - busySince > 2_000_000_000L && !busyLogged) {
                            busyLogged = true;
                            StringBuilder b = new StringBuilder();
                            for (Conn x : conns) if (x.state != C_FREE) b.append(" [slot ").append(x.slot).append(" state ").append(x.state).append(" busy ").append(x.storeBusy).append("]");
                            LOG.log(System.Logger.Level.WARNING, "replica: store channel busy for 2 s: " + ch.inFlight() + " in flight"
                                    + (ch.leadingCommit() ? ", leading a commit" : "") + "; " + store.describeJournal() + ";" + b);
                        }
                        // spin briefly, then wait on the store: a replica spinning for its whole write + sync took the
                        // CPU the device's and the journal's threads needed (every node owner and replica at once)
                        if (++storeSpins < STORE_SPINS) Thread.onSpinWait();
                        else ch.await(64, STORE_WAIT_NANOS);
                    }
                    else {
                        maybeDrainIdle();
                        if (cq.await(comps, IDLE_WAIT_NANOS) > 0) onCompletions();
                    }
                }
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "replica service failed", t);
        } finally {
            for (Conn c : conns) if (c.ep != null) c.ep.close();
            for (Conn c : conns) if (c.pull != null) {
                c.pull.free();
                c.pull = null;
            }
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
            c.stream = null;
            c.deferredNext = false;
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
        int type = f.type();
        if (type != ReplicationDescriptor.TYPE_BATCH && type != ReplicationDescriptor.TYPE_TRIM && type != ReplicationDescriptor.TYPE_META
                && type != ReplicationDescriptor.TYPE_PULL && type != ReplicationDescriptor.TYPE_NEXT
                && type != ReplicationDescriptor.TYPE_BASE) {
            reset(c, "unexpected message type " + ReplicationDescriptor.typeName(type));
            return;
        }
        if (type == ReplicationDescriptor.TYPE_NEXT) {
            onNext(c, f.batchId());
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
        if (type == ReplicationDescriptor.TYPE_TRIM) {
            onTrim(c, f.vdisk(), f.shard(), f.segment());
            return;
        }
        if (type == ReplicationDescriptor.TYPE_META) {
            onMeta(c, f.vdisk(), f.payloadLength());
            return;
        }
        if (type == ReplicationDescriptor.TYPE_BASE) {
            onBase(c, f.batchId(), f.vdisk(), f.shard(), f.segment() | f.segmentOffset() | f.segmentBytes());
            return;
        }
        if (type == ReplicationDescriptor.TYPE_PULL) {
            onPull(c, f.batchId(), f.payloadLength());
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
            c.stream = stream(c.owner, vdisk, shard);
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
        for (int i = 0; i < trims.size(); i++) trims.get(i).touched.add(c.obj); // a scan may predate this batch: keep its segment
        for (int i = 0; i < drainJobs.size(); i++) drainJobs.get(i).touched.add(c.obj); // likewise a drain's read
        ReplicaDrain.Stream ds = c.stream;
        if (ds != null && !ds.deferredDeletes.isEmpty()) // drained, its delete deferred behind a pull: it holds new batches now
            for (int i = ds.deferredDeletes.size() - 1; i >= 0; i--) if (ds.deferredDeletes.get(i).object() == c.obj) ds.deferredDeletes.remove(i);
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

    /**
     * Applies a base: records it when it is higher than the one held (a {@code rob} object), tells
     * running pulls of the vDisk, and hands this node's segments of (owner, vDisk, shard) to the scan
     * thread ({@link #onScanned} deletes those wholly below the base); a repeat or lower base goes
     * straight to the sync. The ACK is sent when the channel's sync after all that completes. A
     * malformed BASE resets the connection before anything changes.
     */
    private void onBase(Conn c, long base, long vdisk, int shard, long placement) {
        if (base <= 0 || vdisk < 0 || shard < 0 || shard >= MAX_SHARDS || placement != 0) {
            reset(c, "malformed BASE (base " + base + ", vdisk " + vdisk + ", shard " + shard + ")");
            return;
        }
        ReplicaVDisk m = metas.get(c.owner + "/" + vdisk);
        if (m != null && shard >= m.shards()) {
            reset(c, "BASE of shard " + shard + " of " + c.owner + "/" + vdisk + ", which has " + m.shards() + " shards");
            return;
        }
        c.batchId = base;
        c.baseVdisk = vdisk;
        c.baseShard = shard;
        c.segOff = 0;
        c.segBytes = 0;
        String k = c.owner + "/" + vdisk + "/" + shard;
        Long had = baseValues.get(k);
        if (had != null && base <= had) {
            syncBase(c);
            return;
        }
        try {
            StoreObject o = baseObjects.get(k);
            if (o == null || o.isDeleted()) {
                Map<String, byte[]> a = new java.util.LinkedHashMap<>();
                a.put("t", BASE_TYPE.getBytes(StandardCharsets.US_ASCII));
                a.put("o", c.ownerBytes);
                a.put("v", u64(vdisk));
                a.put("s", u64(shard));
                a.put("b", u64(base));
                baseObjects.put(k, store.create(0, 0, a));
            } else store.setAttribute(o, "b", u64(base));
            baseValues.put(k, base);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "replica: cannot record base " + base + " for " + k + ": " + e.getMessage());
            answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, vdisk, shard, 0);
            return;
        }
        for (Conn x : conns) // running pulls of that vDisk send the new base before their next batch
            if (x.pull != null && x.state != C_FREE && x.owner != null && x.owner.equals(c.owner) && x.pull.vd.id() == vdisk
                    && shard < x.pull.bases.length && x.pull.bases[shard] < base) x.pull.bases[shard] = base;
        List<ReplicaSegment> segs = new ArrayList<>();
        for (ReplicaSegment s : list()) if (s.owner().equals(c.owner) && s.vdisk() == vdisk && s.shard() == shard) segs.add(s);
        Trim t = new Trim(c, k, had == null ? 0 : had, base, segs);
        trims.add(t);
        c.state = C_SYNCING; // no message taken until the answer; the slot is held until the scan is back
        c.storeBusy = true;
        try {
            scanner.execute(() -> scan(t));
        } catch (java.util.concurrent.RejectedExecutionException e) { // closing
            trims.remove(t);
            c.storeBusy = false;
            answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, vdisk, shard, 0);
        }
    }

    /** Asks the channel for the sync whose completion answers a BASE (ACK, or NACK on a store failure). */
    private void syncBase(Conn c) {
        int st;
        while ((st = ch.sync(K_BASE | c.slot)) == StoreStatus.QUEUE_FULL.code()) {
            ch.poll(64);
            Thread.onSpinWait();
        }
        if (st != StoreChannel.ACCEPTED) {
            c.storeBusy = false;
            LOG.log(System.Logger.Level.WARNING, "replica: sync for base " + c.batchId + " refused: " + StoreStatus.describe(st));
            answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, c.baseVdisk, c.baseShard, 0);
            return;
        }
        c.state = C_SYNCING;
        c.storeBusy = true;
    }

    /**
     * A base being applied: the connection that sent it, the segments to scan, their newest
     * sequences once scanned (-1: unreadable or gone, kept) and the segment objects a batch was written
     * into since the scan began (kept: the scan may predate the write). Made and finished on the
     * service thread; {@link #newest} is written by the scan thread before it queues the trim on
     * {@link #scanned} (which publishes it).
     */
    private static final class Trim {
        final Conn c;
        final String key;
        final long had, base;
        final List<ReplicaSegment> segs;
        final long[] newest;
        final java.util.Set<StoreObject> touched = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

        Trim(Conn c, String key, long had, long base, List<ReplicaSegment> segs) {
            this.c = c;
            this.key = key;
            this.had = had;
            this.base = base;
            this.segs = segs;
            this.newest = new long[segs.size()];
        }
    }

    /** Scan thread: the newest sequence of each segment of a trim, through a channel of its own; then hands it back. */
    private void scan(Trim t) {
        try (StoreChannel sc = store.openChannel(4, SCAN_WINDOW, 1, (tag, st) -> { })) {
            MemorySegment buf = sc.buffers().buffer(sc.buffers().acquire());
            ByteBuffer view = buf.asByteBuffer();
            CRC32C c = new CRC32C();
            for (int i = 0; i < t.segs.size(); i++) {
                ReplicaSegment s = t.segs.get(i);
                try {
                    t.newest[i] = s.object().isDeleted() ? -1 : newestSeq(sc, buf, view, c, s);
                } catch (RuntimeException e) {
                    t.newest[i] = -1;
                    LOG.log(System.Logger.Level.WARNING, "replica: cannot scan " + s + " for base " + t.base + " (kept): " + e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            java.util.Arrays.fill(t.newest, -1);
            LOG.log(System.Logger.Level.WARNING, "replica: cannot scan for base " + t.base + " of " + t.key + ": " + e.getMessage());
        }
        scanned.add(t);
    }

    /**
     * Service thread: a trim's scan is back. Deletes each segment whose newest entry is below the
     * base, unless a batch was written into it since the scan began or is being written now, then
     * syncs for the ACK (the connection closed meanwhile: the deletes stand, no answer).
     */
    private int onScanned() {
        int n = 0;
        Trim t;
        while ((t = scanned.poll()) != null) {
            n++;
            trims.remove(t);
            int deleted = 0;
            for (int i = 0; i < t.segs.size(); i++) {
                ReplicaSegment s = t.segs.get(i);
                StoreObject o = s.object();
                if (t.newest[i] < 0 || t.newest[i] >= t.base || t.touched.contains(o) || o.isDeleted()) continue;
                boolean writing = false;
                for (Conn x : conns) writing |= x.state != C_FREE && x.storeBusy && x.obj == o;
                if (writing) continue;
                objects.remove(key(s.owner(), s.vdisk(), s.shard(), s.segment()));
                for (Conn x : conns) if (x.obj == o) x.obj = null;
                try {
                    store.delete(o);
                    deleted++;
                    segmentsTrimmed++;
                    segmentsBelowBase++;
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "replica: cannot delete " + s + " below base " + t.base + ": " + e.getMessage());
                }
            }
            basesApplied++;
            LOG.log(System.Logger.Level.INFO, "replica: base " + t.base + " for " + t.key + ": " + deleted + " segments deleted"
                    + (t.had == 0 ? "" : " (base was " + t.had + ")"));
            ReplicaDrain.Stream ist = streams.get(t.key);
            if (ist != null && (ist.table != null || !ist.vblocks.isEmpty()) && freeWanted.add(ist)) drainWork = true; // its image below the base goes too
            t.c.storeBusy = false;
            if (t.c.state == C_CLOSING) continue;
            syncBase(t.c);
        }
        return n;
    }

    // ================================================================ drain (service thread side)

    /**
     * Hands a drain of {@code st} to the drain thread: the stream's segments now (the segments a batch is
     * being written into count as touched: kept after the drain), its base now. Without the vDisk's
     * metadata (its size and shards) the stream cannot be laid out and stays in its segments.
     */
    private void submitDrain(ReplicaDrain.Stream st) {
        ReplicaVDisk meta = metas.get(st.owner + "/" + st.vdisk);
        if (meta == null || st.shard >= meta.shards()) {
            if (noMetaLogged.add(st.key()))
                LOG.log(System.Logger.Level.WARNING, "replica: no metadata for " + st.key() + " (or not that many shards): its batches stay in their segments");
            st.undrained = 0;
            return;
        }
        List<ReplicaSegment> segs = new ArrayList<>(); // from this thread's map: no store scan on the latency path
        String prefix = st.key() + "/";
        for (Map.Entry<String, StoreObject> e : objects.entrySet()) {
            if (!e.getKey().startsWith(prefix) || e.getValue().isDeleted()) continue;
            long n = Long.parseLong(e.getKey().substring(prefix.length()));
            segs.add(new ReplicaSegment(st.owner, st.vdisk, st.shard, n, e.getValue().size(), e.getValue()));
        }
        segs.sort((x, y) -> Long.compare(x.segment(), y.segment()));
        long bytes = 0;
        int take = 0;
        while (take < segs.size() && (take == 0 || bytes < MAX_DRAIN_BYTES)) bytes += segs.get(take++).bytes();
        ReplicaDrain.Job j = new ReplicaDrain.Job(st, meta, new ArrayList<>(segs.subList(0, take)), baseValues.getOrDefault(st.key(), 0L));
        j.partial = take < segs.size();
        for (int i = take; i < segs.size(); i++) j.leftBytes += segs.get(i).bytes();
        submit(j, MODE_DRAIN);
    }

    private static final int MODE_DRAIN = 0, MODE_FREE = 1, MODE_LOAD = 2;
    /**
     * Segment bytes one drain takes at most (the oldest first; the rest is the next drain's): bounds how
     * long a pull waiting to read the stream's image waits.
     */
    static final long MAX_DRAIN_BYTES = 128L << 20;

    private void submit(ReplicaDrain.Job j, int mode) {
        ReplicaDrain.Stream st = j.s;
        for (ReplicaSegment x : j.segs)
            for (Conn c : conns) if (c.state != C_FREE && c.storeBusy && c.obj == x.object()) j.touched.add(x.object());
        st.busy = true;
        st.undrained = 0;
        drainJobs.add(j);
        try {
            drainer.execute(() -> {
                try {
                    switch (mode) {
                        case MODE_FREE -> drain.freeBelow(j.s, j.meta, j.base);
                        case MODE_LOAD -> drain.load(j.s, j.meta);
                        default -> drain.drain(j);
                    }
                } catch (Throwable t) {
                    j.failure = String.valueOf(t);
                } finally {
                    drain.settle(); // writes still in flight waited for, a commit this channel leads finished
                }
                drainedJobs.add(j);
            });
        } catch (java.util.concurrent.RejectedExecutionException e) { // closing
            j.failure = "closing";
            drainedJobs.add(j);
        }
    }

    /** When the service has stored nothing for the policy's idle time: drains every stream with undrained bytes (checked every 100 ms). */
    private void maybeDrainIdle() {
        if (policy.idleNanos() <= 0) return;
        long now = System.nanoTime();
        if (now - lastIdleCheck < 100_000_000L || now - lastStoredNanos < policy.idleNanos()) return;
        lastIdleCheck = now;
        for (ReplicaDrain.Stream st : streams.values())
            if (st.undrained > 0 && !st.busy && now >= st.retryAt && !pulling(st.owner, st.vdisk)) submitDrain(st);
    }

    /** Whether a pull of (owner, vDisk) is still reading (its segments must stay until it is done). */
    private boolean pulling(String owner, long vdisk) {
        for (Conn c : conns)
            if (c.state != C_FREE && c.pull != null && !c.pull.ended && c.pull.vd.id() == vdisk && owner.equals(c.owner)) return true;
        return false;
    }

    /**
     * Drain jobs that are back: deletes the drained segments no batch was written into since the drain
     * began (while a pull of the vDisk reads, later), answers the NEXTs that waited for the stream,
     * starts what was asked meanwhile ({@link #drainNow}, a base's freeing) and completes
     * {@link #drainNow} requests whose streams are all done.
     */
    private int onDrained() {
        if (drainRequests.isEmpty() && drainedJobs.isEmpty() && !drainWork) return 0; // the common case: one check per loop
        drainWork = false;
        int n = 0;
        java.util.concurrent.CompletableFuture<Integer> req;
        while ((req = drainRequests.poll()) != null) {
            n++;
            for (ReplicaSegment x : list()) {
                ReplicaDrain.Stream st = stream(x.owner(), x.vdisk(), x.shard());
                forced.add(st);
            }
            drainWaiters.add(req);
        }
        ReplicaDrain.Job j;
        while ((j = drainedJobs.poll()) != null) {
            n++;
            drainJobs.remove(j);
            ReplicaDrain.Stream st = j.s;
            st.busy = false;
            if (j.failure != null) {
                drainsFailed++;
                if (forced.contains(st) || !j.segs.isEmpty()) st.undrained = Math.max(st.undrained, 1); // tried again when idle
                // not at once: a drain that keeps failing (a full store) would re-read its segments every idle check
                st.retryBackoff = Math.min(Math.max(2 * st.retryBackoff, 100_000_000L), 30_000_000_000L);
                st.retryAt = System.nanoTime() + st.retryBackoff;
                LOG.log(System.Logger.Level.WARNING, "replica: drain of " + st.key() + " failed (segments kept): " + j.failure);
            } else {
                drainsDone++;
                st.retryBackoff = 0;
                st.retryAt = 0;
                int deleted = 0;
                for (ReplicaSegment x : j.drained) {
                    StoreObject o = x.object();
                    if (j.touched.contains(o) || o.isDeleted()) continue;
                    boolean writing = false;
                    for (Conn c : conns) writing |= c.state != C_FREE && c.storeBusy && c.obj == o;
                    if (writing) continue;
                    if (pulling(st.owner, st.vdisk)) {
                        st.deferredDeletes.add(x);
                        deferredDeletes = true;
                    }
                    else if (deleteSegment(x)) deleted++;
                }
                if (j.partial) { // segments left for the next drain: soon (idle, or at once when asked)
                    st.undrained = Math.max(st.undrained, j.leftBytes); // past the threshold: the next batch starts it
                    if (!drainWaiters.isEmpty()) forced.add(st);
                }
                if (!j.segs.isEmpty())
                    LOG.log(System.Logger.Level.DEBUG, "replica: drained " + st.key() + ": " + j.batches + " batches from " + j.segs.size()
                            + " segments, " + deleted + " deleted");
            }
        }
        for (Conn c : conns) {
            if (!c.deferredNext || c.state == C_FREE || c.state == C_CLOSING) continue;
            c.deferredNext = false;
            onNext(c, c.batchId);
        }
        if (deferredDeletes) {
            deferredDeletes = false;
            for (ReplicaDrain.Stream st : streams.values()) {
            if (!st.deferredDeletes.isEmpty() && !pulling(st.owner, st.vdisk)) {
                    for (ReplicaSegment x : st.deferredDeletes) if (!x.object().isDeleted()) deleteSegment(x);
                    st.deferredDeletes.clear();
                }
                deferredDeletes |= !st.deferredDeletes.isEmpty();
            }
        }
        if (!freeWanted.isEmpty()) {
            for (java.util.Iterator<ReplicaDrain.Stream> it = freeWanted.iterator(); it.hasNext(); ) {
                ReplicaDrain.Stream st = it.next();
                if (st.busy) continue;
                it.remove();
                ReplicaVDisk meta = metas.get(st.owner + "/" + st.vdisk);
                if (meta != null) submit(new ReplicaDrain.Job(st, meta, List.of(), baseValues.getOrDefault(st.key(), 0L)), MODE_FREE);
            }
        }
        if (!forced.isEmpty()) {
            for (java.util.Iterator<ReplicaDrain.Stream> it = forced.iterator(); it.hasNext(); ) {
                ReplicaDrain.Stream st = it.next();
                if (st.busy) continue;
                it.remove();
                submitDrain(st);
            }
        }
        if (!drainWaiters.isEmpty() && forced.isEmpty() && drainJobs.isEmpty()) {
            for (var f : drainWaiters) f.complete((int) drainsFailed);
            drainWaiters.clear();
        }
        return n;
    }

    /** Deletes a drained segment (its batches are in the image durably). */
    private boolean deleteSegment(ReplicaSegment x) {
        StoreObject o = x.object();
        objects.remove(key(x.owner(), x.vdisk(), x.shard(), x.segment()));
        for (Conn c : conns) if (c.obj == o) c.obj = null;
        try {
            if (!o.isDeleted()) store.delete(o);
            segmentsDrained++;
            return true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "replica: cannot delete drained " + x + ": " + e.getMessage());
            return false;
        }
    }

    /**
     * The highest sequence number of any batch in a replica segment whose header page verifies
     * (magic, version, sizes, header CRC32C; the data is not needed to know the sequences), 0 when it
     * holds none. Reads the segment once, a window at a time, blocking, through {@code ch} (the
     * calling thread's); a page that starts no batch is skipped.
     */
    private static long newestSeq(StoreChannel ch, MemorySegment buf, ByteBuffer view, CRC32C crc, ReplicaSegment s) {
        long newest = 0, size = s.bytes(), winBase = -1;
        int have = 0;
        for (long pos = 0; pos + OpLogBatchView.PAGE <= size; ) {
            if (winBase < 0 || pos + OpLogBatchView.PAGE > winBase + have) {
                winBase = pos;
                have = (int) Math.min(SCAN_WINDOW, size - pos);
                ch.readBlocking(s.object(), winBase, buf, have);
            }
            int at = (int) (pos - winBase);
            int slices = headerSlices(buf, view, at, crc);
            if (slices < 0) {
                pos += OpLogBatchView.PAGE;
                continue;
            }
            newest = Math.max(newest, batchNewest(buf, at));
            pos += (1L + slices) * OpLogBatchView.PAGE;
        }
        return newest;
    }

    /** The data slice count of the batch header page at {@code at} when it verifies (structure and header CRC32C), else -1. */
    private static int headerSlices(MemorySegment m, ByteBuffer view, int at, CRC32C crc) {
        if (m.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at) != OpLogBatchView.MAGIC
                || m.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, at + 4) != OpLogBatchView.VERSION) return -1;
        int count = OpLogBatchView.count(m, at), slices = OpLogBatchView.dataSlices(m, at);
        if (count < 1 || count > OpLogBatchView.MAX_ENTRIES || slices < 0 || slices > OpLogBatchView.MAX_DATA_SLICES
                || m.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, at + 24) != 0) return -1;
        int stored = m.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at + 20);
        m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at + 20, 0);
        int c = OpLogBatchView.crc(view, at, OpLogBatchView.PAGE, crc);
        m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at + 20, stored);
        return c == stored ? slices : -1;
    }

    /** Newest sequence of the (verified) batch at {@code at}. */
    private static long batchNewest(MemorySegment m, int at) {
        long newest = 0;
        for (int i = 0, n = OpLogBatchView.count(m, at); i < n; i++) newest = Math.max(newest, OpLogBatchView.seq(m, at, i));
        return newest;
    }

    /**
     * Stores the owner's vDisk metadata (first time, or changed: a {@code rom} object, then an asynchronous
     * channel sync) and takes the next message; no answer. Control path: once per owner shard connection,
     * and a store operation only when the record is new.
     */
    private void onMeta(Conn c, long vdisk, int len) {
        ReplicaVDisk m = ReplicaVDisk.decode(c.owner, recvRegion, c.recvOff, len);
        if (m == null || m.id() != vdisk) {
            reset(c, m == null ? "malformed vDisk metadata" : "metadata of vDisk " + m.id() + " in a message for " + vdisk);
            return;
        }
        String k = c.owner + "/" + vdisk;
        if (!m.equals(metas.get(k))) {
            try {
                StoreObject o = metaObjects.get(k);
                if (o == null || o.isDeleted()) metaObjects.put(k, store.create(0, 0, metaAttrs(m)));
                else for (Map.Entry<String, byte[]> e : metaAttrs(m).entrySet()) store.setAttribute(o, e.getKey(), e.getValue());
                // never store.sync() here: this thread polls the channel, and a commit that channel leads
                // completes only through those polls (a blocking sync waited for it forever when every node
                // was owner and replica at once). The channel's own sync is asynchronous, and every batch's
                // sync comes after it, so the metadata is durable before any batch of the vDisk is acknowledged.
                int st;
                while ((st = ch.sync(K_META | c.slot)) == StoreStatus.QUEUE_FULL.code()) {
                    ch.poll(64);
                    Thread.onSpinWait();
                }
                if (st != StoreChannel.ACCEPTED) throw new IllegalStateException("sync refused: " + StoreStatus.describe(st));
                metas.put(k, m);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "replica: cannot store the metadata of " + k + ": " + e.getMessage());
            }
        }
        if (c.ep.postRecv(recvMr, c.recvOff, ReplicationDescriptor.RECV_BUFFER, K_RECV | c.slot) != PostStatus.OK)
            reset(c, "cannot re-post a receive");
    }

    /** Starts serving a pull: answers the metadata of the newest vDisk of that name held for the owner, or NACK. */
    private void onPull(Conn c, long requestId, int len) {
        if (c.pull != null) {
            reset(c, "a second PULL on one connection");
            return;
        }
        byte[] nb = new byte[len];
        MemorySegment.copy(recvRegion, java.lang.foreign.ValueLayout.JAVA_BYTE, c.recvOff, nb, 0, len);
        String name = new String(nb, StandardCharsets.UTF_8);
        if (!ReplicaVDisk.validName(name) || !java.util.Arrays.equals(nb, name.getBytes(StandardCharsets.UTF_8))) {
            reset(c, "PULL of a malformed vDisk name");
            return;
        }
        c.batchId = requestId;
        c.segOff = 0;
        c.segBytes = 0;
        ReplicaVDisk best = null;
        for (ReplicaVDisk m : metas.values())
            if (m.owner().equals(c.owner) && m.name().equals(name) && (best == null || m.id() > best.id())) best = m;
        if (best == null) {
            LOG.log(System.Logger.Level.INFO, "replica: pull of " + c.owner + "/" + name + " from " + c.ep.remoteAddress() + ": not held here");
            answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_UNKNOWN_VDISK, -1, 0, 0);
            return;
        }
        List<ReplicaSegment> segs = new ArrayList<>();
        for (ReplicaSegment s : list()) if (s.owner().equals(c.owner) && s.vdisk() == best.id()) segs.add(s);
        long[] bases = new long[best.shards()];
        for (int s = 0; s < bases.length; s++) bases[s] = baseValues.getOrDefault(c.owner + "/" + best.id() + "/" + s, 0L);
        try {
            c.pull = new Pull(best, segs, bases);
        } catch (RdmaException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "replica: cannot serve a pull: " + e.getMessage());
            answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, best.id(), 0, 0);
            return;
        }
        pullsServed++;
        LOG.log(System.Logger.Level.INFO, "replica: serving a pull of " + c.owner + "/" + name + " (vDisk " + best.id() + ", "
                + segs.size() + " segments) to " + c.ep.remoteAddress());
        Pull p = c.pull;
        int n = best.encode(p.send, 0);
        sendPulled(c, ReplicationDescriptor.TYPE_META, n, best.id(), 0, 0, 0, 0);
    }

    /**
     * Answers a NEXT. First a base of the vDisk the puller has not seen yet (a shard's base, first
     * after the META and again when a BASE raised it during the pull). Then shard by shard: the next
     * valid batch of the shard's segments (scanning from where the last one ended: each page that
     * starts a batch passing {@link OpLogBatchView#verify} is taken, anything else is skipped a page at
     * a time; a batch whose every entry is below its shard's base, and a segment deleted meanwhile, are
     * skipped), then the shard's image as synthetic batches ({@code IMAGE}: a vBlock's blocks at or above
     * the base, each entry with its own sequence), then its covered ranges ({@code COVERED}, as they
     * were when the image phase began); END after the last shard. Reads the store blocking, a window
     * or a vBlock at a time, on this thread: pulls are rare (takeover, read repair) and each step is
     * bounded. While a drain of the shard's stream runs, the image is not read: the answer waits for it.
     */
    private void onNext(Conn c, long requestId) {
        Pull p = c.pull;
        if (p == null) {
            reset(c, "NEXT without a PULL");
            return;
        }
        c.batchId = requestId;
        for (int sh = 0; sh < p.bases.length; sh++) {
            if (p.bases[sh] > p.basesSent[sh]) {
                p.basesSent[sh] = p.bases[sh];
                sendPulled(c, ReplicationDescriptor.TYPE_BASE, 0, p.vd.id(), sh, p.bases[sh], 0, 0);
                return;
            }
        }
        while (p.shard < p.vd.shards()) {
            int sh = p.shard;
            if (p.phase == 0) {
                if (nextLogBatch(c, p, sh)) return;
                p.phase = 1;
                continue;
            }
            if (p.phase == 1) {
                ReplicaDrain.Stream st = streams.get(c.owner + "/" + p.vd.id() + "/" + sh);
                if (st == null || st.table == null && st.vblocks.isEmpty()) {
                    p.phase = 3;
                    continue;
                }
                if (p.vblocks == null) {
                    if (st.busy) { // a drain writes the image now: answered when it is back
                        c.deferredNext = true;
                        return;
                    }
                    if (!st.loaded) { // not read since the start: the drain thread reads its ranges first
                        submit(new ReplicaDrain.Job(st, p.vd, List.of(), 0), MODE_LOAD);
                        c.deferredNext = true;
                        return;
                    }
                    p.ranges = st.ranges;
                    p.vblocks = st.vblocks.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
                    p.vbIdx = -1;
                    p.table = null;
                }
                int r = nextImageBatch(c, p, st, sh);
                if (r > 0) return;
                if (r < 0) return; // answered (NACK) or waiting
                p.phase = 2;
                continue;
            }
            if (p.phase == 2) {
                p.phase = 3;
                long[] ranges = p.ranges;
                if (ranges != null && ranges.length > 0) {
                    int n = ranges.length / 2;
                    p.send.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, n);
                    for (int i = 0; i < ranges.length; i++) p.send.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8 + 8L * i, ranges[i]);
                    p.send.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 4, OpLogBatchView.crc(p.sendView, 8, 16 * n, crc));
                    sendPulled(c, ReplicationDescriptor.TYPE_COVERED, 8 + 16 * n, p.vd.id(), sh, 0, 0, 0);
                    return;
                }
                continue;
            }
            p.shard++;
            p.phase = 0;
            p.logMax.clear();
            p.vblocks = null;
            p.ranges = null;
        }
        p.ended = true;
        drainWork = true; // segments a drain let go wait for pulls to end
        sendPulled(c, ReplicationDescriptor.TYPE_END, 0, p.vd.id(), 0, 0, 0, p.sent);
    }

    /** Sends the next valid batch of shard {@code sh}'s segments; false when there is none left. */
    private boolean nextLogBatch(Conn c, Pull p, int sh) {
        while (p.segIdx < p.segs.size()) {
            ReplicaSegment s = p.segs.get(p.segIdx);
            if (s.shard() > sh) return false;
            if (s.shard() < sh || p.pos + OpLogBatchView.PAGE > s.bytes() || s.object().isDeleted()) {
                p.segIdx++;
                p.pos = 0;
                p.winBase = -1;
                continue;
            }
            if (p.winBase < 0 || p.pos < p.winBase
                    || p.pos + OpLogBatchView.MAX_BATCH > p.winBase + p.winHave && p.winBase + p.winHave < s.bytes()) {
                p.winBase = p.pos;
                p.winHave = (int) Math.min(PULL_WINDOW, s.bytes() - p.pos);
                try {
                    pullChannel(p);
                    MemorySegment buf = p.rbuf;
                    for (int done = 0; done < p.winHave; ) {
                        int n = Math.min(p.winHave - done, 1 << 20);
                        p.rch.readBlocking(s.object(), p.winBase + done, buf, n);
                        MemorySegment.copy(buf, 0, p.window, done, n);
                        done += n;
                    }
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "replica: pull read of " + s + " failed: " + e.getMessage());
                    p.winBase = -1;
                    answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, p.vd.id(), s.shard(), s.segment());
                    return true;
                }
            }
            int at = (int) (p.pos - p.winBase);
            int len = p.window.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at) == OpLogBatchView.MAGIC
                    ? (1 + OpLogBatchView.dataSlices(p.window, at)) * OpLogBatchView.PAGE : 0;
            if (len <= 0 || len > OpLogBatchView.MAX_BATCH || at + len > p.winHave
                    || OpLogBatchView.verify(p.window, p.windowView, at, len, crc) != OpLogBatchView.OK) {
                p.pos += OpLogBatchView.PAGE;
                continue;
            }
            if (s.shard() < p.bases.length && batchNewest(p.window, at) < p.bases[s.shard()]) { // redundant: every entry is below the base
                p.pos += len;
                continue;
            }
            for (int i = 0, n = OpLogBatchView.count(p.window, at); i < n; i++) { // what the log gave of each block
                long seq = OpLogBatchView.seq(p.window, at, i), b = OpLogBatchView.block(p.window, at, i);
                for (int k = 0, m = Math.min(OpLogBatchView.blocks(p.window, at, i), ReplicaImage.VBLOCK_BLOCKS); k < m; k++)
                    if (seq > p.logMax.get(b + k)) p.logMax.put(b + k, seq);
            }
            MemorySegment.copy(p.window, at, p.send, 0, len);
            long off = p.pos;
            p.pos += len;
            p.sent++;
            batchesPulled++;
            sendPulled(c, ReplicationDescriptor.TYPE_PULLED, len, p.vd.id(), s.shard(), s.segment(), off, s.bytes());
            return true;
        }
        return false;
    }

    private void pullChannel(Pull p) {
        if (p.rch == null) {
            p.rch = store.openChannel(4, 1 << 20, 1, (t, st) -> { });
            p.rbuf = p.rch.buffers().buffer(p.rch.buffers().acquire());
        }
    }

    /**
     * Sends the next synthetic batch of shard {@code sh}'s image (returns 1), or returns 0 when the
     * image is done, or -1 when it answered otherwise (a NACK: an image block that cannot be read and
     * that no entry sent from the log supersedes; or waiting for a drain).
     */
    private int nextImageBatch(Conn c, Pull p, ReplicaDrain.Stream st, int sh) {
        long base = p.bases[sh];
        while (true) {
            if (p.table == null || p.slot >= ReplicaImage.VBLOCK_BLOCKS) {
                if (++p.vbIdx >= p.vblocks.length) return 0;
                if (st.busy) { // a drain began meanwhile: read the next vBlock after it
                    p.vbIdx--;
                    c.deferredNext = true;
                    return -1;
                }
                if (!readImageVBlock(c, p, st, p.vblocks[p.vbIdx], base)) return -1;
                p.slot = 0;
            }
            int len = imageBatch(p, base);
            if (len > 0) {
                imageBatchesPulled++;
                p.imageSent++;
                sendPulled(c, ReplicationDescriptor.TYPE_IMAGE, len, p.vd.id(), sh, p.table.vblock, 0, 0);
                return 1;
            }
        }
    }

    /**
     * Reads one image vBlock (its table, then its data if it holds any at or above the base) into the
     * pull's buffer and checks every data block against the table's CRC32C. A block that fails is
     * left out when the log already gave an entry of that block at or above its sequence (a drain
     * interrupted by a crash: the segment it came from is still held); otherwise the pull is refused
     * (NACK, returns false): the replica cannot tell what it held.
     */
    private boolean readImageVBlock(Conn c, Pull p, ReplicaDrain.Stream st, long vb, long base) {
        ReplicaImage.Table t = new ReplicaImage.Table(vb);
        p.table = t;
        java.util.Arrays.fill(p.good, false);
        StoreObject tobj = st.table, data = st.vblocks.get(vb);
        long off = ReplicaImage.tableOffset(vb / p.vd.shards());
        if (tobj == null || tobj.isDeleted() || off + 2L * ReplicaImage.PAGE > tobj.size()) return true; // nothing: an empty table
        pullChannel(p);
        for (int pg = 0; pg < 2; pg++) {
            MemorySegment dst = p.rbuf.asSlice((long) pg * ReplicaImage.PAGE, ReplicaImage.PAGE);
            try {
                p.rch.readBlocking(tobj, off + (long) pg * ReplicaImage.PAGE, dst, ReplicaImage.PAGE);
            } catch (io.dsf.blockstore.store.ChecksumException e) { // a torn table page: the other copy holds the previous generation
                dst.fill((byte) 0);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "replica: pull read of the image table of " + st.key() + " vBlock " + vb + " failed: " + e.getMessage());
                answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, p.vd.id(), st.shard, vb);
                return false;
            }
        }
        ReplicaImage.decodeTable(p.rbuf, p.rbuf.asByteBuffer(), 0, t, crc);
        boolean anyData = false;
        for (int i = 0; i < ReplicaImage.VBLOCK_BLOCKS; i++) anyData |= t.kind[i] == ReplicaImage.KIND_DATA && t.seq[i] >= base;
        if (anyData) {
            ByteBuffer view = p.rbuf.asByteBuffer();
            boolean whole = false;
            if (data != null && !data.isDeleted()) {
                try {
                    p.rch.readBlocking(data, 0, p.rbuf, (int) ReplicaImage.VBLOCK_BYTES);
                    whole = true;
                } catch (io.dsf.blockstore.store.ChecksumException e) {
                    whole = false;
                } catch (io.dsf.blockstore.store.NoSuchObjectException e) {
                    data = null;
                }
            }
            for (int i = 0; i < ReplicaImage.VBLOCK_BLOCKS; i++) {
                if (t.kind[i] != ReplicaImage.KIND_DATA || t.seq[i] < base) continue;
                MemorySegment dst = p.rbuf.asSlice((long) i * ReplicaImage.PAGE, ReplicaImage.PAGE);
                boolean ok = whole;
                if (!whole && data != null) {
                    try {
                        p.rch.readBlocking(data, (long) i * ReplicaImage.PAGE, dst, ReplicaImage.PAGE);
                        ok = true;
                    } catch (RuntimeException e) {
                        ok = false;
                    }
                }
                p.good[i] = ok && OpLogBatchView.crc(view, i * ReplicaImage.PAGE, ReplicaImage.PAGE, crc) == t.crc[i];
                if (!p.good[i] && p.logMax.get(vb * ReplicaImage.VBLOCK_BLOCKS + i) < t.seq[i]) {
                    LOG.log(System.Logger.Level.WARNING, "replica: image block " + (vb * ReplicaImage.VBLOCK_BLOCKS + i) + " of " + st.key()
                            + " (seq " + t.seq[i] + ") does not verify and no newer entry is held: pull refused");
                    answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, p.vd.id(), st.shard, vb);
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Builds in the pull's send buffer the next synthetic batch of the vBlock read, from its slot
     * cursor: entries of adjacent blocks with one sequence and kind, at most {@link OpLogBatchView#MAX_ENTRIES}
     * entries and {@link OpLogBatchView#MAX_DATA_SLICES} data blocks; blocks below the base, absent or
     * failing their check are left out. Returns its length, or 0 when the vBlock has nothing left.
     */
    private int imageBatch(Pull p, long base) {
        ReplicaImage.Table t = p.table;
        MemorySegment m = p.send;
        m.asSlice(0, OpLogBatchView.PAGE).fill((byte) 0);
        int count = 0, slices = 0;
        while (p.slot < ReplicaImage.VBLOCK_BLOCKS && count < OpLogBatchView.MAX_ENTRIES) {
            int i = p.slot;
            int kind = t.kind[i];
            long seq = t.seq[i];
            if (kind == ReplicaImage.KIND_ABSENT || seq < base || kind == ReplicaImage.KIND_DATA && !p.good[i]) {
                p.slot++;
                continue;
            }
            int run = 1;
            while (i + run < ReplicaImage.VBLOCK_BLOCKS && t.kind[i + run] == kind && t.seq[i + run] == seq
                    && (kind != ReplicaImage.KIND_DATA || p.good[i + run])) run++;
            boolean zero = kind == ReplicaImage.KIND_ZERO;
            int dataCrc = 0;
            if (!zero) {
                run = Math.min(run, OpLogBatchView.MAX_DATA_SLICES - slices);
                if (run == 0) break;
                MemorySegment.copy(p.rbuf, (long) i * ReplicaImage.PAGE, m, (long) (1 + slices) * OpLogBatchView.PAGE, (long) run * ReplicaImage.PAGE);
                dataCrc = OpLogBatchView.crc(p.sendView, (1 + slices) * OpLogBatchView.PAGE, run * ReplicaImage.PAGE, crc);
                slices += run;
            }
            long e = 32 + 32L * count;
            m.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, e, seq);
            m.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, e + 8, t.vblock * ReplicaImage.VBLOCK_BLOCKS + i);
            m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, e + 16, run);
            m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, e + 20, zero ? OpLogBatchView.FLAG_ZERO : 0);
            m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, e + 24, dataCrc);
            count++;
            p.slot += run;
        }
        if (count == 0) return 0;
        m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, OpLogBatchView.MAGIC);
        m.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 4, (short) OpLogBatchView.VERSION);
        m.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 6, (short) count);
        m.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8, t.vblock);
        m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 16, slices);
        m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 20, OpLogBatchView.crc(p.sendView, 0, OpLogBatchView.PAGE, crc));
        return (1 + slices) * OpLogBatchView.PAGE;
    }

    /** Seals {@code len} payload bytes already in the pull's send buffer with a trailer, re-posts the receive and sends. */
    private void sendPulled(Conn c, int type, int len, long vdisk, int shard, long segment, long off, long segBytes) {
        Pull p = c.pull;
        frame.wrap(p.send, p.sendView, len).encode(type, 0, len, c.batchId, vdisk, shard, segment, off, segBytes, c.ownerBytes);
        if (c.ep.postRecv(recvMr, c.recvOff, ReplicationDescriptor.RECV_BUFFER, K_RECV | c.slot) != PostStatus.OK) {
            reset(c, "cannot re-post a receive");
            return;
        }
        int st = c.ep.postSend(p.sendMr, 0, len + ReplicationDescriptor.TRAILER, K_PULL | c.slot);
        if (st != PostStatus.OK) reset(c, "cannot send a pulled message: " + PostStatus.name(st));
    }

    private int onStoreCompletions() {
        int n = storeN;
        for (int i = 0; i < storeN; i++) {
            long tag = storeTag[i];
            int st = storeStatus[i];
            Conn c = conns[(int) (tag & 0xffff)];
            long kind = tag & KIND;
            if (kind == K_META) {
                if (st < 0) LOG.log(System.Logger.Level.WARNING, "replica: sync of vDisk metadata failed: " + StoreStatus.describe(st));
                continue;
            }
            c.storeBusy = false;
            if (c.state == C_CLOSING) continue;
            if (kind == K_BASE) {
                if (st < 0) {
                    LOG.log(System.Logger.Level.WARNING, "replica: sync of base " + c.batchId + " failed: " + StoreStatus.describe(st));
                    answer(c, ReplicationDescriptor.TYPE_NACK, ReplicationDescriptor.REASON_STORE, c.baseVdisk, c.baseShard, 0);
                } else answer(c, ReplicationDescriptor.TYPE_ACK, ReplicationDescriptor.REASON_NONE, c.baseVdisk, c.baseShard, 0);
                continue;
            }
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
                lastStoredNanos = System.nanoTime();
                ReplicaDrain.Stream ds = c.stream;
                if (ds != null) {
                    ds.undrained += c.len;
                    if (policy.thresholdBytes() > 0 && ds.undrained >= policy.thresholdBytes() && !ds.busy
                            && lastStoredNanos >= ds.retryAt && !pulling(ds.owner, ds.vdisk)) submitDrain(ds);
                }
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
            if (c.pull != null) {
                c.pull.free();
                c.pull = null;
                drainWork = true; // segments a drain let go may wait for this pull
            }
            c.deferredNext = false;
            closingCount--;
        }
    }

    /** Stops accepting, closes every connection (owners see their requests fail) and waits for the threads (a base's scan included). Idempotent. */
    @Override
    public void close() {
        if (closing) return;
        closing = true;
        listener.close();
        try {
            acceptor.join(5000);
            if (!stopped.await(10, TimeUnit.SECONDS)) LOG.log(System.Logger.Level.WARNING, "replica service thread did not stop");
            scanner.shutdownNow();
            if (!scanner.awaitTermination(10, TimeUnit.SECONDS)) LOG.log(System.Logger.Level.WARNING, "replica scan thread did not stop");
            try {
                drainer.execute(drain::close); // the drain channel is the drain thread's
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // already shut down
            }
            drainer.shutdown();
            if (!drainer.awaitTermination(60, TimeUnit.SECONDS)) LOG.log(System.Logger.Level.WARNING, "replica drain thread did not stop");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cq.close();
        recvMr.close();
        ackMr.close();
        arena.close();
    }
}
