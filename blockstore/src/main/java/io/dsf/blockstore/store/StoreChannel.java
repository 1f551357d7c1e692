package io.dsf.blockstore.store;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.io.CompletionRing;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;
import io.dsf.blockstore.store.format.Crc;
import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.LE;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.meta.MetaImage;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * One I/O thread's door to a {@link BlockStore}: its own device queue, a {@link BufferPool} of
 * DMA buffers, a cache of free units refilled in batches from the store's allocator, and a ring
 * for its journal records. Reads, writes and syncs are submitted without blocking and complete
 * through the {@link StoreCompletionHandler}, on this thread, from {@link #poll} or {@link #await};
 * submission returns {@link #ACCEPTED} or a negative {@link StoreStatus} / device code and never
 * throws for bad input. Blocking helpers ({@code *Blocking}) serve tools and tests.
 *
 * <p>Writes and reads cover whole slices ({@code offset} and {@code length} multiples of the slice
 * size) inside the object's size. Every slice written gets its CRC32C; every slice read is
 * verified (a mismatch completes with {@link StoreStatus#CHECKSUM} and sets
 * {@link #lastChecksumObject()} / {@link #lastChecksumOffset()}); never-written slices read as
 * zeros. A sync completes when every write completed on this channel before it, and every
 * object change made before it, is durable. A request's buffer must stay untouched until it
 * completes. Tags in {@code [Long.MIN_VALUE, Long.MIN_VALUE + 2^40)} are reserved for the
 * blocking helpers.
 *
 * <p>Owned by the thread that opened it; not thread safe. No allocation per request in steady
 * state when buffers come from {@link #buffers()} or a {@link #registerRegion registered} region
 * and a request stays within one allocation unit.
 */
public final class StoreChannel implements AutoCloseable {
    public static final int ACCEPTED = 0;
    private static final int READ = 1, WRITE = 2;
    private static final long BLOCKING_BASE = Long.MIN_VALUE;
    private static final int RING_BYTES = 256 << 10;
    private static final byte[] ZEROS = new byte[64 << 10];
    /** Device tag of the requests of a journal commit this channel leads (op tags stay below 2^28). */
    private static final long LEAD_UD = 1L << 62;

    private final BlockStore store;
    private final MetaImage image;
    private final JournalWriter journal;
    private final String uri;
    private final DeviceQueue queue;
    private final BufferPool pool;
    final RecordRing ring;
    private final StoreCompletionHandler handler;
    private final Thread owner;
    private final int sliceSize, unitSize, spu, sliceShift, maxIo, segMax, maxSegs;
    private final boolean verify;

    private final Op[] ops;
    private final int[] freeOps;
    private int freeTop;
    private final CompletionRing immediate;
    private final CompletionHandler immediateHandler = this::onImmediate;
    private final int[] parked;   // writes waiting for their units' ARM to be durable
    private int parkedN;
    private final long[] syncTicket, syncTag;
    private int syncHead, syncCount;
    volatile boolean syncWaiting;
    private volatile boolean closed;
    private final int[] cache = new int[16];
    private int cached;
    /** Journal pages of a commit this channel leads (see {@link JournalWriter#lead}). */
    private final MemorySegment leadDma;
    /** Whether this channel leads a journal commit now (its requests are on this queue). */
    private boolean leading;

    private final CRC32C crc = new CRC32C();
    private final byte[] scratch = new byte[12];
    private MemorySegment[] regions = new MemorySegment[4];
    private ByteBuffer[] views = new ByteBuffer[4];
    private int regionCount;

    private long lastChecksumObject = -1, lastChecksumOffset = -1;
    private long delivered;
    private long blockingSeq;
    private long blockingTag = 0;
    private int blockingStatus;
    private boolean blockingDone;
    private long blockingBadObject, blockingBadOffset;

    /** A preallocated request descriptor, indexed by its slot. */
    private static final class Op {
        final int index;
        int kind;
        long tag;
        StoreObject obj;
        long offset;
        int length;
        MemorySegment buf;
        ByteBuffer view;
        int viewBase;
        boolean registered;
        int pending;
        int status;
        int reserve;
        /** Whether the write's checksums went to the journal as an INTENT with the data, and that intent's value. */
        boolean intent;
        long intentSeq;
        int segs;
        long badOffset;
        final int[] segUnit, segGen, segFirst, segN, segBufOff;
        final int[][] segCrcs;
        final boolean[] segHole;
        final boolean[] segOvw;
        final int[] crcs;
        long armTicket;
        /** A read's receiver of each slice's plain CRC32C (null: none wanted), from index {@code crcOutFrom}. */
        int[] crcOut;
        int crcOutFrom;

        Op(int index, int maxSegs, int maxSlices) {
            this.index = index;
            segUnit = new int[maxSegs];
            segGen = new int[maxSegs];
            segFirst = new int[maxSegs];
            segN = new int[maxSegs];
            segBufOff = new int[maxSegs];
            segCrcs = new int[maxSegs][];
            segHole = new boolean[maxSegs];
            segOvw = new boolean[maxSegs];
            crcs = new int[maxSlices];
        }
    }

    StoreChannel(BlockStore store, int depth, int bufferSize, int bufferCount, StoreCompletionHandler handler) {
        if (depth < 1 || depth > 4096) throw new IllegalArgumentException("channel depth must be 1..4096: " + depth);
        if (handler == null) throw new IllegalArgumentException("completion handler required");
        this.store = store;
        this.image = store.image;
        this.journal = store.journal;
        this.uri = store.device.uri();
        this.handler = handler;
        this.owner = Thread.currentThread();
        Layout l = image.layout;
        this.sliceSize = l.sliceSize;
        this.sliceShift = Integer.numberOfTrailingZeros(sliceSize);
        this.unitSize = l.unitSize;
        this.spu = l.slicesPerUnit;
        int mt = store.device.geometry().maxTransfer() / sliceSize * sliceSize;
        if (mt < sliceSize) throw new IllegalArgumentException("device max transfer below the slice size");
        this.segMax = Math.min(unitSize, mt);
        this.maxIo = Math.max(sliceSize, Math.min(1 << 20, Math.max(bufferSize, sliceSize)) / sliceSize * sliceSize);
        this.maxSegs = (maxIo + segMax - 1) / segMax + 1;
        this.verify = !store.memoryOnly;
        this.ops = new Op[depth];
        this.freeOps = new int[depth];
        for (int i = 0; i < depth; i++) {
            ops[i] = new Op(i, maxSegs, maxIo / sliceSize);
            freeOps[i] = depth - 1 - i;
        }
        freeTop = depth;
        this.immediate = new CompletionRing(depth);
        this.parked = new int[depth];
        this.syncTicket = new long[depth];
        this.syncTag = new long[depth];
        this.ring = new RecordRing(RING_BYTES);
        this.queue = store.device.openQueue(depth * maxSegs + 1 + JournalWriter.LEAD_IOS, this::onDevice);
        BufferPool p = null;
        MemorySegment ld = null;
        try {
            p = BufferPool.allocate(store.device, bufferSize, bufferCount).registerWith(queue);
            long leadBytes = (long) JournalWriter.LEAD_PAGES * Layout.PAGE;
            ld = store.device.allocateDma(leadBytes + Math.max(Layout.PAGE, store.device.geometry().bufferAlignment())).asSlice(0, leadBytes);
            queue.registerBuffers(ld);
        } catch (RuntimeException e) {
            queue.close();
            throw e;
        }
        this.pool = p;
        this.leadDma = ld;
        registerRegion(pool.region());
    }

    /** DMA buffers for this channel's requests (owned by this thread). */
    public BufferPool buffers() { return pool; }

    /** Largest request in bytes. */
    public int maxRequest() { return maxIo; }

    /** Object id of the last read that failed its checksum (or -1). */
    public long lastChecksumObject() { return lastChecksumObject; }

    /** Object offset of the first bad slice of the last read that failed its checksum (or -1). */
    public long lastChecksumOffset() { return lastChecksumOffset; }

    public boolean isClosed() { return closed; }

    /** Requests in flight (reads, writes and syncs). */
    public int inFlight() { return ops.length - freeTop + syncCount; } // parked writes hold an op too

    /**
     * Declares a region of native memory (e.g. from {@code device.allocateDma}) that buffers will come
     * from, so checksums over them need no per-request view. Control path.
     */
    public void registerRegion(MemorySegment region) {
        if (regionCount == regions.length) {
            regions = java.util.Arrays.copyOf(regions, regionCount * 2);
            views = java.util.Arrays.copyOf(views, regionCount * 2);
        }
        regions[regionCount] = region;
        views[regionCount] = region.asByteBuffer();
        regionCount++;
        queue.registerBuffers(region);
    }

    // -------------------------------------------------------------- submit

    private int check(StoreObject o, long offset, MemorySegment buf, int length) {
        if (closed) return StoreStatus.CLOSED.code();
        int s = journal.state();
        if (s == JournalWriter.FAILED) return StoreStatus.FAILED.code();
        if (s != JournalWriter.RUNNING) return StoreStatus.CLOSED.code();
        if (o == null || o.deleted) return StoreStatus.NO_OBJECT.code();
        if (length == 0) return StoreStatus.ZERO_LENGTH.code();
        if (length < 0 || offset < 0) return StoreStatus.OUT_OF_RANGE.code();
        if (((offset | length) & (sliceSize - 1)) != 0) return StoreStatus.UNALIGNED.code();
        if (offset > o.size - length) return StoreStatus.OUT_OF_RANGE.code();
        if (length > maxIo) return StoreStatus.TOO_LARGE.code();
        if (buf == null || !buf.isNative() || buf.byteSize() < length
                || (buf.address() & (store.device.geometry().bufferAlignment() - 1)) != 0) return StoreStatus.BAD_BUFFER.code();
        if (freeTop == 0) return StoreStatus.QUEUE_FULL.code();
        return ACCEPTED;
    }

    private Op take(int kind, StoreObject o, long offset, MemorySegment buf, int length, long tag) {
        Op op = ops[freeOps[--freeTop]];
        op.kind = kind;
        op.tag = tag;
        op.obj = o;
        op.offset = offset;
        op.length = length;
        op.buf = buf;
        op.pending = 0;
        op.status = 0;
        op.reserve = 0;
        op.segs = 0;
        op.badOffset = -1;
        op.intent = false;
        op.view = null;
        op.registered = false;
        for (int r = 0; r < regionCount; r++) {
            MemorySegment reg = regions[r];
            long a = buf.address() - reg.address();
            if (a >= 0 && a + length <= reg.byteSize()) {
                op.view = views[r];
                op.viewBase = (int) a;
                op.registered = true;
                break;
            }
        }
        if (op.view == null) { // slow path: a buffer from nowhere we know
            op.view = buf.asByteBuffer();
            op.viewBase = 0;
        }
        // split into segments: each within one unit and one device transfer
        int pos = 0, n = 0;
        while (pos < length) {
            long objOff = offset + pos;
            int inUnit = (int) (objOff & (unitSize - 1));
            int len = Math.min(Math.min(length - pos, unitSize - inUnit), segMax);
            op.segUnit[n] = -1;
            op.segFirst[n] = inUnit >>> sliceShift;
            op.segN[n] = len >>> sliceShift;
            op.segBufOff[n] = pos;
            op.segHole[n] = false;
            op.segOvw[n] = false;
            op.segCrcs[n] = null;
            pos += len;
            n++;
        }
        op.segs = n;
        return op;
    }

    private void release(Op op) {
        op.obj = null;
        op.buf = null;
        op.view = null;
        op.crcOut = null;
        for (int s = 0; s < op.segs; s++) op.segCrcs[s] = null;
        freeOps[freeTop++] = op.index;
    }

    private final MemorySegment[] sliceCache = new MemorySegment[64];

    /** The part of the op's buffer for segment {@code s}; slices of recurring buffers come from a small cache. */
    private MemorySegment segBuffer(Op op, int s) {
        int off = op.segBufOff[s];
        if (off == 0) return op.buf;
        long len = (long) op.segN[s] << sliceShift;
        if (!op.registered) return op.buf.asSlice(off, len); // its memory may go away: cache nothing
        long addr = op.buf.address() + off;
        int h = (int) ((addr >>> sliceShift) * 0x9E3779B1L >>> 26) & 63;
        MemorySegment c = sliceCache[h];
        if (c != null && c.address() == addr && c.byteSize() >= len) return c;
        c = op.buf.asSlice(off);
        sliceCache[h] = c;
        return c;
    }

    private long ud(Op op, int seg) { return ((long) op.index << 16) | seg; }

    /**
     * Writes {@code length} bytes from {@code buf} at {@code offset} of object {@code o}; allocates
     * units on first write. Returns {@link #ACCEPTED} or a negative status
     * ({@link StoreStatus#NO_SPACE} when no unit is left; the object is then unchanged).
     */
    public int write(StoreObject o, long offset, MemorySegment buf, int length, long tag) {
        return write(o, offset, buf, length, tag, null, 0);
    }

    /**
     * {@link #write(StoreObject, long, MemorySegment, int, long)} with each slice's plain CRC32C
     * supplied by the caller, who computed it already (e.g. as it copied the data in, or as a
     * {@linkplain #read(StoreObject, long, MemorySegment, int, long, int[], int) read} verified it):
     * {@code dataCrcs[crcFrom + i]} is CRC32C of slice {@code i} of the request. The store then binds
     * each to its place without reading the data again. A supplied value that does not match the data
     * is not detected here: the slice then fails its checksum on every read (as a corruption would),
     * so a caller passes only checksums of exactly the bytes in {@code buf}. Returns
     * {@link StoreStatus#BAD_BUFFER} when the array is too short.
     */
    public int write(StoreObject o, long offset, MemorySegment buf, int length, long tag, int[] dataCrcs, int crcFrom) {
        int st = check(o, offset, buf, length);
        if (st != ACCEPTED) return st;
        if (dataCrcs != null && (crcFrom < 0 || crcFrom > dataCrcs.length - (length >>> sliceShift))) return StoreStatus.BAD_BUFFER.code();
        Op op = take(WRITE, o, offset, buf, length, tag);
        int recBytes = 0, recs = 0;
        for (int s = 0; s < op.segs; s++) {
            int n = op.segN[s];
            int r = (n + JournalRecord.CRC_MAX_N - 1) / JournalRecord.CRC_MAX_N;
            recs += r;
            recBytes += r * JournalRecord.CRC_BASE + 4 * n;
        }
        int reserve = RecordRing.worstCase(recBytes, recs);
        if (!ring.reserve(reserve)) {
            release(op);
            journal.requestDrain();
            return StoreStatus.BACK_PRESSURE.code();
        }
        op.reserve = reserve;
        int ci = 0;
        for (int s = 0; s < op.segs; s++) {
            long objOff = offset + op.segBufOff[s];
            int idx = (int) (objOff / unitSize);
            int[] units = o.units;
            if (idx >= units.length) return abort(op, StoreStatus.OUT_OF_RANGE.code());
            int u = o.unitAt(units, idx);
            if (u < 0) {
                u = allocate(o, idx);
                if (u < 0) return abort(op, u);
            }
            int[] arr = image.crcArray(u);
            if (arr == null) return abort(op, StoreStatus.NO_OBJECT.code());
            int gen = arr[spu];
            op.segUnit[s] = u;
            op.segGen[s] = gen;
            op.segCrcs[s] = arr;
            int first = op.segFirst[s];
            ByteBuffer v = op.view;
            int base = op.viewBase + op.segBufOff[s];
            if (dataCrcs != null) {
                for (int k = 0; k < op.segN[s]; k++, ci++) op.crcs[ci] = Crc.slice(dataCrcs[crcFrom + ci], u, first + k, gen);
                continue;
            }
            for (int k = 0; k < op.segN[s]; k++) {
                int p = base + (k << sliceShift);
                v.clear().position(p).limit(p + sliceSize);
                op.crcs[ci++] = Crc.ofSlice(crc, v, u, first + k, gen, scratch);
            }
        }
        // in-place overwrites need their unit armed (an ARM record durable) before the data moves
        boolean needArm = false;
        long now = 0;
        for (int s = 0; s < op.segs; s++) {
            int[] arr = op.segCrcs[s];
            int first = op.segFirst[s], n = op.segN[s];
            boolean ovw = store.tailReset.get(op.segUnit[s]) != 0;
            for (int k = 0; k < n && !ovw; k++) ovw = arr[first + k] != 0;
            if (!ovw) continue;
            int u = op.segUnit[s];
            store.overwrites.incrementAndGet(u);   // before reading the arm state: pairs with the journal's disarm
            op.segOvw[s] = true;
            if (now == 0) now = System.nanoTime();
            store.lastOverwrite[u] = now;
            if (image.armState(u) != MetaImage.ARMED) needArm = true;
        }
        // a sequential stream of overwrites: arm the units ahead of it now, so it never parks on them
        boolean sequential = o == streamObj && offset == streamEnd;
        streamObj = o;
        streamEnd = offset + length;
        if (sequential && now != 0) preArm(o, (int) ((offset + length - 1) / unitSize), now);
        if (needArm) {
            long t = arm(op);
            if (t != 0) {
                op.armTicket = t;
                parked[parkedN++] = op.index;
                syncWaiting = true;
                return ACCEPTED;
            }
        }
        int st2 = submitSegments(op, true);
        if (st2 == ACCEPTED && op.pending == 1 && op.segs == 1 && op.segN[0] <= INTENT_MAX_SLICES && freeTop == ops.length - 1
                && parkedN == 0 && !leading && intent < 0 && journal.tokenFree()) logIntent(op);
        return st2;
    }

    // ------------------------------------------------------------- intents

    /** Bit set in {@link #intent} once the write completed successfully. */
    static final long INTENT_DONE = 1L << 62;
    /** Largest write (in slices) logged as an INTENT with its data. */
    private static final int INTENT_MAX_SLICES = 16;
    private static final VarHandle INTENT;

    static {
        try {
            INTENT = MethodHandles.lookup().findVarHandle(StoreChannel.class, "intent", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The journal page of this channel's INTENT not yet known durable (with {@link #INTENT_DONE}
     * once its write completed), or -1. Set by this channel while it holds the commit token; a
     * write's completion adds DONE; the commit token's holder clears it after a flush that follows
     * the completion, or at a checkpoint.
     */
    @SuppressWarnings("unused") private volatile long intent = -1;
    /** The intent a flush in progress will confirm, or -1 (commit token holder only). */
    long intentConfirm = -1;
    private final byte[] intentRec = new byte[JournalRecord.MAX_LEN];

    long intent() { return intent; }

    void setIntent(long page) { intent = page; }

    boolean casIntent(long expect, long value) { return INTENT.compareAndSet(this, expect, value); }

    /**
     * A lone small write on an idle channel (queue depth 1): its checksums go to the journal as an
     * INTENT record in a page written beside the data, instead of after the write completes, so a
     * sync that follows needs only a flush (sync = max(data, journal page) + flush). Needs the
     * commit token; without it the write is logged the usual way when it completes.
     */
    private void logIntent(Op op) {
        int n = op.segN[0];
        int len = JournalRecord.CRC_BASE + 4 * n;
        JournalRecord.putCrcHeader(intentRec, 0, JournalRecord.INTENT, op.segUnit[0], op.segGen[0], op.segFirst[0], n);
        for (int j = 0; j < n; j++) LE.i32(intentRec, JournalRecord.CRC_BASE + 4 * j, op.crcs[j]);
        if (journal.lead(this, queue, leadDma, LEAD_UD, intentRec, len) == JournalWriter.LED_ASYNC) {
            leading = true;
            op.intent = true;
            op.intentSeq = intent;
        }
    }

    /**
     * Units kept armed ahead of a sequential overwrite stream. Each ARM commit costs a device
     * flush, so when the nearer half of this window has an unarmed unit the whole window is armed
     * in one commit: about one flush per {@code PREARM_AHEAD / 2} units, off the writer's path.
     */
    static final int PREARM_AHEAD = Integer.getInteger("dsf.blockstore.prearmUnits", 8);
    private StoreObject streamObj;
    private long streamEnd = -1;

    /**
     * Arms the allocated, unarmed units at indexes {@code idx+1 .. idx+PREARM_AHEAD} of {@code o}
     * (a sequential overwrite stream is about to reach them) and asks for a commit nobody waits
     * for. Units not allocated yet need no arming: first writes into them are not overwrites.
     */
    private void preArm(StoreObject o, int idx, long now) {
        int[] units = o.units;
        boolean any = false;
        for (int k = 1; k <= Math.max(1, PREARM_AHEAD / 2) && idx + k < units.length && !any; k++) {
            int u = o.unitAt(units, idx + k);
            any = u >= 0 && image.armState(u) == MetaImage.UNARMED;
        }
        if (!any) return;
        journal.lock.lock();
        try {
            for (int k = 1; k <= PREARM_AHEAD && idx + k < units.length; k++) {
                int u = o.unitAt(units, idx + k);
                if (u < 0 || image.armState(u) != MetaImage.UNARMED || image.crcArray(u) == null) continue;
                store.lastOverwrite[u] = now; // not a quiet unit: keep the journal from disarming it before the stream arrives
                journal.armLocked(u);
            }
        } finally {
            journal.lock.unlock();
        }
        long t = journal.requestSyncQuiet();
        tryLead();
        if (!leading && journal.syncDone() < t) journal.wake();
    }

    /** Logs ARM for the op's unarmed units; returns the ticket to wait for, or 0 when all are armed already. */
    private long arm(Op op) {
        boolean wait = false;
        journal.lock.lock();
        try {
            for (int s = 0; s < op.segs; s++) {
                if (!op.segOvw[s]) continue;
                int u = op.segUnit[s];
                int st = image.armState(u);
                if (st == MetaImage.UNARMED) journal.armLocked(u);
                if (st != MetaImage.ARMED) wait = true;
            }
        } finally {
            journal.lock.unlock();
        }
        if (!wait) return 0;
        long t = journal.requestSyncQuiet();
        tryLead();
        return t;
    }

    /** Leads the journal commit on this queue if nobody else is committing (no hand-off to another thread). */
    private void tryLead() {
        if (leading) return;
        if (journal.lead(this, queue, leadDma, LEAD_UD) == JournalWriter.LED_ASYNC) leading = true;
    }

    private void releaseOverwrites(Op op) {
        for (int s = 0; s < op.segs; s++) {
            if (op.segOvw[s]) {
                op.segOvw[s] = false;
                store.overwrites.decrementAndGet(op.segUnit[s]);
            }
        }
    }

    private void pollParked() {
        if (parkedN == 0) return;
        long done = journal.syncDone();
        int js = journal.state();
        int fail = js == JournalWriter.FAILED ? StoreStatus.FAILED.code() : js == JournalWriter.RUNNING ? 0 : StoreStatus.CLOSED.code();
        int kept = 0;
        for (int i = 0; i < parkedN; i++) {
            Op op = ops[parked[i]];
            if (op.armTicket <= done) {
                long tag = op.tag, id = op.obj.id;
                int st = submitSegments(op, true);
                if (st != ACCEPTED) deliver(tag, st, id, -1); // op already released
            } else if (fail != 0) {
                long tag = op.tag, id = op.obj.id;
                abort(op, fail);
                deliver(tag, fail, id, -1);
            } else {
                parked[kept++] = parked[i];
            }
        }
        parkedN = kept;
    }

    private int abort(Op op, int status) {
        releaseOverwrites(op);
        ring.unreserve(op.reserve);
        release(op);
        return status;
    }

    private int submitSegments(Op op, boolean write) {
        int accepted = 0;
        int failed = 0;
        for (int s = 0; s < op.segs; s++) {
            if (op.segHole[s]) continue;
            long dev = image.layout.unitOffset(op.segUnit[s]) + ((long) op.segFirst[s] << sliceShift);
            int len = op.segN[s] << sliceShift;
            MemorySegment b = segBuffer(op, s);
            int st = write ? queue.write(dev, b, len, ud(op, s)) : queue.read(dev, b, len, ud(op, s));
            if (st != DeviceQueue.ACCEPTED) {
                failed = st;
                break;
            }
            accepted++;
        }
        if (failed != 0 && accepted == 0) return abort(op, failed);
        if (failed != 0) op.status = failed;
        op.pending = accepted;
        if (accepted == 0) immediate.offer(op.index, 0);
        return ACCEPTED;
    }

    private int allocate(StoreObject o, int idx) {
        if (cached == 0) {
            cached = store.allocator.take(cache);
            if (cached == 0) return StoreStatus.NO_SPACE.code();
        }
        int u = cache[--cached];
        int r = store.installUnit(o, idx, u);
        if (r != u) cache[cached++] = u;
        else store.allocator.consumed();
        return r;
    }

    /**
     * Reads {@code length} bytes at {@code offset} of object {@code o} into {@code buf}, verifying
     * every slice's checksum. Returns {@link #ACCEPTED} or a negative status.
     */
    public int read(StoreObject o, long offset, MemorySegment buf, int length, long tag) {
        return read(o, offset, buf, length, tag, null, 0);
    }

    /**
     * {@link #read(StoreObject, long, MemorySegment, int, long)} that also reports each slice's plain
     * CRC32C, computed as the slice is verified (no second pass): once the read completes successfully,
     * {@code dataCrcs[crcFrom + i]} holds CRC32C of slice {@code i} as delivered in {@code buf}
     * (never-written slices: of zeros), ready for a
     * {@linkplain #write(StoreObject, long, MemorySegment, int, long, int[], int) write with supplied
     * checksums}. On a store that does not verify (metadata in memory only) the checksums are computed
     * all the same. Returns {@link StoreStatus#BAD_BUFFER} when the array is too short.
     */
    public int read(StoreObject o, long offset, MemorySegment buf, int length, long tag, int[] dataCrcs, int crcFrom) {
        int st = check(o, offset, buf, length);
        if (st != ACCEPTED) return st;
        if (dataCrcs != null && (crcFrom < 0 || crcFrom > dataCrcs.length - (length >>> sliceShift))) return StoreStatus.BAD_BUFFER.code();
        Op op = take(READ, o, offset, buf, length, tag);
        if (dataCrcs != null) {
            op.crcOut = dataCrcs;
            op.crcOutFrom = crcFrom;
        }
        for (int s = 0; s < op.segs; s++) {
            long objOff = offset + op.segBufOff[s];
            int idx = (int) (objOff / unitSize);
            int[] units = o.units;
            int u = idx < units.length ? o.unitAt(units, idx) : -1;
            int[] arr = u < 0 ? null : image.crcArray(u);
            boolean any = false;
            if (arr != null) {
                int first = op.segFirst[s], n = op.segN[s];
                for (int k = 0; k < n && !any; k++) any = arr[first + k] != 0;
            }
            if (!any) {
                op.segHole[s] = true;
                zero(op.buf, op.segBufOff[s], op.segN[s] << sliceShift);
                continue;
            }
            op.segUnit[s] = u;
            op.segGen[s] = arr[spu];
            op.segCrcs[s] = arr;
        }
        return submitSegments(op, false);
    }

    private static void zero(MemorySegment b, long off, int len) {
        io.dsf.blockstore.io.Zero.fill(b, off, len);
    }

    /** Asks for durability of everything this channel completed before now; completes with 0 when durable. */
    public int sync(long tag) {
        if (closed) return StoreStatus.CLOSED.code();
        int s = journal.state();
        if (s == JournalWriter.FAILED) return StoreStatus.FAILED.code();
        if (s != JournalWriter.RUNNING) return StoreStatus.CLOSED.code();
        if (syncCount == syncTicket.length) return StoreStatus.QUEUE_FULL.code();
        int i = (syncHead + syncCount) % syncTicket.length;
        syncTag[i] = tag;
        syncTicket[i] = journal.requestSyncQuiet();
        syncCount++;
        syncWaiting = true;
        tryLead();
        return ACCEPTED;
    }

    // ---------------------------------------------------------- completion

    private void onImmediate(long ud, int status) { finish(ops[(int) ud]); }

    private void onDevice(long ud, int status) {
        if (ud == LEAD_UD) {
            if (journal.leadIoDone(status)) leading = false;
            return;
        }
        Op op = ops[(int) (ud >>> 16)];
        if (status < 0 && op.status == 0) op.status = status;
        if (--op.pending == 0) finish(op);
    }

    private void finish(Op op) {
        if (op.kind == WRITE) {
            if (op.status == 0) {
                int ci = 0;
                for (int s = 0; s < op.segs; s++) {
                    int[] arr = op.segCrcs[s];
                    int first = op.segFirst[s], n = op.segN[s];
                    for (int k = 0; k < n; k++) arr[first + k] = op.crcs[ci + k];
                    ci += n;
                }
                // logged with the data already, unless a checkpoint dropped the intent meanwhile
                boolean logged = op.intent && casIntent(op.intentSeq, op.intentSeq | INTENT_DONE);
                ci = 0;
                for (int s = 0; s < op.segs && !logged; s++) {
                    int first = op.segFirst[s], n = op.segN[s];
                    for (int k = 0; k < n; ) {
                        int m = Math.min(JournalRecord.CRC_MAX_N, n - k);
                        int len = JournalRecord.CRC_BASE + 4 * m;
                        int pos = ring.begin(len);
                        JournalRecord.putCrcHeader(ring.buf, pos, op.segUnit[s], op.segGen[s], first + k, m);
                        for (int j = 0; j < m; j++) LE.i32(ring.buf, pos + JournalRecord.CRC_BASE + 4 * j, op.crcs[ci + k + j]);
                        ring.commit(len);
                        k += m;
                    }
                    ci += n;
                }
                if (ring.used() > ring.capacity() / 2) journal.requestDrain();
            } else if (op.intent) {
                journal.intentFailed();
            }
            releaseOverwrites(op); // after the checksums are in the ring: the journal may disarm now
            ring.unreserve(op.reserve);
        } else if (op.status == 0) {
            verifyRead(op);
        }
        long tag = op.tag;
        int st = op.status;
        long bad = op.badOffset;
        long objId = op.obj.id;
        release(op);
        if (st == StoreStatus.CHECKSUM.code()) {
            lastChecksumObject = objId;
            lastChecksumOffset = bad;
        }
        deliver(tag, st, objId, bad);
    }

    private void verifyRead(Op op) {
        if (op.crcOut != null) {
            verifyReporting(op);
            return;
        }
        ByteBuffer v = op.view;
        for (int s = 0; s < op.segs; s++) {
            if (op.segHole[s]) continue;
            int[] arr = op.segCrcs[s];
            int first = op.segFirst[s], u = op.segUnit[s], gen = op.segGen[s];
            int base = op.viewBase + op.segBufOff[s];
            for (int k = 0; k < op.segN[s]; k++) {
                int expect = arr[first + k];
                if (expect == 0) {
                    zero(op.buf, op.segBufOff[s] + ((long) k << sliceShift), sliceSize);
                    continue;
                }
                if (expect == Crc.LOST) { // torn by a crash during an overwrite: recorded lost
                    badSlice(op, s, k);
                    continue;
                }
                if (!verify) continue;
                int p = base + (k << sliceShift);
                v.clear().position(p).limit(p + sliceSize);
                if (Crc.ofSlice(crc, v, u, first + k, gen, scratch) != expect) badSlice(op, s, k);
            }
        }
    }

    /** Slice {@code k} of segment {@code s} failed its check: the read's first failure sets its status and offset. */
    private void badSlice(Op op, int s, int k) {
        if (op.status != 0) return;
        op.status = StoreStatus.CHECKSUM.code();
        op.badOffset = op.offset + op.segBufOff[s] + ((long) k << sliceShift);
    }

    /**
     * {@link #verifyRead} for a read that reports its slices' plain CRC32Cs: each slice's CRC32C is
     * computed once, stored, and carried on over the place to check it (when the store verifies).
     */
    private void verifyReporting(Op op) {
        ByteBuffer v = op.view;
        int[] out = op.crcOut;
        for (int s = 0; s < op.segs; s++) {
            int outAt = op.crcOutFrom + (op.segBufOff[s] >>> sliceShift);
            if (op.segHole[s]) {
                java.util.Arrays.fill(out, outAt, outAt + op.segN[s], zeroSliceCrc());
                continue;
            }
            int[] arr = op.segCrcs[s];
            int first = op.segFirst[s], u = op.segUnit[s], gen = op.segGen[s];
            int base = op.viewBase + op.segBufOff[s];
            for (int k = 0; k < op.segN[s]; k++) {
                int expect = arr[first + k];
                if (expect == 0) {
                    zero(op.buf, op.segBufOff[s] + ((long) k << sliceShift), sliceSize);
                    out[outAt + k] = zeroSliceCrc();
                    continue;
                }
                if (expect == Crc.LOST) { // torn by a crash during an overwrite: recorded lost
                    badSlice(op, s, k);
                    continue;
                }
                int p = base + (k << sliceShift);
                v.clear().position(p).limit(p + sliceSize);
                crc.reset();
                crc.update(v);
                int c = (int) crc.getValue();
                out[outAt + k] = c;
                if (verify && Crc.slice(c, u, first + k, gen) != expect) badSlice(op, s, k);
            }
        }
    }

    private int zeroCrc = 0;
    private boolean zeroCrcKnown;

    /** CRC32C of a slice of zeros (computed once per channel). */
    private int zeroSliceCrc() {
        if (!zeroCrcKnown) {
            crc.reset();
            for (int n = 0; n < sliceSize; n += ZEROS.length) crc.update(ZEROS, 0, Math.min(ZEROS.length, sliceSize - n));
            zeroCrc = (int) crc.getValue();
            zeroCrcKnown = true;
        }
        return zeroCrc;
    }

    private void deliver(long tag, int status, long objId, long bad) {
        delivered++;
        if (blockingTag != 0 && tag == blockingTag) {
            blockingDone = true;
            blockingStatus = status;
            blockingBadObject = objId;
            blockingBadOffset = bad;
            return;
        }
        handler.onComplete(tag, status);
    }

    private void deliverSyncs() {
        if (syncCount == 0) return;
        long done = journal.syncDone();
        int s = journal.state();
        int fail = s == JournalWriter.FAILED ? StoreStatus.FAILED.code()
                : (s == JournalWriter.CLOSED || s == JournalWriter.CRASHED) ? StoreStatus.CLOSED.code() : 0;
        while (syncCount > 0) {
            int st;
            if (syncTicket[syncHead] <= done) st = 0;
            else if (fail != 0) st = fail;
            else break;
            long tag = syncTag[syncHead];
            syncHead = (syncHead + 1) % syncTicket.length;
            syncCount--;
            deliver(tag, st, -1, -1);
        }
        syncWaiting = syncCount > 0 || parkedN > 0;
    }

    /** Delivers up to about {@code max} completions that are ready; never blocks. Returns how many. */
    public int poll(int max) {
        long before = delivered;
        queue.poll(max);
        immediate.deliver(immediateHandler, max);
        pollParked();
        deliverSyncs();
        // a sync or arm of ours that nobody commits yet: lead it (the token's last holder woke the
        // journal thread too; whichever comes first commits)
        if (!leading && (syncCount > 0 || parkedN > 0) && journal.tokenFree() && journal.syncDone() < journal.syncRequested.get()) tryLead();
        return (int) (delivered - before);
    }

    /**
     * Waits until at least one completion is delivered or {@code timeoutNanos} passes. Returns
     * the number delivered (0 also when nothing is in flight).
     */
    public int await(int max, long timeoutNanos) {
        long before = delivered;
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            if (syncCount == 0 && parkedN == 0 && immediate.size() == 0 && queue.inFlight() > 0) {
                // only the device queue can complete something: its await polls first, then waits,
                // in as few kernel entries as the backend needs (no separate poll before it)
                queue.await(max, Math.max(0, deadline - System.nanoTime()));
                immediate.deliver(immediateHandler, max);
                if (delivered != before) return (int) (delivered - before);
                if (deadline - System.nanoTime() <= 0) return 0;
                continue;
            }
            poll(max);
            if (delivered != before) return (int) (delivered - before);
            long left = deadline - System.nanoTime();
            if (left <= 0) return 0;
            if (queue.inFlight() > 0) {
                queue.await(max, syncCount > 0 && !leading ? Math.min(left, 50_000) : left);
            } else if (syncCount > 0 || parkedN > 0) {
                long spinEnd = System.nanoTime() + Math.min(left, JournalWriter.SPIN_NANOS);
                while (System.nanoTime() < spinEnd && journal.syncDone() < (syncCount > 0 ? syncTicket[syncHead] : Long.MAX_VALUE)) Thread.onSpinWait();
                if (journal.syncDone() < (syncCount > 0 ? syncTicket[syncHead] : Long.MAX_VALUE)) LockSupport.parkNanos(this, left);
            } else if (immediate.size() == 0) {
                return 0;
            }
        }
    }

    // ------------------------------------------------------------- blocking

    private void runBlocking(int st) {
        if (st != ACCEPTED) {
            blockingTag = 0;
            throw error(st, -1, -1);
        }
        while (!blockingDone) await(16, 1_000_000_000L);
        blockingTag = 0;
        if (blockingStatus != 0) throw error(blockingStatus, blockingBadObject, blockingBadOffset);
    }

    private StoreException error(int st, long obj, long off) {
        if (st == StoreStatus.CHECKSUM.code()) return new ChecksumException(obj, off, uri);
        if (st == StoreStatus.NO_SPACE.code()) return new OutOfSpaceException("store on " + uri + " is out of space: no free allocation unit");
        if (st == StoreStatus.NO_OBJECT.code()) return new NoSuchObjectException("object deleted");
        return new StoreException(st, StoreStatus.describe(st) + " on " + uri);
    }

    private long nextBlockingTag() {
        blockingDone = false;
        blockingTag = BLOCKING_BASE + (++blockingSeq & ((1L << 40) - 1)) + 1;
        return blockingTag;
    }

    private int retrying(java.util.function.LongToIntFunction submit) {
        while (true) {
            int st = submit.applyAsInt(blockingTag);
            if (st != StoreStatus.QUEUE_FULL.code() && st != StoreStatus.BACK_PRESSURE.code()) return st;
            if (await(16, 1_000_000) == 0 && st == StoreStatus.BACK_PRESSURE.code()) LockSupport.parkNanos(100_000);
        }
    }

    /** Blocking write; throws {@link StoreException} (e.g. {@link OutOfSpaceException}) on failure. */
    public void writeBlocking(StoreObject o, long offset, MemorySegment buf, int length) {
        nextBlockingTag();
        runBlocking(retrying(t -> write(o, offset, buf, length, t)));
    }

    /** Blocking read; throws {@link ChecksumException} naming object, offset and device on a mismatch. */
    public void readBlocking(StoreObject o, long offset, MemorySegment buf, int length) {
        nextBlockingTag();
        runBlocking(retrying(t -> read(o, offset, buf, length, t)));
    }

    /** Blocking sync of this channel's completed writes and all object changes made before it. */
    public void syncBlocking() {
        nextBlockingTag();
        runBlocking(retrying(this::sync));
    }

    // ---------------------------------------------------------------- close

    /**
     * Completes everything in flight (device requests with their real status or CLOSED; syncs
     * after the journal commits them), gives cached units back and detaches from the store.
     */
    @Override
    public void close() {
        if (closed) return;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (leading || ((queue.inFlight() > 0 || syncCount > 0 || parkedN > 0) && journal.state() == JournalWriter.RUNNING && System.nanoTime() < deadline)) {
            await(64, 10_000_000);
        }
        queue.close();
        immediate.deliver(immediateHandler, Integer.MAX_VALUE);
        for (int i = 0; i < parkedN; i++) {
            Op op = ops[parked[i]];
            long tag = op.tag, id = op.obj.id;
            abort(op, StoreStatus.CLOSED.code());
            deliver(tag, StoreStatus.CLOSED.code(), id, -1);
        }
        parkedN = 0;
        if (syncCount > 0) {
            while (syncCount > 0) {
                long tag = syncTag[syncHead];
                syncHead = (syncHead + 1) % syncTicket.length;
                syncCount--;
                deliver(tag, StoreStatus.CLOSED.code(), -1, -1);
            }
        }
        if (cached > 0) store.allocator.giveBack(cache, cached);
        cached = 0;
        closed = true;
        journal.requestDrain();
    }

    /**
     * Whether this channel leads a journal commit right now. A led commit progresses only through
     * this channel's polls, and every other channel's sync waits for it: the owner must not park or
     * block on anything else meanwhile (see {@link #finishLeading}).
     */
    public boolean leadingCommit() { return leading; }

    /** The owner thread's name (diagnostics). */
    String ownerName() { Thread t = owner; return t == null ? "?" : t.getName(); }

    /**
     * Owner thread: runs a journal commit this channel leads to its end, polling as usual
     * (completions go to the handler). Call before blocking on something other than this channel
     * (a network connect, a remote answer), or every other channel's sync on the store waits as
     * long as this thread is away. Returns at once when not leading.
     */
    public void finishLeading() {
        while (leading && journal.state() == JournalWriter.RUNNING) {
            if (poll(64) == 0 && leading) queue.await(1, 1_000_000L);
        }
    }

    /** Runs a journal commit this channel leads to its end when called on the owner thread (store close). */
    void finishCommitIfOwner() {
        if (Thread.currentThread() != owner) return;
        while (leading) queue.await(64, 10_000_000);
    }

    void wakeIfWaiting() {
        if (syncWaiting) LockSupport.unpark(owner);
    }

    /** Units in this channel's allocation cache. */
    int cachedUnits() { return cached; }

    static String describe(int status) { return status >= 0 ? "ok" : StoreStatus.of(status) != null ? StoreStatus.describe(status) : IoError.describe(status); }
}
