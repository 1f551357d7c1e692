package io.dsf.stargate.core;

import io.dsf.blockstore.io.Zero;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreCompletionHandler;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.blockstore.store.StoreStatus;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.cache.UnifiedCache;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * One shard of one vDisk: a thread that consumes its Disruptor ring and owns every piece of state
 * for the vBlocks striped to it (those with {@code vblock % shards == index}): the OpLog segments
 * and index, the block map and its log, the open extent group, a {@link StoreChannel} with its
 * DMA buffers. Nothing here is touched by another thread except the ring (multi-producer) and the
 * racy statistics reads; no locks and no allocation on the I/O path.
 *
 * <p>Write path: the characterizer sends a write to the OpLog (group-committed batches: one batch
 * write plus one sync in flight, the next batch filling meanwhile) unless the vDisk has more than
 * the bypass threshold of writes outstanding, in which case a write whose vBlock has no OpLog data
 * and no shared extent goes straight to its extent. Reads merge OpLog, Unified Cache and Extent
 * Store per 4 KiB block. A drain moves the OpLog's blocks into extents in rounds of several
 * vBlocks that share one sync, found through per-vBlock live-block bitmaps.
 * Ordering rules and formats: stargate/ARCHITECTURE.md.
 */
final class Shard implements Runnable, EventPoller.Handler<IoEvent>, StoreCompletionHandler {
    static final int BLOCK = 4096, BLOCK_SHIFT = 12, VB_SHIFT = 20, BLOCKS_PER_VB = 256;
    static final long MISSING = -1;
    /** Segments a shard may hold at once (the slot field of an index location has 10 bits). */
    static final int MAX_SEGMENTS = 1023;
    private static final int SMALL = 64 << 10, SMALL_COUNT = 128, LARGE = 1 << 20, LARGE_COUNT = 8;
    private static final int LARGE_FLAG = 1 << 30;
    private static final int CHANNEL_DEPTH = 512;

    // store-op tags: kind in the top byte
    private static final long T_BATCH_WRITE = 1L << 56, T_BATCH_SYNC = 2L << 56, T_READ = 3L << 56,
            T_DRAIN_IO = 4L << 56, T_DRAIN_SYNC = 5L << 56, T_MAP_WRITE = 6L << 56, T_MAP_SYNC = 7L << 56,
            T_DIRECT_WRITE = 8L << 56;
    private static final long PAYLOAD = (1L << 56) - 1;

    final Stargate node;
    final VDiskController vd;
    final int index, shards;
    final long vdiskId;
    final RingBuffer<IoEvent> ring;
    private final EventPoller<IoEvent> poller;
    final Thread thread;
    volatile boolean sleeping;
    private final IdleStrategy idle;
    private final boolean blockIdle;
    final CountDownLatch ready = new CountDownLatch(1);
    volatile Throwable failure;
    private final ShardState initial;
    private final List<StoreObject> initialSegments;

    private StoreChannel ch;
    private BufferPool small, large;
    private final CRC32C crc = new CRC32C();

    // ------------------------------------------------------------ requests
    static final class Req {
        final int id;
        int kind;
        long offset, length, bufOffset, tag, t0, cursor;
        MemorySegment buf;
        io.dsf.stargate.api.IoCallback cb;
        Join join;
        Object arg;
        int pending, status, bufId = -1, epoch;
        long ticket;           // read: the cache fill ticket taken before any storage read
        int region = -1;       // read: index of the caller region it reads into directly (-1: a bounce buffer)
        long regionOff;        // read: offset of the caller's buffer in that region
        boolean redo;          // read: the device refused the caller's memory: read again through a bounce buffer
        final long[] fillBits = new long[BLOCKS_PER_VB / 64]; // read: blocks read from extents (to cache)
        long vb = -1;          // direct write: its vBlock
        long ext;              // direct write: target extent
        boolean rdirect;       // a replicated direct write: its data is the direct batch's (see tryDirect)
        LongArrayList vblocks; // zero: this shard's vBlocks with state in range
        int vbCursor;
        Req next;
        Req(int id) { this.id = id; }
    }

    private final Req[] reqs;
    private final int[] freeReqs;
    private final boolean[] inUse;
    private int freeReqTop;
    private Req pendHead, pendTail;     // writes and zeroes waiting (back-pressure, ordering)
    private Req readHead, readTail;     // reads waiting for a buffer
    private Req ctlHead, ctlTail;       // snapshot / drain-all waiting for quiescence

    // ---------------------------------------------------- completion queue
    private long[] cqTag = new long[1024];
    private int[] cqStatus = new int[1024];
    private int cqN;

    // --------------------------------------------------------------- OpLog
    static final class Segment {
        final int slot;
        final StoreObject obj;
        final long number;
        long writePos;
        long live;
        /** No live entry left; deleted once every older segment is (see {@link #releaseDeadSegments}). */
        boolean dead;
        final LongArrayList vblocks = new LongArrayList();
        /**
         * (block, location) of every data block indexed here, in slice order (as the batches became
         * durable, or were replayed): a span round walks it from {@link #spanAt} to find the live
         * blocks of one stretch of the segment.
         */
        final LongArrayList entries = new LongArrayList();
        int spanAt;
        Segment(int slot, StoreObject obj, long number) { this.slot = slot; this.obj = obj; this.number = number; }
    }

    private final Segment[] segs = new Segment[MAX_SEGMENTS];
    private int segCount;
    private Segment current;
    private long nextSegmentNumber;
    final Long2LongHashMap oplogIndex = new Long2LongHashMap(MISSING);   // block -> loc
    /**
     * Live OpLog blocks per vBlock: vblock -> slot + 1 (0: none) in {@link #liveBits} (a 256-bit map
     * of the vBlock's blocks that have an index entry, 4 longs per slot) and {@link #liveCount}. A
     * drain walks the set bits instead of looking up all 256 blocks, and a read skips the index for
     * blocks whose bit is clear. Slots are recycled; the arrays only grow (by doubling) when more
     * vBlocks are live at once than ever before, so steady state allocates nothing.
     */
    private final Long2LongHashMap vbSlot = new Long2LongHashMap(0);
    private long[] liveBits = new long[4 * 256];
    private int[] liveCount = new int[256];
    private int[] freeSlots = new int[256];
    private int freeSlotTop, slotsMade;
    private long budgetHeld;
    private long unindexedBlocks;   // blocks appended to the open or in-flight batch, not yet in the index
    private long nextSeq = 1;

    static long loc(long seq, int slot, int slice) { return seq << 24 | (long) slot << 14 | slice; }
    static long locSeq(long loc) { return loc >>> 24; }
    static int locSlot(long loc) { return (int) (loc >>> 14) & 0x3ff; }
    static int locSlice(long loc) { return (int) loc & 0x3fff; }
    /**
     * A write-zeroes entry: slice 0 of a segment is always a batch header, never data. The entry
     * keeps its segment (slot) live like any other, so the segment holding the zero record is not
     * deleted before the zeroes are drained.
     */
    static boolean isZero(long loc) { return (loc & 0x3fff) == 0; }

    private final class Batch {
        final int bufId;
        final MemorySegment mem;
        final ByteBuffer view;
        int count, dataSlices;
        final long[] seq = new long[Formats.OPLOG_MAX_ENTRIES], block = new long[Formats.OPLOG_MAX_ENTRIES];
        /** Each data entry's CRC32C, computed as the data is copied in (while it is in the CPU cache). */
        final int[] dataCrc = new int[Formats.OPLOG_MAX_ENTRIES];
        /**
         * Each slice's plain CRC32C as written (0: the header page, 1 + i: data slice i), computed as
         * the data is copied in: the store takes them as they are instead of reading the batch again.
         */
        final int[] sliceCrc = new int[1 + Formats.OPLOG_MAX_DATA_SLICES];
        final int[] nBlocks = new int[Formats.OPLOG_MAX_ENTRIES], flags = new int[Formats.OPLOG_MAX_ENTRIES],
                dataSlice = new int[Formats.OPLOG_MAX_ENTRIES], req = new int[Formats.OPLOG_MAX_ENTRIES];
        Segment seg;
        long pos;
        /** A direct batch: one replicated direct write (its data goes to the extent; locally only the header is written). */
        boolean direct;
        /** The data slices (from the second page on), made once: a direct write's data. */
        final MemorySegment data;
        Batch(int bufId) {
            this.bufId = bufId;
            this.mem = large.buffer(bufId & ~LARGE_FLAG);
            this.view = mem.asByteBuffer();
            this.data = mem.asSlice(BLOCK);
        }
        int bytes() { return (1 + dataSlices) * BLOCK; }
        boolean empty() { return count == 0; }
    }

    private Batch open, flight;

    // ---------------------------------------------------------- block map
    final Long2LongHashMap mapExt;   // vblock -> extent ref or ExtentTable.NONE (tombstone)
    final Long2LongHashMap mapSeq;   // vblock -> seq of the newest data the map entry covers
    final LongHashSet shared = new LongHashSet(); // vblocks whose extent other maps reference too
    private StoreObject mapObj;
    private long mapGen, mapPos, mapPageSeq;
    private MemorySegment mapPage, mapFlightPage;   // the page being filled, the page being written
    private ByteBuffer mapView, mapFlightView;
    private int mapPending;
    private boolean mapFlight;
    private final LongArrayList mapWaitersFill = new LongArrayList(), mapWaitersFlight = new LongArrayList();
    private final ExtentTable.Open openGroup = new ExtentTable.Open();
    private final Long2LongHashMap directInflight = new Long2LongHashMap(0);

    // -------------------------------------------------------------- drain
    private static final int D_IDLE = 0, D_COW = 1, D_READ = 2, D_WRITE = 3, D_DURABLE = 4;
    /** What a drain round does with one vBlock: write in place, into a new extent, copy-on-write, or log a tombstone. */
    private static final int K_IN_PLACE = 0, K_NEW = 1, K_COW = 2, K_TOMB = 3;
    /** vBlocks drained together in one round (one sync, one group of map records). */
    static final int DRAIN_MAX_VBLOCKS = 32;
    private int dState = D_IDLE;
    /** Blocks of the round (at most 256: they share the 1 MiB drain buffer), in vBlock then block order. */
    private int dN, dIos, dStatus, dDurable;
    private final long[] dBlock = new long[BLOCKS_PER_VB], dLoc = new long[BLOCKS_PER_VB];
    /** Each block's place in the drain buffer, in blocks (packed; a COW round keeps the extent's layout). */
    private final int[] dPos = new int[BLOCKS_PER_VB];
    /**
     * Plain CRC32C of each block of the drain buffer (by its place in it), as the reads that filled it
     * verified them: the extent writes supply them instead of the store reading the blocks again.
     */
    private final int[] dCrc = new int[BLOCKS_PER_VB];
    /** CRC32C of a 4 KiB block of zeros. */
    private static final int ZERO_BLOCK_CRC;
    static {
        CRC32C z = new CRC32C();
        z.update(new byte[BLOCK]);
        ZERO_BLOCK_CRC = (int) z.getValue();
    }
    /** vBlocks of the round: its blocks are [dFirst, dEnd), and their kind, old and target extents, replay floor, status. */
    private int dV;
    private final long[] dVbs = new long[DRAIN_MAX_VBLOCKS], dOldV = new long[DRAIN_MAX_VBLOCKS],
            dTargetV = new long[DRAIN_MAX_VBLOCKS], dMaxSeqV = new long[DRAIN_MAX_VBLOCKS];
    private final int[] dFirst = new int[DRAIN_MAX_VBLOCKS], dEnd = new int[DRAIN_MAX_VBLOCKS],
            dKind = new int[DRAIN_MAX_VBLOCKS], dVStatus = new int[DRAIN_MAX_VBLOCKS];
    private boolean dRoundCow;
    /** A vBlock picked that did not fit the last round: the next round starts with it (-1: none). */
    private long dCarry = -1;
    private MemorySegment dBuf;
    private int dBufId;
    private Segment dScanSeg;
    private int dScanPos;
    private boolean drainAll;

    // --------------------------------------------- deferred frees (2 epochs)
    private int epoch;
    private final int[] readsInEpoch = new int[2];
    private final List<Runnable>[] deferred;

    // ------------------------------------------------------------- stats
    /**
     * Written by this thread only, read racily by others (tests and statistics, after a completion
     * that orders them, or as a recent value). Plain fields: a volatile store per I/O would cost a
     * full fence each on the hot path, and 64-bit plain stores are not torn on the JVMs this runs on.
     */
    long statOplogWrites, statBypassWrites, statDrains, statDrainedBlocks, statBackPressure,
            statReads, statWrites, statMapLookups, statCacheHits, statCacheMisses, statSegmentsFreed, statCowDrains,
            statDrainRounds, statDirectReads, statBatches, statBatchBytes, statBatchGapBytes;

    private boolean stopping;
    private Req stopReq;
    /** This shard's part of the Unified Cache (null when the node's cache memory is spent); this thread only. */
    private UnifiedCache cache;
    private long cacheBytes;
    /** The cache for counters read by other threads (its counters stay readable after close). */
    volatile UnifiedCache cacheView;
    /** This shard's part of the vDisk's statistics: written by this thread only. */
    final io.dsf.stargate.stats.VDiskShardStats stats;
    /** Replicates the OpLog's batches to RF-1 peers (null: RF1); this thread only. */
    private final io.dsf.stargate.replication.BatchReplicator replicator;
    /** The flight batch is durable here and waits for its replicas before its writes are acknowledged. */
    private boolean batchAwaitsReplicas;

    @SuppressWarnings("unchecked")
    Shard(Stargate node, VDiskController vd, int index, int shards, ShardState initial, List<StoreObject> segments) {
        this.node = node;
        this.vd = vd;
        this.index = index;
        this.shards = shards;
        this.vdiskId = vd.id;
        this.initial = initial;
        this.stats = vd.stats.shard(index);
        this.initialSegments = segments;
        this.mapExt = initial.mapExt;
        this.mapSeq = initial.mapSeq;
        this.replicator = node.replication == null ? null : node.replication.create(vd.id, index);
        StargateOptions o = node.options;
        this.ring = RingBuffer.createMultiProducer(IoEvent::new, o.ringSize());
        this.poller = ring.newPoller();
        ring.addGatingSequences(poller.getSequence());
        int n = o.ringSize() * 2;
        reqs = new Req[n];
        freeReqs = new int[n];
        inUse = new boolean[n];
        for (int i = 0; i < n; i++) {
            reqs[i] = new Req(i);
            freeReqs[i] = n - 1 - i;
        }
        freeReqTop = n;
        deferred = new List[]{new ArrayList<Runnable>(), new ArrayList<Runnable>()};
        blockIdle = o.idle().equals("block");
        spinIdle = o.idle().equals("spin");
        idle = switch (o.idle()) {
            case "spin" -> new BusySpinIdleStrategy();
            case "block" -> new BackoffIdleStrategy(20, 5, TimeUnit.MICROSECONDS.toNanos(5), TimeUnit.MILLISECONDS.toNanos(1));
            default -> new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
        };
        thread = new Thread(this, "stargate-" + vd.name + "-shard" + index);
        thread.setDaemon(true);
    }

