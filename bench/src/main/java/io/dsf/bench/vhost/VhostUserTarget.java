package io.dsf.bench.vhost;

import io.dsf.bench.BenchException;
import io.dsf.bench.Target;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import io.dsf.frodo.driver.RequestQueue;
import io.dsf.frodo.driver.VhostUserDriver;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Locale;

import static io.dsf.frodo.vhostuser.VhostUserProtocol.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * {@code vhost-user-blk:SOCKET} and {@code vhost-user-scsi:SOCKET}: the bench drives a vhost-user
 * back-end (Frodo, qemu-storage-daemon, SPDK's vhost) as a guest would, through the test driver of
 * {@code frodo-vhost}: it negotiates, shares a memfd as guest memory (I/O buffers are allocated in
 * it), and each job's queue is one request virtqueue of its own, issuing virtio-blk or virtio-scsi
 * READ(16)/WRITE(16) requests from preallocated slots and polling the used ring (interrupts off
 * unless the job blocks). Options after the path: {@code ?mem=SIZE} guest memory (default 256m),
 * {@code null=1} the back-end discards writes (verify then expects zeros), {@code indirect=0} three
 * ring descriptors per request instead of an indirect table, {@code lun=N} (scsi).
 *
 * <p>Control plane (open, queue set-up and tear-down, buffer allocation) is serialised on the
 * driver; each queue is owned by its job thread.
 */
public final class VhostUserTarget implements Target {
    /** Largest request the target issues (the bench splits nothing: --bs above it is refused). */
    public static final int MAX_TRANSFER = 1 << 20;
    static final long DEFAULT_MEM = 256L << 20;
    /** Completions a queue's {@code poll} delivers at most per call (see {@code Queue.poll}). */
    static final int POLL_BATCH = 8;

    private static final long BLK_F_SIZE_MAX = 1L << 1, BLK_F_SEG_MAX = 1L << 2, BLK_F_RO = 1L << 5, BLK_F_BLK_SIZE = 1L << 6,
            BLK_F_FLUSH = 1L << 9, BLK_F_TOPOLOGY = 1L << 10, BLK_F_MQ = 1L << 12, BLK_F_DISCARD = 1L << 13;
    private static final long RING = VIRTIO_F_VERSION_1 | VIRTIO_RING_F_EVENT_IDX | VIRTIO_RING_F_INDIRECT_DESC
            | VHOST_USER_F_PROTOCOL_FEATURES;

    private final String spec;
    private final RequestQueue.Kind kind;
    private final Path socket;
    private final VhostUserDriver driver;
    private final boolean discardsWrites;
    private final boolean indirect;
    private final int lun;
    private final int firstQueue;
    private final boolean[] queueInUse;
    private final boolean readOnly;
    private final boolean trim;
    private final Geometry geometry;
    private final Device device = new Device();
    private boolean closed;

    private VhostUserTarget(String spec, RequestQueue.Kind kind, Path socket, VhostUserDriver driver, boolean discardsWrites,
                            boolean indirect, int lun, int firstQueue, int requestQueues, boolean readOnly, boolean trim, Geometry g) {
        this.spec = spec;
        this.kind = kind;
        this.socket = socket;
        this.driver = driver;
        this.discardsWrites = discardsWrites;
        this.indirect = indirect;
        this.lun = lun;
        this.firstQueue = firstQueue;
        this.queueInUse = new boolean[requestQueues];
        this.readOnly = readOnly;
        this.trim = trim;
        this.geometry = g;
    }

    /** {@code vhost-user-blk:REST}. */
    public static VhostUserTarget openBlk(String rest) { return open("vhost-user-blk", RequestQueue.Kind.BLK, rest); }

    /** {@code vhost-user-scsi:REST}. */
    public static VhostUserTarget openScsi(String rest) { return open("vhost-user-scsi", RequestQueue.Kind.SCSI, rest); }

    private static VhostUserTarget open(String kindName, RequestQueue.Kind kind, String rest) {
        String spec = kindName + ":" + rest;
        if (rest.isBlank()) throw BenchException.usage("target '" + kindName + ":' needs the back-end's socket path");
        String path = rest;
        long mem = DEFAULT_MEM;
        boolean discards = false, indirect = true;
        int lun = 0;
        int q = rest.indexOf('?');
        if (q >= 0) {
            path = rest.substring(0, q);
            for (String kv : rest.substring(q + 1).split("&")) {
                int e = kv.indexOf('=');
                String k = e < 0 ? kv : kv.substring(0, e), v = e < 0 ? "1" : kv.substring(e + 1);
                switch (k.toLowerCase(Locale.ROOT)) {
                    case "mem" -> mem = Sizes.parse(v);
                    case "null" -> discards = !v.equals("0");
                    case "indirect" -> indirect = !v.equals("0");
                    case "lun" -> lun = Integer.parseInt(v);
                    default -> throw BenchException.usage("unknown option '" + k + "' in --target " + spec + " (mem, null, indirect, lun)");
                }
            }
        }
        if (mem < (4L << 20) || mem % 4096 != 0) throw BenchException.usage("?mem= must be a multiple of 4k of at least 4m: " + mem);
        if (lun < 0 || lun > 16383) throw BenchException.usage("?lun= must be in 0..16383: " + lun);
        Path sock = Path.of(path);
        VhostUserDriver d;
        try {
            d = VhostUserDriver.connect(sock);
        } catch (IOException e) {
            throw BenchException.failure("cannot connect to " + spec + ": " + e.getMessage(), e);
        }
        try {
            return kind == RequestQueue.Kind.BLK ? setUpBlk(spec, sock, d, mem, discards, indirect)
                    : setUpScsi(spec, sock, d, mem, discards, indirect, lun);
        } catch (IOException | RuntimeException e) {
            d.close();
            if (e instanceof BenchException b) throw b;
            throw BenchException.failure("cannot set up " + spec + ": " + e.getMessage(), e);
        }
    }

    private static VhostUserTarget setUpBlk(String spec, Path sock, VhostUserDriver d, long mem, boolean discards, boolean indirect) throws IOException {
        long f = d.negotiate(RING | BLK_F_SIZE_MAX | BLK_F_SEG_MAX | BLK_F_RO | BLK_F_BLK_SIZE | BLK_F_FLUSH | BLK_F_TOPOLOGY
                | BLK_F_MQ | BLK_F_DISCARD, 0, PROTOCOL_F_MQ | PROTOCOL_F_CONFIG);
        if ((f & VIRTIO_F_VERSION_1) == 0) throw new IOException("the back-end does not offer VIRTIO_F_VERSION_1");
        int queues = (d.protocolFeatures() & PROTOCOL_F_MQ) != 0 ? (int) d.getU64(GET_QUEUE_NUM) : 1;
        if ((d.protocolFeatures() & PROTOCOL_F_CONFIG) == 0) throw new IOException("the back-end has no configuration space (PROTOCOL_F_CONFIG)");
        MemorySegment c = d.getConfig(0, 24);
        long sectors = c.get(JAVA_LONG_UNALIGNED, 0);
        int bs = (f & BLK_F_BLK_SIZE) != 0 ? c.get(JAVA_INT_UNALIGNED, 20) : 512;
        if (bs < 512 || Integer.bitCount(bs) != 1) throw new IOException("block size " + bs + " in the configuration space");
        if ((f & BLK_F_MQ) != 0) {
            int n = Short.toUnsignedInt(d.getConfig(34, 2).get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0));
            if (n > 0) queues = Math.min(queues, n);
        }
        d.createGuestMemory(mem);
        long capacity = sectors * 512 / bs * bs;
        Geometry g = new Geometry(capacity, bs, 4096, Math.max(bs, MAX_TRANSFER), (f & BLK_F_DISCARD) != 0, false, (f & BLK_F_FLUSH) != 0);
        return new VhostUserTarget(spec, RequestQueue.Kind.BLK, sock, d, discards, indirect, 0, 0, Math.max(1, queues),
                (f & BLK_F_RO) != 0, (f & BLK_F_DISCARD) != 0, g);
    }

    private static VhostUserTarget setUpScsi(String spec, Path sock, VhostUserDriver d, long mem, boolean discards, boolean indirect, int lun) throws IOException {
        long f = d.negotiate(RING, 0, PROTOCOL_F_MQ);
        if ((f & VIRTIO_F_VERSION_1) == 0) throw new IOException("the back-end does not offer VIRTIO_F_VERSION_1");
        int vqs = (d.protocolFeatures() & PROTOCOL_F_MQ) != 0 ? (int) d.getU64(GET_QUEUE_NUM) : 3;
        if (vqs < 3) throw new IOException("virtio-scsi needs at least 3 virtqueues; the back-end offers " + vqs);
        d.createGuestMemory(mem);
        // READ CAPACITY(16) on the first request queue (retried over unit attentions)
        long buf = d.alloc(4096, 4096);
        RequestQueue rq = RequestQueue.start(d, RequestQueue.Kind.SCSI, 2, 1, 512, lun, indirect);
        long lastLba = -1;
        int bs = 0;
        try {
            byte[] cdb = {(byte) 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0};
            int[] status = {-2};
            for (int attempt = 0; attempt < 4 && status[0] != 0; attempt++) {
                status[0] = -2;
                rq.command(cdb, buf, 32, attempt);
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (status[0] == -2 && System.nanoTime() < deadline) rq.await(1, 100_000_000L, (tag, st) -> status[0] = st);
                if (status[0] == -2) throw new IOException("READ CAPACITY(16) got no answer in 10 s");
            }
            if (status[0] != 0) throw new IOException("READ CAPACITY(16) failed: status 0x" + Integer.toHexString(status[0]));
            MemorySegment r = d.at(buf, 32);
            lastLba = r.get(JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0);
            bs = r.get(JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 8);
        } finally {
            rq.stop((tag, st) -> { });
            rq.close();
        }
        if (bs < 512 || Integer.bitCount(bs) != 1) throw new IOException("READ CAPACITY(16) reports a block size of " + bs);
        Geometry g = new Geometry((lastLba + 1) * bs, bs, 4096, Math.max(bs, MAX_TRANSFER), false, false, true);
        return new VhostUserTarget(spec, RequestQueue.Kind.SCSI, sock, d, discards, indirect, lun, 2, vqs - 2, false, false, g);
    }

    @Override public String spec() { return spec; }

    @Override public BlockDevice device() { return device; }

    @Override
    public String serverPlacement() {
        return "server behind " + socket + " (" + (kind == RequestQueue.Kind.BLK ? "virtio-blk" : "virtio-scsi")
                + ", " + queueInUse.length + " request queue" + (queueInUse.length == 1 ? "" : "s") + ", "
                + (indirect ? "indirect descriptors" : "direct descriptors") + "; its CPU placement is its launcher's)";
    }

    @Override public boolean retainsWrites() { return !discardsWrites; }

    @Override public boolean prefillUseful() { return !discardsWrites; }

    /** Request queues the back-end offers (the most jobs a run can have). */
    public int requestQueues() { return queueInUse.length; }

    @Override
    public void close() {
        synchronized (driver) {
            if (closed) return;
            closed = true;
            driver.close();
        }
    }

    private IoError status(int st) {
        if (st == 0) return null;
        if (st < 0) return IoError.CLOSED;
        if (kind == RequestQueue.Kind.BLK && st == RequestQueue.UNSUPPORTED) return IoError.UNSUPPORTED;
        return IoError.IO_ERROR;
    }

    /** The {@link BlockDevice} face of the target. Thread safe (control calls are serialised on the driver). */
    private final class Device implements BlockDevice {
        @Override public String uri() { return spec; }

        @Override public Geometry geometry() { return geometry; }

        @Override
        public DeviceQueue openQueue(int depth, CompletionHandler handler) {
            synchronized (driver) {
                if (closed) throw new DeviceException(IoError.CLOSED, spec, "target closed");
                int slot = -1;
                for (int i = 0; i < queueInUse.length; i++) if (!queueInUse[i]) { slot = i; break; }
                if (slot < 0) throw new DeviceException(IoError.OTHER, spec, "all " + queueInUse.length
                        + " request queues the back-end offers are in use: run fewer --jobs or give the back-end more queues");
                RequestQueue rq;
                try {
                    rq = RequestQueue.start(driver, kind, firstQueue + slot, depth, geometry.blockSize(), lun, indirect);
                } catch (IOException | RuntimeException e) {
                    throw new DeviceException(IoError.OTHER, spec, "cannot start request queue " + slot + ": " + e.getMessage());
                }
                queueInUse[slot] = true;
                return new Queue(rq, slot, handler);
            }
        }

        @Override
        public MemorySegment allocateDma(long size) {
            synchronized (driver) {
                if (closed) throw new DeviceException(IoError.CLOSED, spec, "target closed");
                try {
                    return driver.at(driver.alloc(size, 4096), size);
                } catch (IllegalStateException e) {
                    throw new DeviceException(IoError.NO_SPACE, spec, "guest memory of " + Sizes.format(driver.guest().byteSize())
                            + " exhausted allocating " + Sizes.format(size) + ": raise it with ?mem=SIZE");
                }
            }
        }

        @Override public void close() { VhostUserTarget.this.close(); }
    }

    /** One job's request virtqueue. Owned by the job thread; not thread safe. */
    private final class Queue implements DeviceQueue, RequestQueue.Completion {
        private final RequestQueue rq;
        private final int slot;
        private final CompletionHandler handler;
        private final long capacity = geometry.capacity();
        private final int blockMask = geometry.blockSize() - 1;
        private boolean queueClosed;

        Queue(RequestQueue rq, int slot, CompletionHandler handler) {
            this.rq = rq;
            this.slot = slot;
            this.handler = handler;
        }

        @Override
        public void onComplete(long tag, int status) {
            IoError e = status(status);
            handler.onComplete(tag, e == null ? 0 : e.code());
        }

        private int check(long offset, MemorySegment buffer, int length) {
            if (queueClosed) return IoError.CLOSED.code();
            if (length <= 0) return IoError.ZERO_LENGTH.code();
            if (((offset | length) & blockMask) != 0) return IoError.UNALIGNED.code();
            if (offset < 0 || offset > capacity - length) return IoError.OUT_OF_RANGE.code();
            if (length > MAX_TRANSFER) return IoError.TOO_LARGE.code();
            if (buffer.byteSize() < length) return IoError.BAD_BUFFER.code();
            return ACCEPTED;
        }

        private int accepted(int rc) {
            return switch (rc) {
                case RequestQueue.OK -> ACCEPTED;
                case RequestQueue.FULL -> IoError.QUEUE_FULL.code();
                default -> IoError.BAD_BUFFER.code();
            };
        }

        @Override
        public int read(long offset, MemorySegment buffer, int length, long userData) {
            int rc = check(offset, buffer, length);
            if (rc != ACCEPTED) return rc;
            long gpa = rq.gpaOf(buffer, length);
            if (gpa < 0) return IoError.BAD_BUFFER.code();
            return accepted(rq.read(offset, gpa, length, userData));
        }

        @Override
        public int write(long offset, MemorySegment buffer, int length, long userData) {
            int rc = check(offset, buffer, length);
            if (rc != ACCEPTED) return rc;
            if (readOnly) return IoError.UNSUPPORTED.code();
            long gpa = rq.gpaOf(buffer, length);
            if (gpa < 0) return IoError.BAD_BUFFER.code();
            return accepted(rq.write(offset, gpa, length, userData));
        }

        @Override
        public int flush(long userData) {
            if (queueClosed) return IoError.CLOSED.code();
            return accepted(rq.flush(userData));
        }

        @Override
        public int trim(long offset, long length, long userData) {
            if (queueClosed) return IoError.CLOSED.code();
            if (!trim) return IoError.UNSUPPORTED.code();
            if (length <= 0) return IoError.ZERO_LENGTH.code();
            if (((offset | length) & blockMask) != 0) return IoError.UNALIGNED.code();
            if (offset < 0 || offset > capacity - length) return IoError.OUT_OF_RANGE.code();
            if (length > (4L << 30) - 512) return IoError.TOO_LARGE.code();
            return accepted(rq.discard(offset, length, userData));
        }

        @Override public int submit() { return queueClosed ? 0 : rq.submit(); }

        /**
         * At most {@link #POLL_BATCH} completions per call: the job then resubmits those slots before
         * taking more, so the back-end works on new requests while the rest of the batch is handled
         * (a guest driver's completion and submission paths overlap the same way) instead of the two
         * sides taking turns over whole batches of iodepth requests.
         */
        @Override
        public int poll(int max) {
            if (queueClosed) return 0;
            rq.submit();
            return rq.poll(Math.min(max, POLL_BATCH), this);
        }

        @Override
        public int await(int max, long timeoutNanos) {
            if (queueClosed) return 0;
            return rq.await(max, timeoutNanos, this);
        }

        @Override public int inFlight() { return queueClosed ? 0 : rq.inFlight(); }

        @Override public int depth() { return rq.depth(); }

        @Override public BlockDevice device() { return device; }

        @Override
        public void close() {
            if (queueClosed) return;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (rq.inFlight() > 0 && System.nanoTime() < deadline) rq.await(rq.depth(), 10_000_000L, this);
            synchronized (driver) {
                queueClosed = true;
                try {
                    if (!closed) rq.stop(this);
                } catch (IOException | RuntimeException e) {
                    // the back-end went away: what was in flight completed as CLOSED through stop's leftovers
                } finally {
                    rq.close();
                    queueInUse[slot] = false;
                }
            }
        }
    }
}
