package io.dsf.stargate.core;

import com.lmax.disruptor.RingBuffer;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.stats.VDiskStats;
import org.agrona.concurrent.ManyToManyConcurrentArrayQueue;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.LongAdder;

/**
 * The primary controller of one vDisk: validates requests, splits them at vBlock (1 MiB)
 * boundaries and publishes each piece into the ring of the shard that owns the vBlock
 * ({@code vblock % shards}); pieces of one request are joined so it completes once. Safe for any
 * number of submitting threads; allocation-free while its join pool lasts.
 */
public final class VDiskController implements VDisk {
    static final int MAX_TRANSFER = 1 << 20;

    final Stargate node;
    final long id;
    final String name;
    final long size;
    final boolean readOnly;
    final long parent;
    final Shard[] shards;
    /** Write bytes submitted and not yet completed: the write characterizer's input (striped, approximate). */
    final LongAdder outstanding = new LongAdder();
    /** Per-vDisk statistics; shard i records into {@code stats.shard(i)} on its own thread. */
    final VDiskStats stats;
    private final ManyToManyConcurrentArrayQueue<Join> joins = new ManyToManyConcurrentArrayQueue<>(1024);
    volatile boolean closed;

    VDiskController(Stargate node, Catalog.VDiskRecord rec, ShardState[] states, java.util.List<java.util.List<io.dsf.blockstore.store.StoreObject>> segments) {
        this.node = node;
        this.id = rec.id();
        this.name = rec.name();
        this.size = rec.size();
        this.readOnly = rec.readOnly();
        this.parent = rec.parent();
        this.stats = new VDiskStats(name, rec.shards());
        this.shards = new Shard[rec.shards()];
        for (int i = 0; i < shards.length; i++) shards[i] = new Shard(node, this, i, shards.length, states[i], segments.get(i));
    }

    void start() {
        for (Shard s : shards) s.thread.start();
        Throwable failure = null;
        for (Shard s : shards) {
            try {
                s.ready.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting " + name);
            }
            if (s.failure != null && failure == null) failure = s.failure;
        }
        if (failure != null) {
            stop();
            throw new IllegalStateException("vDisk " + name + " failed to start: " + failure.getMessage(), failure);
        }
    }

    @Override public String name() { return name; }
    @Override public long size() { return size; }
    @Override public int blockSize() { return 4096; }
    @Override public int maxTransfer() { return MAX_TRANSFER; }
    @Override public boolean readOnly() { return readOnly; }

    public int shardCount() { return shards.length; }

    public long id() { return id; }

    private int check(long offset, long length, IoCallback cb) {
        if (closed) return VDiskStatus.CLOSED;
        if (cb == null || offset < 0 || length <= 0 || (offset & 4095) != 0 || (length & 4095) != 0) return VDiskStatus.INVALID;
        if (offset > size - length) return VDiskStatus.OUT_OF_RANGE;
        return VDiskStatus.OK;
    }