    void wake() {
        if (awaitingReplicas) replicator.wakeup();
        else if (sleeping) LockSupport.unpark(thread);
    }

    /**
     * Set while the thread waits in the replicator's completion queue ({@link io.dsf.stargate.replication.BatchReplicator#await})
     * for the peers' answers to a batch that is durable here: the answer's arrival wakes it there
     * (a timed park would add up to its whole length), and {@link #wake} ends the wait through the
     * queue instead of unparking.
     */
    private volatile boolean awaitingReplicas;
    /** Longest single wait for the replicas (the duty cycle's timers run at least this often meanwhile). */
    private static final long REPLICA_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    // ================================================================ loop

    @Override
    public void run() {
        try {
            BlockDevice dev = node.device;
            ch = node.store.openChannel(CHANNEL_DEPTH, LARGE, 2, this);
            if (replicator != null) replicator.beforeBlocking(ch::finishLeading); // a led commit must not wait on a connect
            if (replicator != null) {
                rplObj = initial.replicaPeers;
                if (initial.mapExt.isEmpty() && initialSegments.isEmpty()) replicator.noHistory();
                else if (rplObj != null) { // where this shard's needed history was left, as recorded before the restart
                    byte[] p = node.store.attribute(rplObj, "p");
                    if (p != null) replicator.restoreUsed(new String(p, java.nio.charset.StandardCharsets.US_ASCII));
                }
                replicator.onUsedChanged(this::recordReplicaPeers);
            }
            small = BufferPool.allocate(dev, SMALL, SMALL_COUNT);
            large = BufferPool.allocate(dev, LARGE, LARGE_COUNT);
            ch.registerRegion(small.region());
            ch.registerRegion(large.region());
            open = new Batch(acquireLarge());
            flight = new Batch(acquireLarge());
            dBufId = acquireLarge();
            dBuf = bufferOf(dBufId);
            int mp = acquireLarge();
            mapPage = large.buffer(mp & ~LARGE_FLAG).asSlice(0, Formats.PAGE);
            mapView = mapPage.asByteBuffer();
            mapFlightPage = large.buffer(mp & ~LARGE_FLAG).asSlice(Formats.PAGE, Formats.PAGE);
            ckptPage = large.buffer(mp & ~LARGE_FLAG).asSlice(2 * Formats.PAGE, Formats.PAGE);
            mapFlightView = mapFlightPage.asByteBuffer();
            recover();
            cacheBytes = node.reserveCache();
            if (cacheBytes > 0) cache = UnifiedCache.allocate(cacheBytes, UnifiedCache.DEFAULT_SINGLE_TOUCH_FRACTION, false,
                    node.options.cacheSecondMissAdmission());
            cacheView = cache;
            stats.bindCache(() -> statCacheHits, () -> statCacheMisses);
        } catch (Throwable t) {
            failure = t;
            ready.countDown();
            if (ch != null) ch.close();
            releaseCache();
            return;
        }
        ready.countDown();
        try {
            loop();
        } catch (Throwable t) {
            failure = t;
            node.shardFailed(this, t);
            failAll();
        } finally {
            if (replicator != null) replicator.close();
            node.extents.close(openGroup);
            ch.close();
            releaseCache();
        }
    }

    private MemorySegment ckptPage;

    private void releaseCache() {
        if (cache != null) cache.close();
        cache = null;
        node.releaseCache(cacheBytes);
        cacheBytes = 0;
    }

    /**
     * The {@code spin} idle strategy: busy-poll while the shard is busy, park once it has been idle
     * for {@link #SPIN_WINDOW_NANOS} with nothing in flight on its device queue (a publish wakes it;
     * the park is bounded so background work goes on). An idle vDisk (a snapshot nobody reads)
     * must not burn a core: a node holds far more vDisks than cores.
     */
    private void spinOrPark() {
        long now = System.nanoTime();
        if (idleSince == 0) idleSince = now;
        if (now - idleSince < SPIN_WINDOW_NANOS || ch.inFlight() > 0 || ch.leadingCommit() || cqN > 0 || !flight.empty()
                || pendHead != null || mapFlight || dState != D_IDLE) {
            Thread.onSpinWait();
            return;
        }
        sleeping = true;
        if (ring.getCursor() == poller.getSequence().get()) LockSupport.parkNanos(nothingInFlight() ? quietParkNanos() : PARK_NANOS);
        sleeping = false;
    }

    /**
     * Nothing of this shard's is in flight or waiting (device, journal, replicas, drain, map, queued
     * requests): no completion can arrive that its publisher does not announce with {@link #wake}.
     * A timed back-off here would only burn CPU (every idle vDisk of a node waking thousands of
     * times a second, on the cores the busy ones need).
     */
    private boolean nothingInFlight() {
        return ch.inFlight() == 0 && !ch.leadingCommit() && cqN == 0 && open.empty() && flight.empty() && !mapFlight
                && mapPending == 0 && dState == D_IDLE && pendHead == null && ctlHead == null && !batchAwaitsReplicas
                && freeReqTop > 0;
    }

    private static final long SPIN_WINDOW_NANOS = Long.getLong("dsf.stargate.spinWindowMicros", 200) * 1000;
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /**
     * Longest park of a shard with nothing in flight (a publish wakes it sooner). Long, because a node
     * holds far more vDisk shards than cores and only their timers need it: an idle `dsf up` with 16
     * shards used 4.4-6% of a CPU at 2 ms and 0.5-0.6% at 100 ms (bench/README.md, issue 6).
     */
    private static final long QUIET_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /**
     * Longest park of a dormant shard: nothing in flight and no upkeep at all (no OpLog data to drain,
     * no deferred frees, no replicator), e.g. every shard of a snapshot nobody reads. Only a publish
     * gives it work; the bound is a safety net. A chain of 100 snapshots under {@code --idle spin} cost
     * the vDisk on top of it 1.4x its read p50 and 20x its p99 while its snapshots' shards woke every
     * 2 ms (bench/README.md, snapshot depth).
     */
    private static final long DORMANT_PARK_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** How long a shard with nothing in flight may park before its timers need it. */
    private long quietParkNanos() {
        if (!oplogIndex.isEmpty()) return Math.min(QUIET_PARK_NANOS, Math.max(100_000, node.options.idleDrainNanos())); // the idle drain's due time
        return replicator == null && deferred[0].isEmpty() && deferred[1].isEmpty() ? DORMANT_PARK_NANOS : QUIET_PARK_NANOS;
    }
    private long idleSince;
    private final boolean spinIdle;

    private void loop() {
        while (true) {
            int work = 0;
            if (freeReqTop > 0 && !stopping) {
                try {
                    if (poller.poll(this) == EventPoller.PollState.PROCESSING) {
                        work++;
                        quietSince = 0;
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            work += ch.poll(64);
            work += processCompletions();
            if (replicator != null) work += pollReplicator();
            work += resumePending();
            flushBatch();
            flushMap();
            work += drainStep();
            maintainEpochs();
            if (stopping && quiet()) {
                finishStop();
                return;
            }
            if (work > 0) {
                idle.reset();
                idleSince = 0;
            } else {
                if (budgetHeld > 0 && pendHead == null) releaseBudget();
                if (spinIdle) spinOrPark();
                else if (nothingInFlight()) {
                    // only a new request can give this shard work, and its publisher wakes it: sleep until
                    // then (bounded, for the replicator's upkeep). No spin first: spinning took the CPU the node's
                    // other threads and its peers' replica services needed (bench/README.md, issue 6)
                    sleeping = true;
                    if (ring.getCursor() == poller.getSequence().get()) LockSupport.parkNanos(quietParkNanos());
                    sleeping = false;
                } else if (batchAwaitsReplicas && ch.inFlight() == 0 && !ch.leadingCommit() && freeReqTop > 0) {
                    // only the peers' answers can move this shard on (or a new request: wake() ends the wait)
                    awaitingReplicas = true;
                    if (ring.getCursor() == poller.getSequence().get()) replicator.await(REPLICA_WAIT_NANOS);
                    awaitingReplicas = false;
                    idle.reset();
                } else {
                    sleeping = true;
                    if (ring.getCursor() == poller.getSequence().get() || freeReqTop == 0) idle.idle(0);
                    sleeping = false;
                }
            }
        }
    }

    /**
     * After an internal failure: every request in flight completes with IO_ERROR and every later one
     * too, until the shard is stopped, so no caller waits forever on a dead shard.
     */
    private void failAll() {
        vd.closed = true;
        for (Req r : reqs) if (inUse[r.id] && r.kind != IoEvent.STOP) complete(r, VDiskStatus.IO_ERROR);
        while (true) {
            try {
                poller.poll((e, seq, end) -> {
                    int k = e.kind;
                    if (k == IoEvent.STOP) stopping = true;
                    if (e.join != null) e.join.part(VDiskStatus.IO_ERROR);
                    else if (e.cb != null) e.cb.onComplete(e.tag, k == IoEvent.STOP ? VDiskStatus.OK : VDiskStatus.IO_ERROR);
                    e.clear();
                    return true;
                });
            } catch (Exception e) {
                return;
            }
            if (stopping) return;
            LockSupport.parkNanos(100_000);
        }
    }

    private boolean quiet() {
        return freeReqTop == reqs.length - 1 && open.empty() && flight.empty() && !mapFlight && mapPending == 0
                && dState == D_IDLE && ch.inFlight() == 0 && cqN == 0;
    }

    @Override
    public boolean onEvent(IoEvent e, long sequence, boolean endOfBatch) {
        Req r = reqs[freeReqs[--freeReqTop]];
        inUse[r.id] = true;
        r.kind = e.kind;
        r.offset = e.offset;
        r.length = e.length;
        r.buf = e.buf;
        r.bufOffset = e.bufOffset;
        r.tag = e.tag;
        r.cb = e.cb;
        r.join = e.join;
        r.t0 = e.t0;
        r.arg = e.arg;
        r.status = VDiskStatus.OK;
        r.pending = 0;
        r.cursor = r.offset;
        r.bufId = -1;
        r.region = -1;
        r.redo = false;
        r.vb = -1;
        r.rdirect = false;
        r.next = null;
        e.clear();
        dispatch(r);
        return freeReqTop > 0;
    }

    private void dispatch(Req r) {
        switch (r.kind) {
            case IoEvent.READ -> {
                statReads++;
                if (readHead != null || !startRead(r)) enqueueRead(r);
            }
            case IoEvent.WRITE, IoEvent.ZERO -> {
                if (r.kind == IoEvent.WRITE) statWrites++;
                else prepareZero(r);
                if (pendHead != null || ctlHead != null || !startWrite(r)) enqueuePending(r);
            }
            case IoEvent.REWRITE -> {
                if (pendHead != null || ctlHead != null || !startWrite(r)) enqueuePending(r);
            }
            case IoEvent.PASS_START -> passStart(r);
            case IoEvent.PASS_END -> {
                if (passEnd != null) complete(r, VDiskStatus.BUSY);
                else {
                    r.cursor = nextSeq - 1; // every sequence handed out so far must be resolved first
                    passEnd = r;
                }
            }
            case IoEvent.SNAPSHOT, IoEvent.DRAIN_ALL -> {
                drainAll = true;
                if (ctlTail == null) ctlHead = ctlTail = r;
                else { ctlTail.next = r; ctlTail = r; }
            }
            case IoEvent.STOP -> {
                stopping = true;
                stopReq = r;
            }
            default -> complete(r, VDiskStatus.INVALID);
        }
    }

    private void enqueuePending(Req r) {
        r.next = null;
        if (pendTail == null) pendHead = pendTail = r;
        else { pendTail.next = r; pendTail = r; }
    }

    private void enqueueRead(Req r) {
        r.next = null;
        if (readTail == null) readHead = readTail = r;
        else { readTail.next = r; readTail = r; }
    }

    private int resumePending() {
        int n = 0;
        while (readHead != null) {
            Req r = readHead;
            if (!startRead(r)) break;
            readHead = r.next;
            if (readHead == null) readTail = null;
            n++;
        }
        while (pendHead != null && ctlHead == null) {
            Req r = pendHead;
            if (!startWrite(r)) break;
            pendHead = r.next;
            if (pendHead == null) pendTail = null;
            n++;
        }
        if (passEnd != null && lowestUnindexed() > passEnd.cursor) {
            finishPass(passEnd);
            n++;
        }
        if (ctlHead != null && oplogIndex.isEmpty() && dState == D_IDLE && open.empty() && flight.empty()
                && directInflight.isEmpty() && mapPending == 0 && !mapFlight) {
            Req r = ctlHead;
            ctlHead = r.next;
            if (ctlHead == null) ctlTail = null;
            if (ctlHead == null) drainAll = false;
            if (r.kind == IoEvent.SNAPSHOT) snapshotMap(r);
            else complete(r, VDiskStatus.OK);
            n++;
        }
        return n;
    }

    // ========================================================= completions

    @Override
    public void onComplete(long tag, int status) {
        if (cqN == cqTag.length) {
            cqTag = java.util.Arrays.copyOf(cqTag, cqN * 2);
            cqStatus = java.util.Arrays.copyOf(cqStatus, cqN * 2);
        }
        cqTag[cqN] = tag;
        cqStatus[cqN++] = status;
    }

    private int processCompletions() {
        int done = 0;
        for (int i = 0; i < cqN; i++) { // cqN may grow while we process (a forced poll inside a submit)
            long tag = cqTag[i];
            int st = cqStatus[i];
            long kind = tag & ~PAYLOAD;
            int p = (int) (tag & PAYLOAD);
            if (kind == T_READ) onReadDone(reqs[p], st);
            else if (kind == T_BATCH_WRITE) onBatchWritten(st);
            else if (kind == T_BATCH_SYNC) onBatchDurable(st);
            else if (kind == T_DRAIN_IO) onDrainIo(st);
            else if (kind == T_DRAIN_SYNC) onDrainDurable(p, st);
            else if (kind == T_MAP_WRITE) onMapWritten(st);
            else if (kind == T_MAP_SYNC) onMapDurable(st);
            else if (kind == T_DIRECT_WRITE) onDirectWritten(reqs[p], st);
            done++;
        }
        cqN = 0;
        return done;
    }

    /** Submits through the channel, polling (completions are only queued) while it is full. */
    private int submitRead(StoreObject o, long off, MemorySegment buf, int len, long tag) {
        return submitRead(o, off, buf, len, tag, null, 0);
    }

    /** {@link #submitRead}, reporting the slices' plain CRC32Cs into {@code crcs[from..]} (null: not wanted). */
    private int submitRead(StoreObject o, long off, MemorySegment buf, int len, long tag, int[] crcs, int from) {
        while (true) {
            int st = ch.read(o, off, buf, len, tag, crcs, from);
            if (st != StoreStatus.QUEUE_FULL.code() && st != StoreStatus.BACK_PRESSURE.code()) return st;
            ch.poll(64);
            Thread.onSpinWait();
        }
    }

    private int submitWrite(StoreObject o, long off, MemorySegment buf, int len, long tag) {
        return submitWrite(o, off, buf, len, tag, null, 0);
    }

    /** {@link #submitWrite}, the slices' plain CRC32Cs supplied ({@code crcs[from..]}; null: the store computes them). */
    private int submitWrite(StoreObject o, long off, MemorySegment buf, int len, long tag, int[] crcs, int from) {
        while (true) {
            int st = ch.write(o, off, buf, len, tag, crcs, from);
            if (st != StoreStatus.QUEUE_FULL.code() && st != StoreStatus.BACK_PRESSURE.code()) return st;
            ch.poll(64);
            Thread.onSpinWait();
        }
    }

    private int submitSync(long tag) {
        while (true) {
            int st = ch.sync(tag);
            if (st != StoreStatus.QUEUE_FULL.code()) return st;
            ch.poll(64);
            Thread.onSpinWait();
        }
    }

    static int mapStatus(int st) {
        if (st >= 0) return VDiskStatus.OK;
        if (st == StoreStatus.CHECKSUM.code()) return VDiskStatus.MEDIUM_ERROR;
        if (st == StoreStatus.NO_SPACE.code()) return VDiskStatus.NO_SPACE;
        if (st == StoreStatus.CLOSED.code()) return VDiskStatus.CLOSED;
        return VDiskStatus.IO_ERROR;
    }

    private void recordStats(Req r, int status) {
        long nanos = System.nanoTime() - r.t0;
        if (status < 0) stats.recordError();
        else if (r.kind == IoEvent.READ) stats.recordRead(r.length, nanos);
        else if (r.kind == IoEvent.WRITE) stats.recordWrite(r.length, nanos);
        else if (r.kind == IoEvent.ZERO) stats.recordUnmap(r.bufOffset, nanos);
        if (r.kind != IoEvent.READ) stats.setOplog(oplogBytes(), oplogCapacity());
    }

    private void complete(Req r, int status) {
        if (status == VDiskStatus.MEDIUM_ERROR && r.kind == IoEvent.READ && r.buf != null && node.readRepair != null
                && r.tag != Stargate.ReadRepair.NO_REPAIR) {
            repairLater(r);
            return;
        }
        if (r.kind == IoEvent.WRITE) vd.outstanding.add(-r.length);
        else if (r.kind == IoEvent.ZERO) vd.outstanding.add(-r.bufOffset);
        recordStats(r, status);
        io.dsf.stargate.api.IoCallback cb = r.cb;
        Join j = r.join;
        long tag = r.tag;
        release(r);
        if (j != null) j.part(status);
        else if (cb != null) cb.onComplete(tag, status);
    }

    /** Returns a finished request to the free list, dropping its references to the caller's objects. */
    private void release(Req r) {
        r.cb = null;
        r.join = null;
        r.buf = null;
        r.arg = null;
        inUse[r.id] = false;
        freeReqs[freeReqTop++] = r.id;
    }

    /**
     * A read that met a checksum failure: hands its range to the node's read repair (the replicas)
     * and frees the request; the caller's completion comes from the repair, with its final status.
     * Error path only (it allocates).
     */
    private void repairLater(Req r) {
        recordStats(r, VDiskStatus.MEDIUM_ERROR);
        io.dsf.stargate.api.IoCallback cb = r.cb;
        Join j = r.join;
        long tag = r.tag, offset = r.offset;
        int length = (int) r.length;
        MemorySegment dst = r.buf.asSlice(r.bufOffset, length);
        release(r);
        node.readRepair.repair(vd, offset, dst, length, st -> {
            if (j != null) j.part(st);
            else if (cb != null) cb.onComplete(tag, st);
        });
    }

    // ============================================================== buffers

    private int acquireFor(long len) {
        if (len <= SMALL) {
            int id = small.acquire();
            if (id >= 0) return id;
        }
        int id = large.acquire();
        return id < 0 ? -1 : id | LARGE_FLAG;
    }

    private int acquireLarge() {
        int id = large.acquire();
        if (id < 0) throw new IllegalStateException("shard buffer pool exhausted at start");
        return id | LARGE_FLAG;
    }

    private MemorySegment bufferOf(int id) {
        return (id & LARGE_FLAG) != 0 ? large.buffer(id & ~LARGE_FLAG) : small.buffer(id);
    }

    /**
     * Buffer {@code id} from block {@code block} on, for a store request that starts there: made
     * once per (buffer, block) and kept, so steady state allocates no slice per I/O.
     */
    private MemorySegment sliceOf(int id, int block) {
        if (block == 0) return bufferOf(id);
        int at = (id & LARGE_FLAG) != 0 ? SMALL_COUNT * (SMALL >> BLOCK_SHIFT) + (id & ~LARGE_FLAG) * BLOCKS_PER_VB + block
                : id * (SMALL >> BLOCK_SHIFT) + block;
        MemorySegment m = slices[at];
        if (m == null) slices[at] = m = bufferOf(id).asSlice((long) block << BLOCK_SHIFT);
        return m;
    }

    private final MemorySegment[] slices = new MemorySegment[SMALL_COUNT * (SMALL >> BLOCK_SHIFT) + LARGE_COUNT * BLOCKS_PER_VB];

    private void releaseBuffer(int id) {
        if ((id & LARGE_FLAG) != 0) large.release(id & ~LARGE_FLAG);
        else small.release(id);
    }

    // ======================================================== caller memory

    /** The node's region list last adopted (the node replaces it when one is added); this thread only. */
    private MemorySegment[] adoptedRegions = new MemorySegment[0];
    /** Adopted caller memory, in pieces of at most 1 GiB registered with the channel; this thread only. */
    private MemorySegment[] rgnSeg = new MemorySegment[0];
    private long[] rgnBase = new long[0], rgnEnd = new long[0];
    private boolean[] rgnUsable = new boolean[0];
    private int rgnCount;
    private long rgnAlignMask;
    private static final long REGION_PIECE = 1L << 30;
    /**
     * Slices of caller regions that store reads started at, by the address's 4 KiB page number modulo
     * the size (so up to that many consecutive buffers never collide): no slice per I/O in steady state.
     */
    private final MemorySegment[] rgnSlices = new MemorySegment[1024];

    /** Registers the regions added to the node since the last look with this shard's channel. */
    private void adoptRegions(MemorySegment[] regs) {
        rgnAlignMask = node.device.geometry().bufferAlignment() - 1;
        for (int k = adoptedRegions.length; k < regs.length; k++) {
            MemorySegment m = regs[k];
            boolean ok = m.scope().isAlive() && m.isAccessibleBy(thread);
            for (long at = 0; at < m.byteSize(); at += REGION_PIECE) {
                MemorySegment piece = m.asSlice(at, Math.min(REGION_PIECE, m.byteSize() - at));
                if (rgnCount == rgnSeg.length) {
                    int n = Math.max(4, rgnCount * 2);
                    rgnSeg = java.util.Arrays.copyOf(rgnSeg, n);
                    rgnBase = java.util.Arrays.copyOf(rgnBase, n);
                    rgnEnd = java.util.Arrays.copyOf(rgnEnd, n);
                    rgnUsable = java.util.Arrays.copyOf(rgnUsable, n);
                }
                if (ok) ch.registerRegion(piece);
                rgnSeg[rgnCount] = piece;
                rgnBase[rgnCount] = piece.address();
                rgnEnd[rgnCount] = piece.address() + piece.byteSize();
                rgnUsable[rgnCount] = ok;
                rgnCount++;
            }
        }
        adoptedRegions = regs;
    }

    /**
     * The caller region a read's buffer lies in, so the store reads straight into it, or -1 (read
     * through a bounce buffer): the buffer must be native, aligned for the device and inside one
     * adopted region the device did not refuse.
     */
    private int directRegion(Req r) {
        MemorySegment[] regs = node.readRegions;
        if (regs != adoptedRegions) adoptRegions(regs);
        if (rgnCount == 0) return -1;
        MemorySegment b = r.buf;
        if (b == null || !b.isNative() || r.bufOffset < 0 || r.bufOffset > b.byteSize() - r.length) return -1;
        long a = b.address() + r.bufOffset;
        if ((a & rgnAlignMask) != 0) return -1;
        for (int k = 0; k < rgnCount; k++) if (rgnUsable[k] && a >= rgnBase[k] && a + r.length <= rgnEnd[k]) return k;
        return -1;
    }

    /** Region {@code k} from {@code off} on (at least {@code len} bytes), for a store read that starts there. */
    private MemorySegment directSlice(int k, long off, int len) {
        long addr = rgnBase[k] + off;
        int h = (int) (addr >>> BLOCK_SHIFT) & (rgnSlices.length - 1);
        MemorySegment m = rgnSlices[h];
        if (m != null && m.address() == addr && m.byteSize() >= len) return m; // (a slice of an overlapping region may be shorter)
        m = rgnSeg[k].asSlice(off);
        rgnSlices[h] = m;
        return m;
    }

    private static boolean refusedBuffer(int st) {
        return st == StoreStatus.BAD_BUFFER.code() || st == io.dsf.blockstore.spi.IoError.BAD_BUFFER.code();
    }

    // ================================================================= reads

    /**
     * Starts a read: each block comes from the OpLog, the Unified Cache or the Extent Store (or is
     * zeros), into the caller's buffer when it is registered memory ({@link Stargate#registerMemory})
     * and into a bounce buffer otherwise (copied out when the read is complete). False when it must
     * wait for a bounce buffer.
     */
    private boolean startRead(Req r) {
        int dr = directRegion(r);
        MemorySegment buf;
        long base;
        if (dr >= 0) {
            buf = rgnSeg[dr];
            base = r.buf.address() + r.bufOffset - rgnBase[dr];
            r.bufId = -1;
            statDirectReads++;
        } else {
            int id = acquireFor(r.length);
            if (id < 0) return false;
            r.bufId = id;
            buf = bufferOf(id);
            base = 0;
        }
        r.region = dr;
        r.regionOff = base;
        if (r.arg != null) ((long[]) r.arg)[0] = lowestUnindexed(); // a re-replication read: what it reflects
        r.epoch = epoch;
        readsInEpoch[epoch]++;
        r.pending = 1;
        long b0 = r.offset >>> BLOCK_SHIFT;
        int n = (int) (r.length >>> BLOCK_SHIFT);
        long vb = b0 >>> 8;
        long ext = mapExt.get(vb);
        statMapLookups++;
        int slot = (int) vbSlot.get(vb) - 1; // -1: nothing of this vBlock is in the OpLog
        UnifiedCache c = cache;
        if (c != null) {
            r.ticket = c.fillTicket();
            java.util.Arrays.fill(r.fillBits, 0L);
        }
        int i = 0;
        while (i < n) {
            long b = b0 + i;
            long loc = inLog(slot, b) ? oplogIndex.get(b) : MISSING;
            if (loc != MISSING) {
                int seg = locSlot(loc);
                if (isZero(loc)) {
                    Zero.fill(buf, base + ((long) i << BLOCK_SHIFT), BLOCK);
                    i++;
                    continue;
                }
                int j = i + 1;
                while (j < n && inLog(slot, b0 + j)) {
                    long l2 = oplogIndex.get(b0 + j);
                    if (locSlot(l2) != seg || locSlice(l2) != locSlice(loc) + (j - i)) break;
                    j++;
                }
                issueRead(r, segs[seg].obj, (long) locSlice(loc) << BLOCK_SHIFT, i, j - i);
                i = j;
                continue;
            }
            boolean hasExt = ext != MISSING && ext != ExtentTable.NONE;
            if (hasExt && c != null && c.read(vdiskId, b, buf, base + ((long) i << BLOCK_SHIFT))) {
                statCacheHits++;
                i++;
                continue;
            }
            int j = i + 1;
            if (hasExt && c != null) {
                while (j < n && !inLog(slot, b0 + j) && !c.contains(vdiskId, b0 + j)) j++;
                for (int k = i; k < j; k++) if (c.admit(vdiskId, b0 + k)) r.fillBits[k >>> 6] |= 1L << k;
            } else {
                while (j < n && !inLog(slot, b0 + j)) j++;
            }
            if (!hasExt) {
                Zero.fill(buf, base + ((long) i << BLOCK_SHIFT), (long) (j - i) << BLOCK_SHIFT);
            } else {
                statCacheMisses += j - i;
                long inVb = (b & (BLOCKS_PER_VB - 1)) << BLOCK_SHIFT;
                StoreObject eg = node.extents.object(ExtentTable.groupId(ext));
                issueRead(r, eg, ExtentTable.byteOffset(ext) + inVb, i, j - i);
            }
            i = j;
        }
        if (--r.pending == 0) finishRead(r);
        return true;
    }

    /** Whether {@code block} has an OpLog index entry, given its vBlock's live slot (-1: none). */
    private boolean inLog(int slot, long block) {
        if (slot < 0) return false;
        int k = (int) block & (BLOCKS_PER_VB - 1);
        return (liveBits[slot * 4 + (k >>> 6)] & (1L << k)) != 0;
    }

    private void issueRead(Req r, StoreObject o, long off, int firstBlock, int nBlocks) {
        if (o == null) {
            r.status = VDiskStatus.IO_ERROR;
            return;
        }
        MemorySegment dst = r.region >= 0 ? directSlice(r.region, r.regionOff + ((long) firstBlock << BLOCK_SHIFT), nBlocks << BLOCK_SHIFT)
                : sliceOf(r.bufId, firstBlock);
        int st = submitRead(o, off, dst, nBlocks << BLOCK_SHIFT, T_READ | r.id);
        if (st == StoreChannel.ACCEPTED) r.pending++;
        else if (r.region >= 0 && refusedBuffer(st)) refuseRegion(r);
        else if (r.status == VDiskStatus.OK) r.status = mapStatus(st);
    }

    /** The device refused a caller region (not memory it can do I/O to): never again; this read is done again. */
    private void refuseRegion(Req r) {
        rgnUsable[r.region] = false;
        r.redo = true;
    }

    private void onReadDone(Req r, int st) {
        if (st < 0 && r.region >= 0 && refusedBuffer(st)) refuseRegion(r);
        else if (st < 0 && r.status == VDiskStatus.OK) r.status = mapStatus(st);
        if (--r.pending == 0) finishRead(r);
    }

    private void finishRead(Req r) {
        MemorySegment buf;
        long base;
        if (r.region >= 0) { // the data is in the caller's buffer already
            buf = rgnSeg[r.region];
            base = r.regionOff;
        } else {
            buf = bufferOf(r.bufId);
            base = 0;
            if (r.status == VDiskStatus.OK && !r.redo) {
                try {
                    MemorySegment.copy(buf, 0, r.buf, r.bufOffset, r.length);
                } catch (RuntimeException e) { // a confined or closed caller buffer
                    r.status = VDiskStatus.INVALID;
                }
            }
        }
        UnifiedCache c = cache;
        if (r.status == VDiskStatus.OK && !r.redo && c != null) {
            long b0 = r.offset >>> BLOCK_SHIFT;
            for (int w = 0; w < r.fillBits.length; w++) {
                long bits = r.fillBits[w];
                while (bits != 0) {
                    int k = w * 64 + Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                    c.fill(vdiskId, b0 + k, buf, base + ((long) k << BLOCK_SHIFT), r.ticket);
                }
            }
        }
        if (r.bufId >= 0) releaseBuffer(r.bufId);
        r.bufId = -1;
        r.region = -1;
        readsInEpoch[r.epoch]--;
        if (r.redo) { // its region is refused now: through a bounce buffer this time
            r.redo = false;
            r.status = VDiskStatus.OK;
            if (readHead != null || !startRead(r)) enqueueRead(r);
            return;
        }
        complete(r, r.status);
    }

    // ================================================================ writes

    /** Copies from the caller's buffer; false (and INVALID) when this thread cannot read it (confined, closed). */
    private static boolean copyIn(Req r, long from, MemorySegment dst, long dstOff, int len) {
        try {
            MemorySegment.copy(r.buf, r.bufOffset + from, dst, dstOff, len);
            return true;
        } catch (RuntimeException e) {
            r.status = VDiskStatus.INVALID;
            return false;
        }
    }

    /** Lists this shard's vBlocks in a zero request's range that hold any state. */
    private void prepareZero(Req r) {
        long first = r.offset >>> VB_SHIFT, last = (r.offset + r.length - 1) >>> VB_SHIFT;
        LongArrayList list = new LongArrayList();
        if (last - first < 4096) {
            for (long v = first; v <= last; v++) if (v % shards == index && hasState(v)) list.addLong(v);
        } else {
            LongHashSet seen = new LongHashSet();
            for (var it = mapExt.keySet().iterator(); it.hasNext(); ) {
                long v = it.nextValue();
                if (v >= first && v <= last && mapExt.get(v) != ExtentTable.NONE) seen.add(v);
            }
            for (var it = vbSlot.keySet().iterator(); it.hasNext(); ) {
                long v = it.nextValue();
                if (v >= first && v <= last) seen.add(v);
            }
            for (var it = seen.iterator(); it.hasNext(); ) list.addLong(it.nextValue());
            list.sort(null);
        }
        r.vblocks = list;
        r.vbCursor = 0;
    }

    private boolean hasState(long v) {
        long e = mapExt.get(v);
        return (e != MISSING && e != ExtentTable.NONE) || liveBlocks(v) > 0;
    }

    /** Starts (or continues) a write or zero; false when it must wait (its progress is kept). */
    private boolean startWrite(Req r) {
        if (open.direct) return false; // a direct batch waits in the open buffer: nothing joins it
        if (r.kind == IoEvent.ZERO) return appendZero(r);
        if (r.kind == IoEvent.REWRITE) return appendRewrite(r);
        if (r.cursor == r.offset && r.pending == 0) {
            int d = tryDirect(r);
            if (d == DIRECT_DONE) return true;
            if (d == DIRECT_WAIT) return false;
        }
        return appendWrite(r);
    }

    private boolean oplogHasRoom(int blocks, int slices) {
        StargateOptions o = node.options;
        long maxSegs = o.oplogShardBytes() / o.oplogSegmentBytes();
        boolean room = segCount < maxSegs || (current != null
                && fitsIn(current, (open.dataSlices + slices + 1) * BLOCK));
        if (!room || !reserveBudget(blocks)) {
            statBackPressure++;
            return false;
        }
        return true;
    }

    private boolean fitsIn(Segment s, int bytes) {
        long pos = placement(s.writePos, bytes);
        return pos + bytes <= s.obj.size();
    }

    /**
     * Where a batch of {@code bytes} goes in a segment whose next free byte is {@code pos}: there,
     * or at the next allocation unit when the rest of this one cannot hold it (a batch never spans
     * two units, whose data may be far apart on the device). Recovery looks for the next header at
     * the end of the previous batch, then at the next unit's start ({@link #recover}). Placing by
     * the largest possible batch instead wasted every unit's second half when batches were small:
     * at QD1 (8 KiB batches) half the OpLog held no data, and filled twice as fast.
     */
    private long placement(long pos, int bytes) {
        long unit = node.store.unitSize();
        long left = unit - (pos % unit);
        return left < bytes ? pos + left : pos;
    }

    private boolean reserveBudget(int blocks) {
        long need = oplogIndex.size() + unindexedBlocks + blocks;
        while (need > budgetHeld) {
            long chunk = 1024;
            if (node.indexBudget.addAndGet(-chunk) < 0) {
                node.indexBudget.addAndGet(chunk);
                return false;
            }
            budgetHeld += chunk;
        }
        return true;
    }

    private void releaseBudget() {
        long used = oplogIndex.size() + unindexedBlocks;
        while (budgetHeld - used >= 1024) {
            budgetHeld -= 1024;
            node.indexBudget.addAndGet(1024);
        }
    }

    private boolean appendWrite(Req r) {
        long end = r.offset + r.length;
        while (r.cursor < end) {
            if (open.count == Formats.OPLOG_MAX_ENTRIES || open.dataSlices == Formats.OPLOG_MAX_DATA_SLICES) {
                flushBatch();
                if (open.count == Formats.OPLOG_MAX_ENTRIES || open.dataSlices == Formats.OPLOG_MAX_DATA_SLICES) return false;
            }
            int room = Formats.OPLOG_MAX_DATA_SLICES - open.dataSlices;
            int slices = (int) Math.min((end - r.cursor) >>> BLOCK_SHIFT, room);
            if (!oplogHasRoom(slices, slices)) return false;
            if (!appendData(r, slices)) return true;
        }
        return true;
    }

    /**
     * Appends {@code slices} blocks of {@code r} from its cursor to the open batch as one entry (room
     * checked by the caller). False when the caller's buffer cannot be read here: the request then
     * fails (completing now if nothing of it is in flight) and the shard goes on.
     */
    private boolean appendData(Req r, int slices) {
        long end = r.offset + r.length;
        long dataOff = (long) (1 + open.dataSlices) * BLOCK;
        int len = slices << BLOCK_SHIFT;
        if (!copyIn(r, r.cursor - r.offset, open.mem, dataOff, len)) {
            r.cursor = end;
            if (r.pending == 0) complete(r, r.status);
            return false;
        }
        int at = open.count++;
        open.seq[at] = nextSeq++;
        open.block[at] = r.cursor >>> BLOCK_SHIFT;
        open.nBlocks[at] = slices;
        open.flags[at] = 0;
        open.dataCrc[at] = blockCrcs(open.view, (int) dataOff, slices, open.sliceCrc, 1 + open.dataSlices);
        open.dataSlice[at] = open.dataSlices;
        open.req[at] = r.id;
        open.dataSlices += slices;
        unindexedBlocks += slices;
        r.pending++;
        r.cursor += len;
        statOplogWrites++;
        return true;
    }

    /**
     * CRC32C of each of {@code n} 4 KiB blocks at {@code base} of {@code view} into {@code out} from
     * {@code outAt}; returns the CRC32C of all of them in a row (an OpLog entry's), combined from the
     * blocks' without reading them again.
     */
    private int blockCrcs(ByteBuffer view, int base, int n, int[] out, int outAt) {
        int all = 0;
        for (int k = 0; k < n; k++) {
            int c = Formats.crc(view, base + (k << BLOCK_SHIFT), BLOCK, crc);
            out[outAt + k] = c;
            all = k == 0 ? c : io.dsf.blockstore.store.format.Crc.append4k(all, c);
        }
        return all;
    }

    // ====================================================== re-replication

    /** The lowest sequence number not yet in the index (the flight batch's, the open batch's, or the next). */
    private long lowestUnindexed() {
        if (!flight.empty()) return flight.seq[0];
        if (!open.empty()) return open.seq[0];
        return nextSeq;
    }

    /** The pass end waiting for every sequence handed out before it to be indexed or failed (null: none). */
    private Req passEnd;
    /**
     * vBlock -> the highest sequence that left the index for the extent in this run (drained, or a
     * replicated direct write): an in-place drain leaves no trace in {@link #mapSeq}, yet a conditional
     * rewrite (a re-replication pass, a read repair) must know whether data newer than its read went
     * there. One entry per vBlock ever drained (like the block map), updated on the drain path only.
     */
    private final org.agrona.collections.Long2LongHashMap drainedSeq = new org.agrona.collections.Long2LongHashMap(-1);
    /** Batches that failed (their writes were not acknowledged); written by this thread only. */
    long statBatchFailures;
    long statRewrites, statRewriteSkipped, statRewriteConflicts;
    /** Direct batches (header-only records) stepped over at open. */
    long statRecoveredDirect;

    /**
     * Starts a re-replication pass: reports the pass's base (the lowest sequence not yet indexed:
     * every later write, and every rewrite of the pass, has a sequence at least that), the batch
     * failure count (the pass is void if it moves) and this shard's vBlocks holding any data.
     * Control path (allocates).
     */
    private void passStart(Req r) {
        VDiskController.PassInfo p = (VDiskController.PassInfo) r.arg;
        p.base = lowestUnindexed();
        p.failures = statBatchFailures;
        LongHashSet seen = new LongHashSet();
        for (var it = mapExt.keySet().iterator(); it.hasNext(); ) {
            long v = it.nextValue();
            if (mapExt.get(v) != ExtentTable.NONE) seen.add(v);
        }
        for (var it = vbSlot.keySet().iterator(); it.hasNext(); ) seen.add(it.nextValue());
        for (var it = seen.iterator(); it.hasNext(); ) p.vblocks.addLong(it.nextValue());
        p.vblocks.sort(null);
        if (replicator != null) replicator.passStarted();
        complete(r, VDiskStatus.OK);
    }

    /**
     * Ends a pass once every sequence handed out before the end was asked for is indexed or failed:
     * OK when no batch failed since the pass began (so every block's newest data is in an
     * acknowledged, replicated entry at or above the base), IO_ERROR otherwise (the pass is void).
     */
    private void finishPass(Req r) {
        passEnd = null;
        VDiskController.PassInfo p = (VDiskController.PassInfo) r.arg;
        boolean ok = statBatchFailures == p.failures;
        if (ok && replicator != null) replicator.passCompleted();
        complete(r, ok ? VDiskStatus.OK : VDiskStatus.IO_ERROR);
    }

    /**
     * A conditional write of data a re-replication read returned (its mark: the lowest unindexed
     * sequence when the read ran, so the data reflects every write below the mark). A block is
     * written again only if nothing at or above the mark touched it: a newer index entry or an entry
     * waiting in the open or flight batch means a newer write carries it already, and it is skipped.
     * If the vBlock's block map moved past the mark (a drain took newer data out of the index), the
     * read may be stale and the request fails with BUSY: the pass reads the vBlock again.
     */
    private boolean appendRewrite(Req r) {
        long mark = (Long) r.arg;
        long end = r.offset + r.length;
        long vb = r.offset >>> VB_SHIFT;
        if (mapSeq.get(vb) >= mark || drainedSeq.get(vb) >= mark) {
            statRewriteConflicts++;
            if (r.status == VDiskStatus.OK) r.status = VDiskStatus.BUSY;
            r.cursor = end;
            if (r.pending == 0) complete(r, r.status);
            return true;
        }
        while (r.cursor < end) {
            long b = r.cursor >>> BLOCK_SHIFT;
            if (!rewritable(b, mark)) {
                r.cursor += BLOCK;
                statRewriteSkipped++;
                continue;
            }
            if (open.count == Formats.OPLOG_MAX_ENTRIES || open.dataSlices == Formats.OPLOG_MAX_DATA_SLICES) {
                flushBatch();
                if (open.count == Formats.OPLOG_MAX_ENTRIES || open.dataSlices == Formats.OPLOG_MAX_DATA_SLICES) return false;
            }
            int max = (int) Math.min((end - r.cursor) >>> BLOCK_SHIFT, Formats.OPLOG_MAX_DATA_SLICES - open.dataSlices);
            int slices = 1;
            while (slices < max && rewritable(b + slices, mark)) slices++;
            if (!oplogHasRoom(slices, slices)) return false;
            if (!appendData(r, slices)) return true;
            statRewrites += slices;
        }
        if (r.pending == 0) complete(r, r.status);
        return true;
    }

    private boolean rewritable(long block, long mark) {
        long loc = oplogIndex.get(block);
        if (loc != MISSING && locSeq(loc) >= mark) return false;
        return !pendingIn(open, block) && !pendingIn(flight, block);
    }

    private static boolean pendingIn(Batch b, long block) {
        for (int i = 0; i < b.count; i++) if (block >= b.block[i] && block < b.block[i] + b.nBlocks[i]) return true;
        return false;
    }

    private boolean appendZero(Req r) {
        long end = r.offset + r.length;
        LongArrayList list = r.vblocks;
        while (r.vbCursor < list.size()) {
            long v = list.getLong(r.vbCursor);
            long from = Math.max(r.offset, v << VB_SHIFT), to = Math.min(end, (v + 1) << VB_SHIFT);
            int n = (int) ((to - from) >>> BLOCK_SHIFT);
            if (open.count == Formats.OPLOG_MAX_ENTRIES) {
                flushBatch();
                if (open.count == Formats.OPLOG_MAX_ENTRIES) return false;
            }
            if (!oplogHasRoom(n, 0)) return false;
            int at = open.count++;
            open.seq[at] = nextSeq++;
            open.block[at] = from >>> BLOCK_SHIFT;
            open.nBlocks[at] = n;
            open.flags[at] = Formats.FLAG_ZERO;
            open.dataSlice[at] = 0;
            open.req[at] = r.id;
            unindexedBlocks += n;
            r.pending++;
            r.vbCursor++;
        }
        if (r.pending == 0) { // nothing in range held data: it already reads as zeros
            r.vblocks = null;
            complete(r, VDiskStatus.OK);
        }
        return true;
    }

    private void flushBatch() {
        if (open.empty() || !flight.empty()) return;
        int bytes = open.bytes();
        Segment s = current;
        if (s == null || !fitsIn(s, bytes)) {
            s = newSegment();
            if (s == null) return; // no room: retried once a drain frees a segment
        }
        long pos = placement(s.writePos, bytes);
        statBatchGapBytes += pos - s.writePos;
        statBatchBytes += bytes;
        Formats.putOplogHeader(open.mem, s.obj.id(), open.count, open.dataSlices);
        for (int i = 0; i < open.count; i++) {
            int crcv = (open.flags[i] & Formats.FLAG_ZERO) == 0 ? open.dataCrc[i] : 0;
            Formats.putOplogEntry(open.mem, i, open.seq[i], open.block[i], open.nBlocks[i], open.flags[i], crcv);
        }
        Formats.sealPage(open.mem, 20, open.view, 0, crc);
        open.sliceCrc[0] = Formats.crc(open.view, 0, BLOCK, crc);
        open.seg = s;
        open.pos = pos;
        s.writePos = pos + bytes;
        Batch t = flight;
        flight = open;
        open = t;
        if (replicator != null) replicator.replicate(flight.mem, bytes, s.number, s.obj.size(), pos);
        statBatches++;
        int st;
        if (flight.direct) { // locally the header alone, marked: the data is in the extent (replicas got it in place)
            for (int i = 0; i < flight.count; i++)
                Formats.putOplogEntry(flight.mem, i, flight.seq[i], flight.block[i], flight.nBlocks[i], Formats.FLAG_DIRECT, flight.dataCrc[i]);
            Formats.sealPage(flight.mem, 20, flight.view, 0, crc);
            st = submitWrite(s.obj, pos, flight.mem, BLOCK, T_BATCH_WRITE);
        } else st = submitWrite(s.obj, pos, flight.mem, bytes, T_BATCH_WRITE, flight.sliceCrc, 0);
        if (st != StoreChannel.ACCEPTED) onBatchWritten(st);
    }

    private void retireCurrent() {
        if (current == null) return;
        Segment full = current;
        current = null;
        if (full.live == 0) freeSegment(full); // emptied while it was still the write target
    }

    private Segment newSegment() {
        StargateOptions o = node.options;
        retireCurrent();
        if (segCount >= o.oplogShardBytes() / o.oplogSegmentBytes()) return null;
        int slot = -1;
        for (int i = 0; i < MAX_SEGMENTS; i++) if (segs[i] == null) { slot = i; break; }
        if (slot < 0) return null;
        long number = nextSegmentNumber++;
        StoreObject obj;
        try {
            obj = node.store.create(0, o.oplogSegmentBytes(), Catalog.segmentAttrs(vdiskId, index, number));
        } catch (RuntimeException e) {
            statBackPressure++;
            return null;
        }
        Segment s = new Segment(slot, obj, number);
        segs[slot] = s;
        segCount++;
        current = s;
        return s;
    }

    private void onBatchWritten(int st) {
        if (st < 0) {
            failBatch(mapStatus(st));
            return;
        }
        int s2 = submitSync(T_BATCH_SYNC);
        if (s2 != StoreChannel.ACCEPTED) failBatch(mapStatus(s2));
    }

    private void failBatch(int status) {
        Batch b = flight;
        if (b.count > 0) statBatchFailures++;
        if (b.direct) {
            if (b.seg == current) retireCurrent();
            directPart(reqs[b.req[0]], status);
            return;
        }
        // Never write past a failed batch in the same segment: recovery stops at the first invalid
        // batch, so acknowledged batches after the hole would be lost. The next batch opens a new segment.
        if (b.seg == current) retireCurrent();
        for (int i = 0; i < b.count; i++) {
            unindexedBlocks -= b.nBlocks[i];
            Req r = reqs[b.req[i]];
            if (r.status == VDiskStatus.OK) r.status = status;
            if (--r.pending == 0 && r.cursor >= r.offset + r.length && (r.vblocks == null || r.vbCursor >= r.vblocks.size())) {
                r.vblocks = null;
                complete(r, r.status);
            }
        }
        b.count = 0;
        b.dataSlices = 0;
    }

    private void onBatchDurable(int st) {
        if (st < 0) {
            failBatch(mapStatus(st));
            return;
        }
        if (replicator != null) { // acknowledged only with RF copies: wait for the peers, or fail
            int rs = replicator.status();
            if (rs == io.dsf.stargate.replication.BatchReplicator.PENDING) {
                batchAwaitsReplicas = true;
                return;
            }
            if (rs != io.dsf.stargate.replication.BatchReplicator.ACKED) {
                failBatch(VDiskStatus.IO_ERROR);
                return;
            }
        }
        Batch b = flight;
        if (b.direct) { // header durable here and the replicas hold the data: the batch's half of the write is done
            directPart(reqs[b.req[0]], VDiskStatus.OK);
            return;
        }
        Segment s = b.seg;
        int firstSlice = (int) (b.pos >>> BLOCK_SHIFT) + 1;
        for (int i = 0; i < b.count; i++) {
            unindexedBlocks -= b.nBlocks[i];
            boolean zero = (b.flags[i] & Formats.FLAG_ZERO) != 0;
            long block = b.block[i];
            long seq = b.seq[i];
            for (int k = 0; k < b.nBlocks[i]; k++) {
                long nl = loc(seq, s.slot, zero ? 0 : firstSlice + b.dataSlice[i] + k);
                putIndex(block + k, nl, s);
                if (!zero) {
                    s.entries.addLong(block + k);
                    s.entries.addLong(nl);
                }
            }
            s.vblocks.addLong(block >>> 8);
            if (cache != null) {
                if (zero) cache.invalidateRange(vdiskId, block, b.nBlocks[i]);
                else cache.write(vdiskId, block, b.nBlocks[i], b.mem, (long) (1 + b.dataSlice[i]) * BLOCK);
            }
            Req r = reqs[b.req[i]];
            if (--r.pending == 0 && (r.kind != IoEvent.ZERO ? r.cursor >= r.offset + r.length : r.vbCursor >= r.vblocks.size())) {
                r.vblocks = null;
                complete(r, r.status);
            }
        }
        b.count = 0;
        b.dataSlices = 0;
        if (replicator != null) replicator.liveBytes((long) (mapExt.size() + vbSlot.size()) << VB_SHIFT); // rough, once per batch
        flushBatch();
    }

    private long lastReplicatorPoll;
    /** How often a replicator with nothing to move is polled anyway. */
    private static final long REPLICATOR_IDLE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /** Polls the replicator; a locally durable batch completes once its replicas answered. */
    private int pollReplicator() {
        int w = 0;
        // the answer to a batch whose local write is still in flight cannot complete anything yet
        if (replicator.needsPolling() && (batchAwaitsReplicas || flight.empty())) w = replicator.poll();
        else {
            long now = System.nanoTime();
            if (now - lastReplicatorPoll >= REPLICATOR_IDLE_POLL_NANOS) { // connection upkeep, health, timeouts, trims
                lastReplicatorPoll = now;
                w = replicator.poll();
            }
        }
        if (batchAwaitsReplicas && replicator.status() != io.dsf.stargate.replication.BatchReplicator.PENDING) {
            batchAwaitsReplicas = false;
            onBatchDurable(0);
            w++;
        }
        return w;
    }

    /** Live OpLog blocks of vBlock {@code vb}. */
    int liveBlocks(long vb) {
        int slot = (int) vbSlot.get(vb);
        return slot == 0 ? 0 : liveCount[slot - 1];
    }

    /** Marks {@code block} as having an index entry (it had none). */
    private void liveAdd(long block) {
        long vb = block >>> 8;
        int slot = (int) vbSlot.get(vb) - 1;
        if (slot < 0) {
            if (freeSlotTop > 0) slot = freeSlots[--freeSlotTop];
            else {
                if (slotsMade == liveCount.length) { // more vBlocks live at once than ever before
                    liveCount = java.util.Arrays.copyOf(liveCount, slotsMade * 2);
                    liveBits = java.util.Arrays.copyOf(liveBits, slotsMade * 8);
                    freeSlots = java.util.Arrays.copyOf(freeSlots, slotsMade * 2);
                }
                slot = slotsMade++;
            }
            vbSlot.put(vb, slot + 1);
        }
        int k = (int) block & (BLOCKS_PER_VB - 1);
        liveBits[slot * 4 + (k >>> 6)] |= 1L << k;
        liveCount[slot]++;
    }

    /** Marks {@code block} as having no index entry any more (it had one). */
    private void liveRemove(long block) {
        long vb = block >>> 8;
        int slot = (int) vbSlot.get(vb) - 1;
        int k = (int) block & (BLOCKS_PER_VB - 1);
        liveBits[slot * 4 + (k >>> 6)] &= ~(1L << k);
        if (--liveCount[slot] == 0) {
            vbSlot.remove(vb);
            freeSlots[freeSlotTop++] = slot;
        }
    }

    private void putIndex(long block, long nl, Segment s) {
        long old = oplogIndex.put(block, nl);
        if (old == MISSING) liveAdd(block);
        else dropLoc(old);
        s.live++;
    }

    /** Accounts for an OpLog location that no longer holds the newest data of its block. */
    private void dropLoc(long old) {
        Segment os = segs[locSlot(old)];
        if (--os.live == 0 && os != current) freeSegment(os);
    }

    private void removeIndex(long block) {
        long old = oplogIndex.remove(block);
        if (old == MISSING) return;
        liveRemove(block);
        dropLoc(old);
    }

    private void freeSegment(Segment s) {
        s.dead = true;
        releaseDeadSegments();
    }

    /**
     * Deletes dead segments oldest first, stopping at the first one still live. Order matters: an
     * entry drained in place leaves no trace in the block map, so if a newer segment's delete were
     * durable while an older one's was lost to a crash, the older segment's stale entries would
     * replay over the drained data. Deletes are issued in segment order and the store's journal
     * keeps their order, so a lost delete only ever resurrects a suffix of the newest deletes.
     */
    private void releaseDeadSegments() {
        while (true) {
            Segment oldest = null;
            for (int i = 0; i < MAX_SEGMENTS; i++) {
                Segment c = segs[i];
                if (c != null && (oldest == null || c.number < oldest.number)) oldest = c;
            }
            if (oldest == null || !oldest.dead) return;
            segs[oldest.slot] = null;
            segCount--;
            statSegmentsFreed++;
            StoreObject obj = oldest.obj;
            defer(() -> node.store.delete(obj));
        }
    }

    // ========================================================= direct writes

    // ------------------------------------------------ never-written blocks of new extents
    /**
     * Blocks of extents allocated by this shard in this run that were never written (bit set =
     * written). A write straight into an extent must only touch never-written blocks: an
     * unacknowledged in-place overwrite that a crash tears would leave the store's slice lost (it
     * reads as a checksum error), destroying the block's previous, acknowledged data. Overwrites
     * go through the OpLog, which keeps the data until the in-place drain is durable. Extents not
     * tracked here (older, or beyond the cap) count as fully written.
     */
    private final org.agrona.collections.Long2ObjectHashMap<long[]> fresh = new org.agrona.collections.Long2ObjectHashMap<>();
    /** vBlocks whose extent a direct write allocated and no durable map record names yet. */
    private final LongHashSet unlogged = new LongHashSet();
    private static final int FRESH_CAP = 1 << 15;

    private void trackFresh(long ext) {
        if (fresh.size() < FRESH_CAP) fresh.put(ext, new long[BLOCKS_PER_VB / 64]);
    }

    /** True when blocks [first, first + n) of {@code ext} (indexes within the extent) were never written. */
    private boolean neverWritten(long ext, int first, int n) {
        long[] w = fresh.get(ext);
        if (w == null) return false;
        for (int b = first; b < first + n; b++) if ((w[b >>> 6] & (1L << b)) != 0) return false;
        return true;
    }

    private void markWritten(long ext, int first, int n) {
        long[] w = fresh.get(ext);
        if (w == null) return;
        for (int b = first; b < first + n; b++) w[b >>> 6] |= 1L << b;
        for (long x : w) if (x != -1L) return;
        fresh.remove(ext); // full: nothing left to track
    }

    /** {@link #tryDirect}: not a direct write (through the OpLog), handled, or a direct write that must wait its turn. */
    private static final int DIRECT_NO = 0, DIRECT_DONE = 1, DIRECT_WAIT = 2;

    /**
     * The write characterizer's bypass: a write to never-written blocks of a vBlock with no OpLog data,
     * while more than the bypass threshold is outstanding, goes straight to its extent. On a
     * replicating shard it must reach the peers too: it becomes a <em>direct batch</em>, an OpLog batch
     * of its own that is replicated like any (data in place, so replicas and takeovers see an ordinary
     * entry with its sequence number) while locally only its header page is written, flagged
     * {@link Formats#FLAG_DIRECT}, and the data goes to the extent; the write completes when both the
     * batch (header durable, RF-1 acknowledgements) and the extent (data and map record durable) are
     * done. A direct batch is the flight batch alone, so it waits (DIRECT_WAIT) for the OpLog's
     * batches to be out of the way, and no write joins the open buffer while it sits there.
     */
    private int tryDirect(Req r) {
        if (vd.outstanding.sum() <= node.options.bypassBytes()) return DIRECT_NO;
        long vb = r.offset >>> VB_SHIFT;
        if (liveBlocks(vb) > 0 || draining(vb) || shared.contains(vb)) return DIRECT_NO;
        long ext = mapExt.get(vb);
        int firstInVb = (int) ((r.offset >>> BLOCK_SHIFT) & (BLOCKS_PER_VB - 1)), nBlocks = (int) (r.length >>> BLOCK_SHIFT);
        boolean hasExt = ext != MISSING && ext != ExtentTable.NONE;
        if (hasExt && !neverWritten(ext, firstInVb, nBlocks)) return DIRECT_NO; // an overwrite: through the OpLog
        boolean replicated = replicator != null;
        if (replicated) {
            if (nBlocks > Formats.OPLOG_MAX_DATA_SLICES) return DIRECT_NO;
            if (!open.empty() || !flight.empty()) return DIRECT_WAIT;
        }
        int id = replicated ? -1 : acquireFor(r.length);
        if (!replicated && id < 0) return DIRECT_NO;
        MemorySegment buf = replicated ? open.data : bufferOf(id);
        if (!copyIn(r, 0, buf, 0, (int) r.length)) { // before any state changes: this request fails alone
            if (id >= 0) releaseBuffer(id);
            complete(r, r.status);
            return DIRECT_DONE;
        }
        if (!hasExt) {
            try {
                ext = node.extents.allocate(openGroup);
            } catch (RuntimeException e) {
                if (id >= 0) releaseBuffer(id);
                complete(r, VDiskStatus.NO_SPACE);
                return DIRECT_DONE;
            }
            trackFresh(ext);
            mapExt.put(vb, ext);
            unlogged.add(vb); // the mapping exists in memory only until a map record for it is durable
        }
        markWritten(ext, firstInVb, nBlocks);
        r.bufId = id;
        r.vb = vb;
        r.ext = ext;
        directInflight.put(vb, directInflight.get(vb) + 1);
        long inVb = r.offset & (StargateOptions.VBLOCK - 1);
        StoreObject eg = node.extents.object(ExtentTable.groupId(ext));
        r.pending = 1;
        r.cursor = r.offset + r.length;
        statBypassWrites++;
        if (replicated) { // the direct batch: one entry, its data in the open buffer's slices (sent as is, then to the extent)
            r.rdirect = true;
            r.pending = 2; // the batch's half and the extent's half
            Batch b = open;
            b.direct = true;
            b.count = 1;
            b.seq[0] = nextSeq++;
            b.block[0] = r.offset >>> BLOCK_SHIFT;
            b.nBlocks[0] = nBlocks;
            b.flags[0] = 0;
            b.dataCrc[0] = Formats.crc(b.view, BLOCK, (int) r.length, crc);
            b.dataSlice[0] = 0;
            b.req[0] = r.id;
            b.dataSlices = nBlocks;
            flushBatch(); // flight is empty: it goes now (or once a segment has room)
        }
        int st = submitWrite(eg, ExtentTable.byteOffset(ext) + inVb, buf, (int) r.length, T_DIRECT_WRITE | r.id);
        if (st != StoreChannel.ACCEPTED) onDirectWritten(r, st);
        return DIRECT_DONE;
    }

    /**
     * One half of a replicated direct write is done (the batch, or the extent with its map record);
     * the second completes the write and frees the flight buffer, which held its data until then.
     */
    private void directPart(Req r, int status) {
        if (status != VDiskStatus.OK && r.status == VDiskStatus.OK) r.status = status;
        if (--r.pending > 0) return;
        Batch b = flight.direct && flight.req[0] == r.id ? flight : open; // open only if its batch never left (no segment room)
        b.count = 0;
        b.dataSlices = 0;
        b.direct = false;
        r.rdirect = false;
        complete(r, r.status);
        flushBatch();
    }

    /** Where a direct write's data sits in memory: its own buffer, or (replicated) its batch's data slices. */
    private MemorySegment directData(Req r) {
        if (!r.rdirect) return bufferOf(r.bufId);
        Batch b = flight.direct && flight.req[0] == r.id ? flight : open;
        return b.data;
    }

    private void onDirectWritten(Req r, int st) {
        if (st < 0) {
            finishDirect(r, mapStatus(st));
            return;
        }
        // The record makes the extent reachable; it must not raise the vBlock's replay floor: that
        // says "every OpLog entry of the vBlock up to here is in the extent", which only a drain
        // (copying all of them) can claim, while OpLog writes to other blocks of the vBlock may be
        // in flight with lower sequence numbers than this write's.
        mapAppend(r.vb, r.ext, Math.max(0, mapSeq.get(r.vb)), T_DIRECT_WRITE | r.id);
    }

    private void finishDirect(Req r, int status) {
        long n = directInflight.get(r.vb) - 1;
        if (n <= 0) directInflight.remove(r.vb);
        else directInflight.put(r.vb, n);
        if (status == VDiskStatus.OK) {
            unlogged.remove(r.vb);
        } else if (n <= 0 && unlogged.remove(r.vb)) {
            // A new extent no durable record names: forget it, or an in-place drain would write
            // acknowledged data into an extent that recovery never finds.
            long ext = mapExt.get(r.vb);
            if (mapSeq.containsKey(r.vb)) mapExt.put(r.vb, ExtentTable.NONE); // a tombstone was logged before
            else mapExt.remove(r.vb);
            fresh.remove(ext);
            node.extents.decref(ext);
        }
        if (status == VDiskStatus.OK && cache != null && liveBlocks(r.vb) > 0) {
            // newer OpLog data of the vBlock may be cached already: never let the direct data replace it
            cache.invalidateRange(vdiskId, r.offset >>> BLOCK_SHIFT, r.length >>> BLOCK_SHIFT);
        } else if (status == VDiskStatus.OK) {
            if (cache != null) cache.write(vdiskId, r.offset >>> BLOCK_SHIFT, (int) (r.length >>> BLOCK_SHIFT), directData(r), 0);
        }
        if (r.rdirect) { // the batch's sequence: a pass that read the vBlock before this write must not write over it
            Batch b = flight.direct && flight.req[0] == r.id ? flight : open;
            if (status == VDiskStatus.OK && b.seq[0] > drainedSeq.get(r.vb)) drainedSeq.put(r.vb, b.seq[0]);
            directPart(r, status);
            return;
        }
        releaseBuffer(r.bufId);
        r.bufId = -1;
        r.pending = 0;
        complete(r, status);
    }

    // ====================================================== block-map log

    /** Queues a map record; {@code waiter} (a tag) resumes once it is durable. */
    private void mapAppend(long vb, long ext, long seq, long waiter) {
        if (mapPending == Formats.MAP_MAX_ENTRIES) {
            // the page is full and one is in flight: records wait in memory (rare, bounded by waiters)
            overflow.add(new long[]{vb, ext, seq, waiter});
            return;
        }
        Formats.putMapEntry(mapPage, mapPending++, vb, ext, seq);
        mapWaitersFill.addLong(waiter);
        flushMap();
    }

    private final ArrayList<long[]> overflow = new ArrayList<>();

    private void flushMap() {
        if (mapFlight || mapPending == 0) return;
        if (mapPos + Formats.PAGE > mapObj.size()) checkpointMap();
        Formats.putMapHeader(mapPage, mapObj.id(), mapPageSeq, mapPending, 0);
        Formats.sealPage(mapPage, 4, mapView, 0, crc);
        MemorySegment p = mapPage;
        ByteBuffer v = mapView;
        mapPage = mapFlightPage;
        mapView = mapFlightView;
        mapFlightPage = p;
        mapFlightView = v;
        mapPending = 0;
        mapFlight = true;
        mapWaitersFlight.clear();
        mapWaitersFlight.addAll(mapWaitersFill);
        mapWaitersFill.clear();
        int st = submitWrite(mapObj, mapPos, mapFlightPage, Formats.PAGE, T_MAP_WRITE);
        if (st != StoreChannel.ACCEPTED) onMapWritten(st);
    }

    private void onMapWritten(int st) {
        if (st < 0) {
            onMapDurable(st);
            return;
        }
        int s2 = submitSync(T_MAP_SYNC);
        if (s2 != StoreChannel.ACCEPTED) onMapDurable(s2);
    }

    private void onMapDurable(int st) {
        mapFlight = false;
        int status = mapStatus(st);
        if (st >= 0) {
            mapPos += Formats.PAGE;
            mapPageSeq++;
        }
        for (int i = 0; i < mapWaitersFlight.size(); i++) {
            long w = mapWaitersFlight.getLong(i);
            long kind = w & ~PAYLOAD;
            if (kind == T_DIRECT_WRITE) finishDirect(reqs[(int) (w & PAYLOAD)], status);
            else if (kind == T_DRAIN_SYNC) onDrainDurable((int) (w & PAYLOAD), st < 0 ? st : 0);
        }
        mapWaitersFlight.clear();
        while (!overflow.isEmpty() && mapPending < Formats.MAP_MAX_ENTRIES) {
            long[] o = overflow.remove(0);
            Formats.putMapEntry(mapPage, mapPending++, o[0], o[1], o[2]);
            mapWaitersFill.addLong(o[3]);
        }
        flushMap();
    }

    /** Writes the whole map into a new map-log object, makes it durable, drops the old one. Blocking; rare. */
    private void checkpointMap() {
        long entries = mapExt.size();
        long pages = (entries + Formats.MAP_MAX_ENTRIES - 1) / Formats.MAP_MAX_ENTRIES + 1;
        long size = Math.max(16L << 20, ((pages * 4 * Formats.PAGE) + StargateOptions.VBLOCK - 1) / StargateOptions.VBLOCK * StargateOptions.VBLOCK);
        StoreObject old = mapObj;
        long gen = mapGen + 1;
        StoreObject obj = node.store.create(0, size, Catalog.mapAttrs(vdiskId, index, gen));
        MemorySegment page = ckptPage; // its own page: the shard's buffer pools may be all in use here
        ByteBuffer view = page.asByteBuffer();
        long pos = 0, pageSeq = 0;
        int n = 0;
        var it = mapExt.entrySet().iterator();
        while (true) {
            boolean more = it.hasNext();
            if (more) {
                it.next();
                long vb = it.getLongKey();
                Formats.putMapEntry(page, n++, vb, it.getLongValue(), mapSeq.get(vb));
            }
            if (n == Formats.MAP_MAX_ENTRIES || !more) {
                Formats.putMapHeader(page, obj.id(), pageSeq, n, more ? 0 : Formats.MAP_FLAG_CHECKPOINT_END);
                Formats.sealPage(page, 4, view, 0, crc);
                ch.writeBlocking(obj, pos, page, Formats.PAGE);
                pos += Formats.PAGE;
                pageSeq++;
                n = 0;
                if (!more) break;
            }
        }
        ch.syncBlocking();
        mapObj = obj;
        mapGen = gen;
        mapPos = pos;
        mapPageSeq = pageSeq;
        if (old != null) {
            node.store.delete(old);
        }
    }

    // ================================================================ drain

    private int drainStep() {
        if (dIssue != null) { // a phase of the round in progress still has I/O to submit
            dIssue.run(); // its hold on dIos goes once the phase is all out
            return 1;
        }
        if (dState != D_IDLE || oplogIndex.isEmpty() || (stopping && !drainAll)) return 0;
        StargateOptions o = node.options;
        long maxSegs = o.oplogShardBytes() / o.oplogSegmentBytes();
        boolean pressure = drainAll || pendHead != null
                || segCount >= Math.max(2, (long) (maxSegs * o.drainStartFraction()))
                || node.indexBudget.get() < 4096;
        if (!pressure) {
            boolean idleNow = ring.getCursor() == poller.getSequence().get() && readHead == null && open.empty() && flight.empty();
            if (!idleNow) return 0;
            long now = System.nanoTime();
            if (quietSince == 0) quietSince = now;
            if (now - quietSince < o.idleDrainNanos()) return 0; // a pause between two requests is not idleness
        }
        return startDrainRound() ? 1 : 0;
    }

    /**
     * When the shard last became idle with OpLog data below the threshold (0: a request came since).
     * It drains only after {@link StargateOptions#idleDrainNanos} of that: draining at the first idle
     * instant put a round's submissions (up to 256 reads, then 256 writes, executed at submission on
     * mem, null and file devices) in front of the next request of a QD1 writer: its p50 on vdisk:mem
     * was 16-18 us, with the pause 3.1-3.6 us (bench/README.md).
     */
    private long quietSince;

    /**
     * Most drain I/Os submitted per loop turn: between two slices the shard takes new requests, so
     * a round (up to 512 submissions) does not stall them. Backends that execute at submission (mem,
     * null, file) spend about a microsecond per 4 KiB submission.
     */
    static final int DRAIN_IOS_PER_TURN = 16;
    /**
     * The round in progress is a span round ({@link #startSpanRound}): blocks {@code [0, dN)} of one
     * stretch of a segment, read with one I/O, each written in place into {@link #dExtB}'s extent.
     */
    private boolean dSpan;
    private int dSpanStatus;
    private final long[] dExtB = new long[BLOCKS_PER_VB];
    private final Runnable issueSpan = this::issueSpanWrites;
    /** A span round needs at least this many live blocks, and a quarter of the stretch it reads. */
    static final int SPAN_MIN_BLOCKS = 16;
    /** Stretches a span round looks at before leaving the turn to a vBlock round. */
    private static final int SPAN_WINDOWS_PER_TRY = 4;
    long statSpanRounds;

    /** The phase whose submissions are in progress ({@link #issueDrainReads}, {@link #issueDrainWrites} or {@link #issueSpanWrites}), or null. */
    private Runnable dIssue;
    /** Where the phase in progress goes on: vBlock index of the round and block index within it. */
    private int dIssueV, dIssueI;
    private final Runnable issueReads = this::issueDrainReads, issueWrites = this::issueDrainWrites;

    /** Whether vBlock {@code vb} is part of the drain round in progress. */
    private boolean draining(long vb) {
        if (dState == D_IDLE) return false;
        if (dSpan) {
            for (int i = 0; i < dN; i++) if (dBlock[i] >>> 8 == vb) return true;
            return false;
        }
        for (int v = 0; v < dV; v++) if (dVbs[v] == vb) return true;
        return false;
    }

    /** The next vBlock with live OpLog data, oldest segment first (a vBlock the round could not take comes first). */
    private long pickDrainVBlock() {
        if (dCarry >= 0) {
            long vb = dCarry;
            dCarry = -1;
            if (liveBlocks(vb) > 0 && directInflight.get(vb) == 0 && !draining(vb)) return vb;
        }
        for (int guard = 0; guard < 4096; guard++) {
            if (dScanSeg == null || segs[dScanSeg.slot] != dScanSeg || dScanPos >= dScanSeg.vblocks.size()) {
                dScanSeg = oldestSegmentWithData();
                dScanPos = 0;
                if (dScanSeg == null) break;
            }
            if (dScanPos >= dScanSeg.vblocks.size()) continue; // a segment with nothing durable yet
            long vb = dScanSeg.vblocks.getLong(dScanPos++);
            if (liveBlocks(vb) > 0 && directInflight.get(vb) == 0 && !draining(vb)) return vb;
        }
        // a safety net: any vBlock with live entries
        for (var it = vbSlot.keySet().iterator(); it.hasNext(); ) {
            long vb = it.nextValue();
            if (directInflight.get(vb) == 0 && !draining(vb)) return vb;
        }
        return -1;
    }

    private Segment oldestSegmentWithData() {
        Segment best = null;
        for (Segment s : segs) {
            if (s == null || s.dead) continue;
            if (dScanSeg == s && dScanPos >= s.vblocks.size()) continue;
            if (best == null || s.number < best.number) best = s;
        }
        if (best == dScanSeg && best != null && dScanPos >= best.vblocks.size()) return null;
        return best;
    }

    /**
     * Starts a span round if the oldest segment's next stretch is worth one: walking its entries
     * from where the last span round stopped, a stretch of at most 256 slices (1 MiB, inside one
     * allocation unit, so no never-written gap) whose live blocks of vBlocks with a private extent
     * (in-place drains: no map record, no replay floor) are at least {@link #SPAN_MIN_BLOCKS} and a
     * quarter of it. The stretch is read with one I/O (batch headers and overwritten blocks come
     * along) and each live block written in place; one sync. Random writes leave every vBlock a
     * few blocks scattered over the OpLog, so a vBlock round reads them one by one: one device
     * read per drained block, where a span round needs one per 1 MiB. Blocks a span round leaves
     * (new or shared extents, zeros, sparse stretches) go in vBlock rounds, which also take the
     * oldest segment's stragglers once its span cursor is at its end, so segments still die oldest
     * first.
     */
    private boolean startSpanRound() {
        Segment s = null;
        for (Segment x : segs) if (x != null && !x.dead && (s == null || x.number < s.number)) s = x;
        if (s == null) return false;
        LongArrayList e = s.entries;
        int unitSlices = (int) (node.store.unitSize() >>> BLOCK_SHIFT);
        for (int w = 0; w < SPAN_WINDOWS_PER_TRY && s.spanAt < e.size(); w++) {
            int j = s.spanAt;
            int first = locSlice(e.getLong(j + 1)), last = first, n = 0;
            for (; j < e.size(); j += 2) {
                long block = e.getLong(j), l = e.getLong(j + 1);
                int sl = locSlice(l);
                if (sl - first >= BLOCKS_PER_VB || sl / unitSlices != first / unitSlices) break;
                if (oplogIndex.get(block) != l) continue; // overwritten, or drained since
                long vb = block >>> 8;
                long ext = mapExt.get(vb);
                if (ext == MISSING || ext == ExtentTable.NONE || shared.contains(vb) || directInflight.get(vb) != 0) continue;
                dBlock[n] = block;
                dLoc[n] = l;
                dPos[n] = sl - first;
                dExtB[n] = ext;
                n++;
                last = sl;
            }
            s.spanAt = j;
            if (n < SPAN_MIN_BLOCKS || n * 4 < last - first + 1) continue; // sparse: left to vBlock rounds
            dSpan = true;
            dSpanStatus = 0;
            dN = n;
            dV = 0;
            dStatus = 0;
            dRoundCow = false;
            long prev = -1;
            for (int i = 0; i < n; i++) {
                if (dBlock[i] >>> 8 != prev) statDrains++;
                prev = dBlock[i] >>> 8;
            }
            statDrainRounds++;
            statSpanRounds++;
            dState = D_READ;
            dIos = 1;
            int st = submitRead(s.obj, (long) first << BLOCK_SHIFT, dBuf, (last - first + 1) << BLOCK_SHIFT, T_DRAIN_IO, dCrc, 0);
            if (st == StoreChannel.ACCEPTED) dIos++;
            else dStatus = st;
            onDrainIo(0);
            return true;
        }
        return false;
    }

    /** Submits up to {@link #DRAIN_IOS_PER_TURN} in-place writes of the span round (adjacent blocks merged). */
    private void issueSpanWrites() {
        int budget = DRAIN_IOS_PER_TURN;
        int i = dIssueI;
        while (i < dN) {
            if (budget == 0) {
                dIssueI = i;
                return;
            }
            long ext = dExtB[i];
            int j = i + 1;
            while (j < dN && dExtB[j] == ext && dBlock[j] == dBlock[i] + (j - i) && dPos[j] == dPos[i] + (j - i)) j++;
            StoreObject eg = node.extents.object(ExtentTable.groupId(ext));
            if (eg == null) {
                if (dStatus == 0) dStatus = StoreStatus.NO_OBJECT.code();
            } else {
                long inVb = (dBlock[i] & (BLOCKS_PER_VB - 1)) << BLOCK_SHIFT;
                markWritten(ext, (int) (inVb >>> BLOCK_SHIFT), j - i);
                int st = submitWrite(eg, ExtentTable.byteOffset(ext) + inVb, sliceOf(dBufId, dPos[i]), (j - i) << BLOCK_SHIFT, T_DRAIN_IO, dCrc, dPos[i]);
                if (st == StoreChannel.ACCEPTED) dIos++;
                else if (dStatus == 0) dStatus = st;
            }
            budget--;
            i = j;
        }
        dIssue = null;
        onDrainIo(0);
    }

    /**
     * Starts a drain round: up to {@link #DRAIN_MAX_VBLOCKS} vBlocks whose live blocks fit the drain
     * buffer together (packed, in block order), or one vBlock alone when it needs a copy-on-write
     * (its whole 1 MiB is rewritten). The round's in-place writes share one sync and its map records
     * one group commit; every vBlock's index entries are dropped only once its own data and record
     * are durable. False when there was nothing to start.
     */
    private boolean startDrainRound() {
        if (startSpanRound()) return true;
        dN = 0;
        dV = 0;
        dStatus = 0;
        dRoundCow = false;
        while (dV < DRAIN_MAX_VBLOCKS && dN < BLOCKS_PER_VB) {
            dState = D_READ; // so that draining() sees the vBlocks taken so far
            long vb = pickDrainVBlock();
            dState = D_IDLE;
            if (vb < 0) break;
            int live = liveBlocks(vb);
            long old = mapExt.get(vb);
            boolean hasExt = old != MISSING && old != ExtentTable.NONE;
            boolean tomb = live == BLOCKS_PER_VB && allZeroEntries(vb);
            boolean cow = !tomb && hasExt && shared.contains(vb);
            if (live > BLOCKS_PER_VB - dN || (cow && dV > 0)) { // the next round starts with it
                dCarry = vb;
                break;
            }
            int kind = tomb ? K_TOMB : !hasExt ? K_NEW : cow ? K_COW : K_IN_PLACE;
            long target = old;
            if (kind == K_NEW || kind == K_COW) {
                try {
                    target = node.extents.allocate(openGroup);
                } catch (RuntimeException e) {
                    statBackPressure++;
                    dCarry = vb;
                    break;
                }
                if (kind == K_NEW) trackFresh(target);
            }
            int v = dV++;
            dVbs[v] = vb;
            dKind[v] = kind;
            dOldV[v] = old;
            dTargetV[v] = kind == K_TOMB ? ExtentTable.NONE : target;
            dFirst[v] = dN;
            long maxSeq = 0;
            int slot = (int) vbSlot.get(vb) - 1;
            long b0 = vb << 8;
            for (int w = 0; w < 4; w++) {
                long bits = liveBits[slot * 4 + w];
                while (bits != 0) {
                    int k = w * 64 + Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                    long l = oplogIndex.get(b0 + k);
                    dBlock[dN] = b0 + k;
                    dLoc[dN] = l;
                    dPos[dN] = kind == K_COW ? k : dN; // a COW round lays the vBlock out as it is in the extent
                    dN++;
                    maxSeq = Math.max(maxSeq, locSeq(l));
                }
            }
            dEnd[v] = dN;
            dMaxSeqV[v] = maxSeq;
            dVStatus[v] = 0;
            if (kind == K_COW) {
                dRoundCow = true;
                break;
            }
        }
        if (dV == 0) return false;
        statDrains += dV;
        statDrainRounds++;
        dIos = 1;
        if (dRoundCow) {
            statCowDrains++;
            dState = D_COW;
            long old = dOldV[0];
            StoreObject eg = node.extents.object(ExtentTable.groupId(old));
            int st = eg == null ? StoreStatus.NO_OBJECT.code() : submitRead(eg, ExtentTable.byteOffset(old), dBuf, StargateOptions.VBLOCK, T_DRAIN_IO, dCrc, 0);
            if (st == StoreChannel.ACCEPTED) dIos++;
            else dStatus = st;
            onDrainIo(0);
        } else {
            dState = D_READ;
            startDrainReads();
        }
        return true;
    }

    /** Whether every live entry of {@code vb} is a write-zeroes entry. */
    private boolean allZeroEntries(long vb) {
        long b0 = vb << 8;
        for (int k = 0; k < BLOCKS_PER_VB; k++) if (!isZero(oplogIndex.get(b0 + k))) return false;
        return true;
    }

    private void onDrainIo(int st) {
        if (st < 0 && dStatus == 0) dStatus = st;
        if (--dIos > 0) return;
        if (dStatus < 0) {
            for (int v = 0; v < dV; v++) dVStatus[v] = dStatus;
            finishDrainRound();
            return;
        }
        if (dState == D_COW) {
            dState = D_READ;
            dIos = 1;
            startDrainReads();
            return;
        }
        if (dState == D_READ) {
            dState = D_WRITE;
            dIos = 1; // the phase's hold, released once its last write is submitted
            dIssueV = 0;
            if (dSpan) {
                dIssueI = 0;
                dIssue = issueSpan;
                issueSpanWrites();
                return;
            }
            dIssueI = dV > 0 ? dFirst[0] : 0;
            dIssue = issueWrites;
            issueDrainWrites();
            return;
        }
        if (dState == D_WRITE) {
            dState = D_DURABLE;
            dDurable = 1; // held until every record and the sync are issued
            boolean inPlace = dSpan; // a span round writes in place only
            for (int v = 0; v < dV; v++) {
                if (dKind[v] == K_IN_PLACE) {
                    inPlace = true;
                    continue;
                }
                dDurable++;
                long seq = dKind[v] == K_TOMB ? dMaxSeqV[v] : Math.max(dMaxSeqV[v], mapSeq.get(dVbs[v]));
                mapAppend(dVbs[v], dTargetV[v], seq, T_DRAIN_SYNC | (v + 1));
            }
            if (inPlace) {
                dDurable++;
                int s2 = submitSync(T_DRAIN_SYNC);
                if (s2 != StoreChannel.ACCEPTED) onDrainDurable(0, s2);
            }
            onDrainDurable(-1, 0);
        }
    }

    /** Starts the read phase (the caller holds one count of {@link #dIos} for it). */
    private void startDrainReads() {
        dIssueV = 0;
        dIssueI = dV > 0 ? dFirst[0] : 0;
        dIssue = issueReads;
        issueDrainReads();
    }

    /** Submits up to {@link #DRAIN_IOS_PER_TURN} reads of the round's OpLog data (adjacent slices merged). */
    private void issueDrainReads() {
        int budget = DRAIN_IOS_PER_TURN;
        for (int v = dIssueV; v < dV; v++) {
            if (dKind[v] == K_TOMB) continue; // nothing to read or write: a map record alone
            int i = Math.max(dIssueI, dFirst[v]), end = dEnd[v];
            while (i < end) {
                if (budget == 0) {
                    dIssueV = v;
                    dIssueI = i;
                    return;
                }
                long l = dLoc[i];
                if (isZero(l)) {
                    Zero.fill(dBuf, (long) dPos[i] << BLOCK_SHIFT, BLOCK);
                    dCrc[dPos[i]] = ZERO_BLOCK_CRC;
                    i++;
                    continue;
                }
                int j = i + 1;
                while (j < end && !isZero(dLoc[j]) && locSlot(dLoc[j]) == locSlot(l) && locSlice(dLoc[j]) == locSlice(l) + (j - i)
                        && dPos[j] == dPos[i] + (j - i)) j++;
                int st = submitRead(segs[locSlot(l)].obj, (long) locSlice(l) << BLOCK_SHIFT,
                        sliceOf(dBufId, dPos[i]), (j - i) << BLOCK_SHIFT, T_DRAIN_IO, dCrc, dPos[i]);
                if (st == StoreChannel.ACCEPTED) dIos++;
                else if (dStatus == 0) dStatus = st;
                budget--;
                i = j;
            }
            dIssueI = 0;
        }
        dIssue = null;
        onDrainIo(0);
    }

    /** Submits up to {@link #DRAIN_IOS_PER_TURN} extent writes of the round (adjacent blocks merged). */
    private void issueDrainWrites() {
        int budget = DRAIN_IOS_PER_TURN;
        for (int v = dIssueV; v < dV; v++) {
            int kind = dKind[v];
            if (kind == K_TOMB) continue;
            long target = dTargetV[v];
            StoreObject eg = node.extents.object(ExtentTable.groupId(target));
            long base = ExtentTable.byteOffset(target);
            if (eg == null) {
                if (dStatus == 0) dStatus = StoreStatus.NO_OBJECT.code();
                continue;
            }
            if (kind == K_COW) {
                int st = submitWrite(eg, base, dBuf, StargateOptions.VBLOCK, T_DRAIN_IO, dCrc, 0);
                if (st == StoreChannel.ACCEPTED) dIos++;
                else if (dStatus == 0) dStatus = st;
                continue;
            }
            int i = Math.max(dIssueI, dFirst[v]), end = dEnd[v];
            while (i < end) {
                if (budget == 0) {
                    dIssueV = v;
                    dIssueI = i;
                    return;
                }
                int j = i + 1;
                while (j < end && dBlock[j] == dBlock[i] + (j - i) && dPos[j] == dPos[i] + (j - i)) j++;
                long inVb = (dBlock[i] & (BLOCKS_PER_VB - 1)) << BLOCK_SHIFT;
                markWritten(target, (int) (inVb >>> BLOCK_SHIFT), j - i);
                int st = submitWrite(eg, base + inVb, sliceOf(dBufId, dPos[i]), (j - i) << BLOCK_SHIFT, T_DRAIN_IO, dCrc, dPos[i]);
                if (st == StoreChannel.ACCEPTED) dIos++;
                else if (dStatus == 0) dStatus = st;
                budget--;
                i = j;
            }
            dIssueI = 0;
        }
        dIssue = null;
        onDrainIo(0);
    }

    /**
     * A durability answer of the round: {@code part} 0 is the sync of the in-place writes, v + 1 the
     * map record of vBlock v, -1 the round's own hold. The round finishes with the last one.
     */
    private void onDrainDurable(int part, int st) {
        if (st < 0 && dSpan && dSpanStatus == 0) dSpanStatus = st;
        if (st < 0) {
            if (part == 0) {
                for (int v = 0; v < dV; v++) if (dKind[v] == K_IN_PLACE && dVStatus[v] == 0) dVStatus[v] = st;
            } else if (part > 0 && dVStatus[part - 1] == 0) dVStatus[part - 1] = st;
        }
        if (--dDurable > 0) return;
        finishDrainRound();
    }

    /**
     * Ends the round: each vBlock whose data (and record) is durable drops the index entries that
     * still point where it read them and takes its new extent; a vBlock that failed keeps its OpLog
     * entries (drained again later) and gives back the extent it allocated.
     */
    private void finishDrainRound() {
        if (dSpan) {
            finishSpanRound();
            return;
        }
        int fatal = 0;
        for (int v = 0; v < dV; v++) {
            long vb = dVbs[v];
            int kind = dKind[v];
            int st = dVStatus[v];
            if (st < 0) {
                if (kind == K_NEW || kind == K_COW) {
                    fresh.remove(dTargetV[v]);
                    node.extents.decref(dTargetV[v]);
                }
                statBackPressure++;
                if (st == StoreStatus.CLOSED.code() || st == StoreStatus.FAILED.code()) fatal = st;
                continue;
            }
            for (int i = dFirst[v]; i < dEnd[v]; i++) {
                if (oplogIndex.get(dBlock[i]) == dLoc[i]) removeIndex(dBlock[i]);
            }
            statDrainedBlocks += dEnd[v] - dFirst[v];
            if (dMaxSeqV[v] > drainedSeq.get(vb)) drainedSeq.put(vb, dMaxSeqV[v]);
            if (kind != K_IN_PLACE) {
                mapExt.put(vb, dTargetV[v]);
                if (dMaxSeqV[v] > mapSeq.get(vb)) mapSeq.put(vb, dMaxSeqV[v]);
                shared.remove(vb);
                long old = dOldV[v];
                if (old != MISSING && old != ExtentTable.NONE) {
                    fresh.remove(old);
                    defer(() -> node.extents.decref(old));
                }
            }
        }
        dState = D_IDLE;
        dV = 0;
        releaseBudget();
        if (fatal != 0) throw new IllegalStateException("store failed during drain: " + StoreStatus.describe(fatal));
    }

    /** Ends a span round: once its writes and their sync are durable, each block whose index entry is still the one read leaves the index. */
    private void finishSpanRound() {
        int st = dStatus < 0 ? dStatus : dSpanStatus;
        int fatal = 0;
        if (st < 0) { // nothing leaves the index: those blocks are drained again later
            statBackPressure++;
            if (st == StoreStatus.CLOSED.code() || st == StoreStatus.FAILED.code()) fatal = st;
        } else {
            for (int i = 0; i < dN; i++) {
                long b = dBlock[i], l = dLoc[i];
                if (oplogIndex.get(b) != l) continue; // written again meanwhile: the newer entry stays
                long vb = b >>> 8;
                removeIndex(b);
                if (locSeq(l) > drainedSeq.get(vb)) drainedSeq.put(vb, locSeq(l));
            }
            statDrainedBlocks += dN;
        }
        dSpan = false;
        dState = D_IDLE;
        dN = 0;
        releaseBudget();
        if (fatal != 0) throw new IllegalStateException("store failed during drain: " + StoreStatus.describe(fatal));
    }

    // ============================================================ snapshots

    /** Copies the (fully drained) map for a snapshot or clone and marks every extent shared. */
    private void snapshotMap(Req r) {
        ShardState copy = (ShardState) r.arg;
        for (var it = mapExt.entrySet().iterator(); it.hasNext(); ) {
            it.next();
            long vb = it.getLongKey(), ext = it.getLongValue();
            copy.mapExt.put(vb, ext);
            long sq = mapSeq.get(vb);
            if (sq != -1) copy.mapSeq.put(vb, sq);
            if (ext != ExtentTable.NONE) {
                node.extents.incref(ext); // counted here, on the owner thread, so no COW can free it first
                shared.add(vb);
            }
        }
        copy.nextSeq = nextSeq;
        complete(r, VDiskStatus.OK);
    }

    // ========================================================= deferred frees

    private void defer(Runnable r) {
        deferred[epoch].add(r);
    }

    private void maintainEpochs() {
        int old = epoch ^ 1;
        if (readsInEpoch[old] == 0 && !deferred[old].isEmpty()) {
            List<Runnable> l = deferred[old];
            for (int i = 0; i < l.size(); i++) l.get(i).run();
            l.clear();
        }
        if (!deferred[epoch].isEmpty() && deferred[old].isEmpty() && readsInEpoch[old] == 0) epoch = old;
    }

    // ============================================================= recovery

    private void recover() {
        mapObj = initial.mapObj;
        mapGen = initial.mapGen;
        mapPos = initial.mapPos;
        mapPageSeq = initial.mapPageSeq;
        for (var it = mapExt.entrySet().iterator(); it.hasNext(); ) {
            it.next();
            long ext = it.getLongValue();
            if (ext != ExtentTable.NONE && node.extents.refCount(ext) > 1) shared.add(it.getLongKey());
        }
        nextSeq = Math.max(1, initial.nextSeq);
        for (var it = mapSeq.values().iterator(); it.hasNext(); ) nextSeq = Math.max(nextSeq, it.nextValue() + 1);
        if (mapObj == null) checkpointMap(); // a new vDisk (or a clone): its first map log
        List<StoreObject> list = new ArrayList<>(initialSegments);
        list.sort((a, b) -> Long.compare(Catalog.number(node.store, a), Catalog.number(node.store, b)));
        int recId = acquireLarge();
        MemorySegment buf = large.buffer(recId & ~LARGE_FLAG);
        ByteBuffer view = buf.asByteBuffer();
        for (StoreObject obj : list) {
            long number = Catalog.number(node.store, obj);
            nextSegmentNumber = Math.max(nextSegmentNumber, number + 1);
            int slot = segCount;
            if (slot >= MAX_SEGMENTS) throw new IllegalStateException("too many OpLog segments for shard " + index + " of " + vd.name);
            Segment s = new Segment(slot, obj, number);
            segs[slot] = s;
            segCount++;
            long pos = 0, unit = node.store.unitSize();
            while (pos + Formats.PAGE <= obj.size()) {
                pos = placement(pos, Formats.PAGE);
                if (pos + Formats.PAGE > obj.size()) break;
                boolean header = readQuietly(obj, pos, buf, Formats.PAGE) && Formats.oplogHeaderValid(buf, obj.id(), view, 0, crc);
                if (!header && pos % unit != 0) { // the next batch did not fit the rest of this unit: it starts the next one
                    pos += unit - pos % unit; // (never-written slices read as zeros: no header there by chance)
                    if (pos + Formats.PAGE > obj.size()) break;
                    header = readQuietly(obj, pos, buf, Formats.PAGE) && Formats.oplogHeaderValid(buf, obj.id(), view, 0, crc);
                }
                if (!header) break;
                int slices = Formats.oplogDataSlices(buf);
                int bytes = (1 + slices) * BLOCK;
                int hdrCount = Formats.oplogCount(buf);
                if (hdrCount > 0 && (Formats.entryFlags(buf, 0) & Formats.FLAG_DIRECT) != 0) {
                    // a replicated direct write: its data is in the extent (the block map names it); only the sequence counts here
                    for (int i = 0; i < hdrCount; i++) nextSeq = Math.max(nextSeq, Formats.entrySeq(buf, i) + 1);
                    statRecoveredDirect++;
                    pos += bytes;
                    continue;
                }
                if (slices > 0 && !readQuietly(obj, pos, buf, bytes)) break;
                int count = Formats.oplogCount(buf);
                boolean ok = true;
                int dataAt = 1;
                for (int i = 0; i < count && ok; i++) {
                    int n = Formats.entryBlocks(buf, i);
                    if ((Formats.entryFlags(buf, i) & Formats.FLAG_ZERO) == 0) {
                        if (dataAt + n > 1 + slices || Formats.crc(view, dataAt * BLOCK, n << BLOCK_SHIFT, crc) != Formats.entryCrc(buf, i)) ok = false;
                        dataAt += n;
                    }
                }
                if (!ok) break;
                int firstSlice = (int) (pos >>> BLOCK_SHIFT) + 1;
                dataAt = 0;
                for (int i = 0; i < count; i++) {
                    long seq = Formats.entrySeq(buf, i), block = Formats.entryBlock(buf, i);
                    int n = Formats.entryBlocks(buf, i);
                    boolean zero = (Formats.entryFlags(buf, i) & Formats.FLAG_ZERO) != 0;
                    nextSeq = Math.max(nextSeq, seq + 1);
                    long vb = block >>> 8;
                    if (seq > mapSeq.get(vb)) { // older records are already in the extent (or superseded)
                        for (int k = 0; k < n; k++) {
                            long cur = oplogIndex.get(block + k);
                            if (cur != MISSING && locSeq(cur) > seq) continue;
                            long nl = loc(seq, slot, zero ? 0 : firstSlice + dataAt + k);
                            putIndexRecover(block + k, nl, s);
                        }
                        s.vblocks.addLong(vb);
                    }
                    if (!zero) dataAt += n;
                }
                pos += bytes;
            }
            s.writePos = obj.size(); // never append to a recovered segment
        }
        large.release(recId & ~LARGE_FLAG);
        for (int i = 0; i < MAX_SEGMENTS; i++) if (segs[i] != null && segs[i].live == 0) segs[i].dead = true;
        releaseDeadSegments();
        reserveBudgetForce(oplogIndex.size());
    }

    private void putIndexRecover(long block, long nl, Segment s) {
        if (!isZero(nl)) {
            s.entries.addLong(block);
            s.entries.addLong(nl);
        }
        long old = oplogIndex.put(block, nl);
        if (old == MISSING) liveAdd(block);
        else segs[locSlot(old)].live--;
        s.live++;
    }

    private void reserveBudgetForce(long n) {
        long chunks = (n + 1023) / 1024;
        node.indexBudget.addAndGet(-chunks * 1024);
        budgetHeld += chunks * 1024;
    }

    private boolean readQuietly(StoreObject obj, long pos, MemorySegment buf, int len) {
        try {
            ch.readBlocking(obj, pos, buf, len);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void finishStop() {
        node.indexBudget.addAndGet(budgetHeld);
        budgetHeld = 0;
        Req r = stopReq;
        stopReq = null;
        if (r != null) complete(r, VDiskStatus.OK);
    }

    /** A racy one-line picture of the shard's state, for diagnosing a stall. */
    String debugState() {
        StringBuilder b = new StringBuilder("shard ").append(index).append(": segs=").append(segCount);
        for (Segment sg : segs) if (sg != null) b.append(" [#").append(sg.number).append(sg == current ? "*" : "").append(" live=").append(sg.live).append(" pos=").append(sg.writePos).append(']');
        b.append(" index=").append(oplogIndex.size()).append(" liveVBlocks=").append(vbSlot.size()).append(" held=").append(budgetHeld)
                .append(" nodeBudget=").append(node.indexBudget.get()).append(" pend=").append(pendHead == null ? "-" : pendHead.kind + "@" + pendHead.cursor + "/" + pendHead.pending)
                .append(" readq=").append(readHead != null).append(" open=").append(open.count).append(" flight=").append(flight.count)
                .append(" dState=").append(dState).append(" mapFlight=").append(mapFlight).append(" mapPending=").append(mapPending)
                .append(" ctl=").append(ctlHead != null).append(" freeReqs=").append(freeReqTop).append(" chInFlight=").append(ch.inFlight())
                .append(" direct=").append(directInflight.size()).append(" bp=").append(statBackPressure);
        return b.toString();
    }

    /** Live OpLog bytes (racy read for statistics). */
    long oplogBytes() { return (long) oplogIndex.size() * BLOCK; }

    long oplogCapacity() { return node.options.oplogShardBytes(); }

    int segments() { return segCount; }

    StoreObject mapObject() { return mapObj; }

    /** The record of where this shard's needed history lives (null: none). */
    StoreObject replicaPeersObject() { return rplObj; }

    /** Written by this thread (created once); read by the re-replication thread for the base record. */
    private volatile StoreObject rplObj;

    /**
     * Records, in the store, the peers that may hold this shard's needed history (its replicator
     * calls it when that set grows or a pass shrinks it: rare; journaled, durable with the next
     * commit, which the batch that caused it waits for).
     */
    private void recordReplicaPeers(String peers) {
        try {
            if (rplObj == null || rplObj.isDeleted()) rplObj = node.store.create(0, 0, Catalog.replicaPeersAttrs(vdiskId, index, peers));
            else node.store.setAttribute(rplObj, "p", peers.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (RuntimeException e) { // without the record a restart counts every peer: conservative
            System.getLogger(Shard.class.getName()).log(System.Logger.Level.WARNING, "vDisk " + vd.name + " shard " + index
                    + ": cannot record where its replicas live: " + e.getMessage());
        }
    }

    List<StoreObject> segmentObjects() {
        List<StoreObject> l = new ArrayList<>();
        for (Segment s : segs) if (s != null) l.add(s.obj);
        return l;
    }
}