    @Override
    public int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        return data(IoEvent.READ, offset, buf, length, tag, cb);
    }

    @Override
    public int write(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        return data(IoEvent.WRITE, offset, buf, length, tag, cb);
    }

    private int data(int kind, long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int st = check(offset, length, cb);
        if (st != VDiskStatus.OK) return st;
        if (length > MAX_TRANSFER || buf == null || buf.byteSize() < length) return VDiskStatus.INVALID;
        if (kind == IoEvent.WRITE && readOnly) {
            cb.onComplete(tag, VDiskStatus.READ_ONLY);
            return VDiskStatus.OK;
        }
        long t0 = System.nanoTime();
        if (kind == IoEvent.WRITE) outstanding.add(length);
        long vb = offset >>> 20, vbEnd = (offset + length - 1) >>> 20;
        if (vb == vbEnd) {
            publish(shardOf(vb), kind, offset, length, buf, 0, tag, cb, null, t0, null);
        } else {
            long first = ((vb + 1) << 20) - offset;
            Join j = join(2, cb, tag);
            publish(shardOf(vb), kind, offset, first, buf, 0, tag, null, j, t0, null);
            publish(shardOf(vbEnd), kind, offset + first, length - first, buf, first, tag, null, j, t0, null);
        }
        return VDiskStatus.OK;
    }

    @Override
    public int flush(long tag, IoCallback cb) {
        if (closed) return VDiskStatus.CLOSED;
        if (cb == null) return VDiskStatus.INVALID;
        // every write is durable before it completes (no volatile cache): nothing completed is pending
        cb.onComplete(tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int unmap(long offset, long length, long tag, IoCallback cb) { return zero(offset, length, tag, cb); }

    @Override
    public int writeZeroes(long offset, long length, long tag, IoCallback cb) { return zero(offset, length, tag, cb); }

    private int zero(long offset, long length, long tag, IoCallback cb) {
        int st = check(offset, length, cb);
        if (st != VDiskStatus.OK) return st;
        if (readOnly) {
            cb.onComplete(tag, VDiskStatus.READ_ONLY);
            return VDiskStatus.OK;
        }
        long t0 = System.nanoTime();
        outstanding.add(length);
        long vb = offset >>> 20, vbEnd = (offset + length - 1) >>> 20;
        int n = shards.length;
        if (vbEnd - vb + 1 < n) {
            int parts = (int) (vbEnd - vb + 1);
            Join j = parts == 1 ? null : join(parts, cb, tag);
            // each shard gets the whole range and zeroes only its own vBlocks; the bytes owed to the
            // characterizer are split so that the sum released equals what was added
            long share = length / parts, rest = length - share * (parts - 1);
            for (long v = vb; v <= vbEnd; v++) {
                long len = v == vbEnd ? rest : share;
                publishZero(shards[(int) (v % n)], offset, length, len, tag, j == null ? cb : null, j, t0);
            }
        } else {
            Join j = join(n, cb, tag);
            long share = length / n, rest = length - share * (n - 1);
            for (int i = 0; i < n; i++) publishZero(shards[i], offset, length, i == n - 1 ? rest : share, tag, null, j, t0);
        }
        return VDiskStatus.OK;
    }

    private void publishZero(Shard s, long offset, long length, long owed, long tag, IoCallback cb, Join j, long t0) {
        publish(s, IoEvent.ZERO, offset, length, null, owed, tag, cb, j, t0, null);
    }

    private Shard shardOf(long vb) { return shards[(int) (vb % shards.length)]; }

    // ---------------------------------------------------------- re-replication (control path)

    /**
     * What a shard reports when a re-replication pass starts ({@link #passStart}): the pass's base
     * (every rewrite of the pass and every later write has a sequence at least that), the shard's
     * batch-failure count then, and its vBlocks holding data, ascending. Filled by the shard thread
     * before the completion; read by the caller after it.
     */
    public static final class PassInfo {
        public long base, failures;
        public final org.agrona.collections.LongArrayList vblocks = new org.agrona.collections.LongArrayList();
    }

    /** A shard's last completed pass's base and the peers not yet told it (comma separated), as recorded in its store. */
    public record BaseRecord(long base, String pending) {}

    /** {@code shard}'s recorded base, or null (no record, or no pass completed). Any thread. */
    public BaseRecord baseRecord(int shard) {
        io.dsf.blockstore.store.StoreObject o = shards[shard].replicaPeersObject();
        if (o == null || o.isDeleted()) return null;
        long b = Catalog.u64(node.store.attribute(o, "b"));
        if (b <= 0) return null;
        byte[] a = node.store.attribute(o, "a");
        return new BaseRecord(b, a == null ? "" : new String(a, java.nio.charset.StandardCharsets.US_ASCII));
    }

    /**
     * Records {@code shard}'s base and the peers still to tell (journaled; durable with the next
     * commit), so a restart goes on announcing it. False when the shard has no record object (it
     * never replicated a batch). Any thread.
     */
    public boolean recordBase(int shard, long base, String pending) {
        io.dsf.blockstore.store.StoreObject o = shards[shard].replicaPeersObject();
        if (o == null || o.isDeleted()) return false;
        byte[] a = pending.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (a.length > 80) a = "*".getBytes(java.nio.charset.StandardCharsets.US_ASCII); // every peer: an object's attributes hold 224 bytes in all
        node.store.setAttribute(o, "b", Catalog.u64(base));
        node.store.setAttribute(o, "a", a);
        return true;
    }

    /** Starts a re-replication pass on {@code shard}; {@code cb} gets OK once {@code p} is filled. */
    public int passStart(int shard, PassInfo p, long tag, IoCallback cb) {
        if (closed) return VDiskStatus.CLOSED;
        if (shard < 0 || shard >= shards.length || p == null || cb == null) return VDiskStatus.INVALID;
        publish(shards[shard], IoEvent.PASS_START, 0, 0, null, 0, tag, cb, null, System.nanoTime(), p);
        return VDiskStatus.OK;
    }

    /**
     * Reads vBlock {@code vb} (1 MiB) for a pass: {@code mark[0]} receives the lowest sequence the
     * shard had not indexed when the read ran (the data reflects every write below it). No read repair.
     */
    public int passRead(long vb, MemorySegment buf, long[] mark, IoCallback cb) {
        return markedRead(vb << 20, buf, 1 << 20, mark, cb);
    }

    /**
     * Reads {@code [offset, offset+length)} (inside one vBlock) like {@link #passRead}: {@code mark[0]}
     * receives the lowest sequence not yet indexed when the read ran, for a later {@link #passRewrite}
     * that must not overwrite anything newer than what the read saw. No read repair.
     */
    public int markedRead(long offset, MemorySegment buf, int length, long[] mark, IoCallback cb) {
        int st = check(offset, length, cb);
        if (st != VDiskStatus.OK) return st;
        if (buf == null || buf.byteSize() < length || mark == null || mark.length < 1 || (offset >>> 20) != ((offset + length - 1) >>> 20))
            return VDiskStatus.INVALID;
        publish(shardOf(offset >>> 20), IoEvent.READ, offset, length, buf, 0, Stargate.ReadRepair.NO_REPAIR, cb, null, System.nanoTime(), mark);
        return VDiskStatus.OK;
    }

    /**
     * Writes {@code buf[0, length)} at {@code offset} (inside one vBlock) as new, replicated OpLog
     * entries, skipping every block a write at or above {@code mark} (a {@link #passRead}'s) already
     * touched; BUSY when the vBlock's data may have moved past the read (read it again).
     */
    public int passRewrite(long offset, MemorySegment buf, int length, long mark, long tag, IoCallback cb) {
        int st = check(offset, length, cb);
        if (st != VDiskStatus.OK) return st;
        if (buf == null || buf.byteSize() < length || (offset >>> 20) != ((offset + length - 1) >>> 20)) return VDiskStatus.INVALID;
        if (readOnly) return VDiskStatus.READ_ONLY;
        publish(shardOf(offset >>> 20), IoEvent.REWRITE, offset, length, buf, 0, tag, cb, null, System.nanoTime(), mark);
        return VDiskStatus.OK;
    }

    /**
     * Ends the pass {@code p} on {@code shard}: OK once every write handed a sequence before this call
     * is resolved and none failed since the pass began (the base then holds), IO_ERROR if one did.
     */
    public int passEnd(int shard, PassInfo p, long tag, IoCallback cb) {
        if (closed) return VDiskStatus.CLOSED;
        if (shard < 0 || shard >= shards.length || p == null || cb == null) return VDiskStatus.INVALID;
        publish(shards[shard], IoEvent.PASS_END, 0, 0, null, 0, tag, cb, null, System.nanoTime(), p);
        return VDiskStatus.OK;
    }

    private Join join(int parts, IoCallback cb, long tag) {
        Join j = joins.poll();
        if (j == null) {
            j = new Join();
            j.owner = this;
        }
        j.arm(parts, cb, tag);
        return j;
    }

    void releaseJoin(Join j) { joins.offer(j); }

    void publish(Shard s, int kind, long offset, long length, MemorySegment buf, long bufOffset, long tag,
                 IoCallback cb, Join j, long t0, Object arg) {
        RingBuffer<IoEvent> ring = s.ring;
        long seq = ring.next();
        IoEvent e = ring.get(seq);
        e.kind = kind;
        e.offset = offset;
        e.length = length;
        e.buf = buf;
        e.bufOffset = bufOffset;
        e.tag = tag;
        e.cb = cb;
        e.join = j;
        e.t0 = t0;
        e.arg = arg;
        ring.publish(seq);
        s.wake();
    }

    /** Sends a control request to every shard and waits for all of them. */
    void control(int kind, Object[] args) {
        java.util.concurrent.CountDownLatch latch = new java.util.concurrent.CountDownLatch(shards.length);
        int[] status = {VDiskStatus.OK};
        for (int i = 0; i < shards.length; i++) {
            publish(shards[i], kind, 0, 0, null, 0, 0, (t, st) -> {
                if (st != VDiskStatus.OK) status[0] = st;
                latch.countDown();
            }, null, System.nanoTime(), args == null ? null : args[i]);
        }
        try {
            while (!latch.await(100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                for (Shard s : shards)
                    if (!s.thread.isAlive()) throw new IllegalStateException("shard " + s.index + " of " + name + " died: " + s.failure);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
        if (status[0] != VDiskStatus.OK) throw new IllegalStateException(name + ": " + VDiskStatus.describe(status[0]));
    }

    void stop() {
        closed = true;
        for (Shard s : shards) {
            if (s.thread.isAlive()) {
                publish(s, IoEvent.STOP, 0, 0, null, 0, 0, null, null, System.nanoTime(), null);
            }
        }
        for (Shard s : shards) {
            try {
                s.thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Each shard's state in one line (racy; for diagnosing stalls). */
    public String debugState() {
        StringBuilder b = new StringBuilder();
        for (Shard s : shards) b.append(s.debugState()).append('\n');
        return b.toString();
    }

    /** Counters summed over shards (racy reads, for tests and statistics). */
    public Counters counters() {
        Counters c = new Counters();
        for (Shard s : shards) {
            c.oplogWrites += s.statOplogWrites;
            c.batches += s.statBatches;
            c.batchBytes += s.statBatchBytes;
            c.batchGapBytes += s.statBatchGapBytes;
            c.bypassWrites += s.statBypassWrites;
            c.drains += s.statDrains;
            c.drainRounds += s.statDrainRounds;
            c.spanRounds += s.statSpanRounds;
            c.drainedBlocks += s.statDrainedBlocks;
            c.backPressure += s.statBackPressure;
            c.cowDrains += s.statCowDrains;
            c.segmentsFreed += s.statSegmentsFreed;
            c.cacheHits += s.statCacheHits;
            c.cacheMisses += s.statCacheMisses;
            c.directReads += s.statDirectReads;
            var cv = s.cacheView;
            if (cv != null) {
                c.cacheEvictions += cv.singleTouchEvictions() + cv.multiTouchEvictions();
                c.cacheFillsRejected += cv.fillsRejected();
                c.cacheFills += cv.fills();
                c.cacheAdmissionsDeferred += cv.admissionsDeferred();
                c.cacheBytes += cv.capacityBytes();
            }
            c.oplogBytes += s.oplogBytes();
            c.oplogCapacity += s.oplogCapacity();
            c.reads += s.statReads;
            c.writes += s.statWrites;
            c.mapLookups += s.statMapLookups;
            c.rewrites += s.statRewrites;
            c.rewriteSkipped += s.statRewriteSkipped;
            c.rewriteConflicts += s.statRewriteConflicts;
            c.batchFailures += s.statBatchFailures;
            c.recoveredDirectBatches += s.statRecoveredDirect;
        }
        return c;
    }

    /** A racy sum of the shards' counters. */
    public static final class Counters {
        /** {@code drains} counts vBlocks drained, {@code drainRounds} the rounds (one sync each) they were drained in. */
        public long oplogWrites, bypassWrites, drains, drainRounds, drainedBlocks, backPressure, cowDrains, segmentsFreed,
                cacheHits, cacheMisses, cacheEvictions, cacheFillsRejected, cacheBytes, oplogBytes, oplogCapacity, reads, writes, mapLookups;
        /** OpLog batches written (each one write and one sync: the group commit of {@code oplogWrites}). */
        public long batches;
        /** Bytes of those batches (headers included), and bytes of segment space left unused before them (unit ends). */
        public long batchBytes, batchGapBytes;
        /** Drain rounds of them that drained a stretch of a segment read with one I/O (in-place blocks of any vBlocks). */
        public long spanRounds;
        /** Blocks the Unified Cache took after a miss; misses not filled because they were a block's first (second-miss admission). */
        public long cacheFills, cacheAdmissionsDeferred;
        /** Reads that went straight into the caller's registered memory ({@link Stargate#registerMemory}). */
        public long directReads;
        /**
         * Re-replication: blocks written again, blocks skipped (a newer write carries them), rewrites
         * refused because the vBlock's data moved after the pass read it; batches that failed.
         */
        public long rewrites, rewriteSkipped, rewriteConflicts, batchFailures;
        /** Replicated direct writes' header-only OpLog records stepped over when the vDisk was opened. */
        public long recoveredDirectBatches;

        @Override
        public String toString() {
            return "oplogWrites=" + oplogWrites + " batches=" + batches + " batchBytes=" + batchBytes + " batchGapBytes=" + batchGapBytes + " bypassWrites=" + bypassWrites + " drains=" + drains + " drainRounds=" + drainRounds + " spanRounds=" + spanRounds
                    + " drainedBlocks=" + drainedBlocks + " backPressure=" + backPressure + " cowDrains=" + cowDrains
                    + " segmentsFreed=" + segmentsFreed + " cacheHits=" + cacheHits + " cacheMisses=" + cacheMisses
                    + " cacheEvictions=" + cacheEvictions + " cacheFillsRejected=" + cacheFillsRejected + " cacheFills=" + cacheFills
                    + " cacheAdmissionsDeferred=" + cacheAdmissionsDeferred + " directReads=" + directReads + " cacheBytes=" + cacheBytes
                    + " oplogBytes=" + oplogBytes + " rewrites=" + rewrites + " rewriteSkipped=" + rewriteSkipped
                    + " rewriteConflicts=" + rewriteConflicts + " batchFailures=" + batchFailures;
        }
    }
}
