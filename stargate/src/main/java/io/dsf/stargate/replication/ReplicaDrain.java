package io.dsf.stargate.replication;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.ChecksumException;
import io.dsf.blockstore.store.NoSuchObjectException;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.blockstore.store.StoreStatus;
import org.agrona.collections.LongHashSet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * The replica drain: applies the batches a {@link ReplicaService} stored for one owner stream
 * (owner, vDisk, shard) to that stream's image ({@link ReplicaImage}): for each block, the entry
 * with the highest sequence wins (an entry is applied where its seq &ge; the table's, so applying a
 * batch twice, or in any order, gives the same image), entries below the stream's base are not
 * applied; then the tables, then the covered sequence ranges (every drained batch's sequences, merged
 * with those recorded before, trimmed below the base); one sync makes it all durable. The caller
 * deletes the drained segments only after {@link #drain} returned: a crash before that leaves them
 * in place and the next drain does the same work again.
 *
 * <p>Threading: every method runs on the service's one drain thread, which owns the store channel
 * and buffers (blocking I/O through that channel only). {@link Stream}'s volatile and concurrent
 * fields are read by other threads; its service-thread fields are the service thread's.
 */
final class ReplicaDrain implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ReplicaDrain.class.getName());
    static final int WINDOW = 2 << 20, TABLE_BUF = 64 * ReplicaImage.PAGE, RANGES_BUF = ReplicaImage.RANGE_PAGES * ReplicaImage.PAGE;
    private static final int DEPTH = 64;
    static final int ZERO_CRC;

    static {
        CRC32C c = new CRC32C();
        c.update(new byte[ReplicaImage.PAGE]);
        ZERO_CRC = (int) c.getValue();
    }

    /** One owner stream's image: objects, covered ranges, counters; plus what the service thread keeps about it. */
    static final class Stream {
        final String owner;
        final long vdisk;
        final int shard;
        /** The table object (null: none yet); written by the drain thread. */
        volatile StoreObject table;
        /** vBlock -> its image object; written by the drain thread (and at service start), read by any. */
        final ConcurrentHashMap<Long, StoreObject> vblocks = new ConcurrentHashMap<>();
        /** The covered ranges made durable (first, last, ...); replaced whole by the drain thread. */
        volatile long[] ranges = new long[0];
        /** Blocks the image holds (data or zero, not below the base as last applied), drains done, batches drained. */
        volatile long imageBlocks, drains, batchesDrained;
        /** Whether the drain thread read the stream's ranges and tables (after a start). */
        volatile boolean loaded;
        // drain thread only
        long rangesGen;
        int rangesCopy = -1;
        final Map<Long, Integer> present = new HashMap<>();
        long baseFreed;
        /** Bytes stored since the last drain began; written by the service thread only. */
        volatile long undrained;
        // service thread only
        boolean busy;
        final List<ReplicaSegment> deferredDeletes = new ArrayList<>();
        /** Service thread: after a failed drain, not before this (System.nanoTime), and the back-off that set it. */
        long retryAt, retryBackoff;
        /** Drain thread: the image could not be read back at start; no drain may write over it (segments kept). */
        boolean loadFailed;

        Stream(String owner, long vdisk, int shard) {
            this.owner = owner;
            this.vdisk = vdisk;
            this.shard = shard;
        }

        String key() { return owner + "/" + vdisk + "/" + shard; }
    }

    /**
     * One drain of a stream: the segments to drain (taken by the service thread), the base then, and
     * what came of it (written by the drain thread before the job goes back through a queue).
     */
    static final class Job {
        final Stream s;
        final ReplicaVDisk meta;
        final List<ReplicaSegment> segs;
        final long base;
        /** Service thread only: segment objects a batch was being written into, or was written into, since the job was made. */
        final java.util.Set<StoreObject> touched = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        final List<ReplicaSegment> drained = new ArrayList<>();
        String failure;
        long batches, blocks;
        /** Whether the stream had more segments than this job took. */
        boolean partial;
        long leftBytes;

        Job(Stream s, ReplicaVDisk meta, List<ReplicaSegment> segs, long base) {
            this.s = s;
            this.meta = meta;
            this.segs = segs;
            this.base = base;
        }
    }

    private final BlockStore store;
    private final MemorySegment window, tables, rangesBuf;
    private final ByteBuffer windowView, tablesView, rangesView;
    private final CRC32C crc = new CRC32C();
    private StoreChannel ch;
    private int inflight, writeStatus;
    private final LongHashSet inflightSlots = new LongHashSet();
    /** Test hook: stop a drain after its image and tables are durable, before the ranges (a crash there). */
    static volatile boolean stopBeforeRanges;

    ReplicaDrain(BlockDevice device, BlockStore store) {
        this.store = store;
        MemorySegment m = device.allocateDma((long) WINDOW + TABLE_BUF + RANGES_BUF);
        this.window = m.asSlice(0, WINDOW);
        this.tables = m.asSlice(WINDOW, TABLE_BUF);
        this.rangesBuf = m.asSlice(WINDOW + TABLE_BUF, RANGES_BUF);
        this.windowView = window.asByteBuffer();
        this.tablesView = tables.asByteBuffer();
        this.rangesView = rangesBuf.asByteBuffer();
    }

    private StoreChannel ch() {
        if (ch == null) {
            ch = store.openChannel(DEPTH, 1 << 20, 1, (tag, st) -> {
                inflight--;
                if (st < 0 && writeStatus == 0) writeStatus = st;
            });
            ch.registerRegion(window);
            ch.registerRegion(tables);
            ch.registerRegion(rangesBuf);
        }
        return ch;
    }

    static Map<String, byte[]> attrs(String type, Stream s, long vblock) {
        Map<String, byte[]> a = new LinkedHashMap<>();
        a.put("t", type.getBytes(StandardCharsets.US_ASCII));
        a.put("o", s.owner.getBytes(StandardCharsets.US_ASCII));
        a.put("v", ReplicaService.u64(s.vdisk));
        a.put("s", ReplicaService.u64(s.shard));
        if (vblock >= 0) a.put("vb", ReplicaService.u64(vblock));
        return a;
    }

    // ------------------------------------------------------------------ I/O helpers (drain thread)

    /** Reads {@code len} bytes at {@code off} of {@code o} into {@code dst}; a chunk that fails its checksum is read page by page, bad pages zeroed. */
    private void read(StoreObject o, long off, MemorySegment dst, int len) {
        StoreChannel c = ch();
        for (int done = 0; done < len; ) {
            int n = Math.min(len - done, 1 << 20);
            try {
                c.readBlocking(o, off + done, dst.asSlice(done, n), n);
            } catch (ChecksumException e) {
                for (int p = 0; p < n; p += ReplicaImage.PAGE) {
                    try {
                        c.readBlocking(o, off + done + p, dst.asSlice(done + p, ReplicaImage.PAGE), ReplicaImage.PAGE);
                    } catch (ChecksumException x) {
                        dst.asSlice(done + p, ReplicaImage.PAGE).fill((byte) 0);
                    }
                }
            }
            done += n;
        }
    }

    private void write(StoreObject o, long off, MemorySegment src, int len) {
        StoreChannel c = ch();
        int st;
        while ((st = c.write(o, off, src, len, 1)) == StoreStatus.QUEUE_FULL.code() || st == StoreStatus.BACK_PRESSURE.code())
            c.await(16, 1_000_000);
        if (st != StoreChannel.ACCEPTED) throw new IllegalStateException("image write refused: " + StoreStatus.describe(st));
        inflight++;
    }

    private void awaitWrites() {
        StoreChannel c = ch();
        while (inflight > 0) c.await(DEPTH, 1_000_000);
        inflightSlots.clear();
        if (writeStatus != 0) {
            int st = writeStatus;
            writeStatus = 0;
            throw new IllegalStateException("image write failed: " + StoreStatus.describe(st));
        }
    }

    // --------------------------------------------------------------------------------- load

    /** Reads the stream's newest valid ranges copy and counts the blocks of its tables (once after a start). */
    void load(Stream s, ReplicaVDisk meta) {
        if (s.loaded && !s.loadFailed) return;
        try {
            loadOnce(s, meta);
            s.loadFailed = false;
        } catch (RuntimeException e) { // what was read stands; missing ranges only make pullers refuse (a hole), never serve wrong data
            if (!s.loadFailed) LOG.log(System.Logger.Level.WARNING, "replica drain: cannot read the image of " + s.key() + " back: " + e);
            s.loadFailed = true; // and no drain writes ranges over a copy it could not read: it is tried again first
        }
        s.loaded = true;
    }

    /** Refuses to change an image whose ranges could not be read back (a drain would write over the newest copy). */
    private void requireLoaded(Stream s, ReplicaVDisk meta) {
        load(s, meta);
        if (s.loadFailed) throw new IllegalStateException("the image of " + s.key() + " could not be read back; its segments are kept");
    }

    /**
     * After a job, whatever it ended with: waits for writes still in flight and finishes a commit this
     * channel leads (other channels' syncs wait for it), so nothing of one job reaches the next.
     */
    void settle() {
        StoreChannel c = ch();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (inflight > 0 && System.nanoTime() < deadline) c.await(DEPTH, 1_000_000);
        inflightSlots.clear();
        writeStatus = 0;
        c.finishLeading();
    }

    private void loadOnce(Stream s, ReplicaVDisk meta) {
        StoreObject t = s.table;
        if (t != null && !t.isDeleted()) {
            long best = 0;
            long[] pairs = new long[0];
            for (int c = 0; c < 2; c++) {
                long off = ReplicaImage.rangesOffset(c);
                if (off + ReplicaImage.PAGE > t.size()) break;
                read(t, off, rangesBuf, ReplicaImage.PAGE);
                int n = ReplicaImage.rangesCount(rangesBuf, 0);
                if (n < 0) continue;
                int bytes = ReplicaImage.rangesBytes(n);
                if (bytes > ReplicaImage.PAGE) read(t, off, rangesBuf, bytes);
                long g = ReplicaImage.validRanges(rangesBuf, rangesView, 0, crc);
                if (g > best) {
                    best = g;
                    s.rangesCopy = c;
                    pairs = ReplicaImage.decodePairs(rangesBuf, 32, n);
                }
            }
            s.rangesGen = best;
            s.ranges = pairs;
            long blocks = 0;
            ReplicaImage.Table tab = null;
            for (Map.Entry<Long, StoreObject> e : s.vblocks.entrySet()) {
                tab = loadTable(s, meta, e.getKey());
                int p = tab == null ? 0 : tab.present();
                s.present.put(e.getKey(), p);
                blocks += p;
            }
            s.imageBlocks = blocks;
        }
    }

    /** The table of {@code vblock} as stored (empty when never written), or null when outside the table object. */
    private ReplicaImage.Table loadTable(Stream s, ReplicaVDisk meta, long vblock) {
        ReplicaImage.Table t = new ReplicaImage.Table(vblock);
        StoreObject o = s.table;
        long off = ReplicaImage.tableOffset(vblock / meta.shards());
        if (o == null || off + 2L * ReplicaImage.PAGE > o.size()) return o == null ? t : null;
        read(o, off, tables, 2 * ReplicaImage.PAGE);
        ReplicaImage.decodeTable(tables, tablesView, 0, t, crc);
        return t;
    }

    // -------------------------------------------------------------------------------- drain

    /**
     * Drains {@code j}'s segments into the stream's image; on return {@link Job#drained} lists the
     * segments whose every batch is in the image durably (those read whole; one that went away or held
     * a batch that does not fit the vDisk is left out). Throws on a store failure (nothing is deleted then).
     */
    void drain(Job j) {
        Stream s = j.s;
        ReplicaVDisk meta = j.meta;
        requireLoaded(s, meta);
        long vdBlocks = meta.size() / ReplicaImage.PAGE;
        Map<Long, ReplicaImage.Table> touched = new HashMap<>();
        long[] seqs = new long[1024];
        int nSeqs = 0;
        if (s.table == null || s.table.isDeleted()) {
            s.table = store.create(0, ReplicaImage.tableObjectSize(meta.size(), meta.shards()), attrs(ReplicaImage.TABLE_TYPE, s, -1));
            s.rangesCopy = -1;
            s.rangesGen = 0;
        }
        for (ReplicaSegment seg : j.segs) {
            boolean whole = true;
            try {
                long size = seg.bytes(), winBase = -1;
                int have = 0;
                for (long pos = 0; pos + OpLogBatchView.PAGE <= size; ) {
                    if (winBase < 0 || pos + OpLogBatchView.MAX_BATCH > winBase + have && winBase + have < size) {
                        awaitWrites(); // the window is their source
                        winBase = pos;
                        have = (int) Math.min(WINDOW, size - pos);
                        read(seg.object(), winBase, window, have);
                    }
                    int at = (int) (pos - winBase);
                    int len = window.get(ValueLayout.JAVA_INT_UNALIGNED, at) == OpLogBatchView.MAGIC
                            ? (1 + OpLogBatchView.dataSlices(window, at)) * OpLogBatchView.PAGE : 0;
                    if (len <= 0 || len > OpLogBatchView.MAX_BATCH || at + len > have
                            || OpLogBatchView.verify(window, windowView, at, len, crc) != OpLogBatchView.OK) {
                        pos += OpLogBatchView.PAGE;
                        continue;
                    }
                    int count = OpLogBatchView.count(window, at);
                    boolean fits = true;
                    for (int i = 0; i < count && fits; i++) {
                        long seq = OpLogBatchView.seq(window, at, i), block = OpLogBatchView.block(window, at, i);
                        int n = OpLogBatchView.blocks(window, at, i);
                        fits = seq >= 1 && block >= 0 && block <= vdBlocks - n && (block >>> 8) == ((block + n - 1) >>> 8)
                                && (block >>> 8) % meta.shards() == s.shard;
                    }
                    if (!fits) { // not the owner's stream as described: kept in the log, where a takeover refuses it
                        LOG.log(System.Logger.Level.WARNING, "replica drain: a batch of " + seg + " at " + pos + " has an entry outside "
                                + "the shard or the vDisk; its segment is kept");
                        whole = false;
                        pos += len;
                        continue;
                    }
                    int slice = 0;
                    for (int i = 0; i < count; i++) {
                        long seq = OpLogBatchView.seq(window, at, i), block = OpLogBatchView.block(window, at, i);
                        int n = OpLogBatchView.blocks(window, at, i);
                        boolean zero = OpLogBatchView.flags(window, at, i) == OpLogBatchView.FLAG_ZERO;
                        if (nSeqs == seqs.length) seqs = java.util.Arrays.copyOf(seqs, nSeqs * 2);
                        seqs[nSeqs++] = seq;
                        if (seq >= j.base) apply(s, meta, touched, seq, block, n, zero, at + (1 + slice) * OpLogBatchView.PAGE);
                        if (!zero) slice += n;
                    }
                    j.batches++;
                    pos += len;
                }
            } catch (NoSuchObjectException e) { // deleted meanwhile (a base made it redundant): what was read stays applied
                whole = false;
            }
            if (whole) j.drained.add(seg);
        }
        awaitWrites();
        // tables: each to the copy that does not hold its newest generation
        int k = 0;
        List<ReplicaImage.Table> pending = new ArrayList<>(touched.values());
        long[] offs = new long[TABLE_BUF / ReplicaImage.PAGE];
        for (ReplicaImage.Table t : pending) {
            t.dropBelow(j.base);
            int copy = t.copy == 0 ? 1 : 0;
            ReplicaImage.encodeTable(tables, tablesView, k * ReplicaImage.PAGE, t, t.gen + 1, crc);
            offs[k] = ReplicaImage.tableOffset(t.vblock / meta.shards()) + (long) copy * ReplicaImage.PAGE;
            if (++k == offs.length) {
                for (int i = 0; i < k; i++) write(s.table, offs[i], tables.asSlice((long) i * ReplicaImage.PAGE, ReplicaImage.PAGE), ReplicaImage.PAGE);
                awaitWrites();
                k = 0;
            }
        }
        for (int i = 0; i < k; i++) write(s.table, offs[i], tables.asSlice((long) i * ReplicaImage.PAGE, ReplicaImage.PAGE), ReplicaImage.PAGE);
        awaitWrites();
        if (stopBeforeRanges) {
            ch().syncBlocking();
            throw new IllegalStateException("stopped before the covered ranges (test)");
        }
        long[] ranges = ReplicaImage.merge(s.ranges, seqs, nSeqs, j.base);
        boolean recorded = ranges.length / 2 <= ReplicaImage.MAX_RANGES;
        if (recorded) {
            int copy = s.rangesCopy == 0 ? 1 : 0;
            int bytes = ReplicaImage.encodeRanges(rangesBuf, rangesView, 0, ranges, s.rangesGen + 1, crc);
            write(s.table, ReplicaImage.rangesOffset(copy), rangesBuf, bytes);
            awaitWrites();
            ch().syncBlocking();
            s.rangesCopy = copy;
            s.rangesGen++;
            s.ranges = ranges;
        } else {
            ch().syncBlocking();
            LOG.log(System.Logger.Level.WARNING, "replica drain of " + s.key() + ": " + ranges.length / 2 + " covered ranges, more than "
                    + ReplicaImage.MAX_RANGES + " can be recorded; its segments are kept");
            j.drained.clear();
        }
        long blocks = s.imageBlocks;
        for (ReplicaImage.Table t : pending) {
            int p = t.present();
            Integer had = s.present.put(t.vblock, p);
            blocks += p - (had == null ? 0 : had);
        }
        s.imageBlocks = blocks;
        s.drains++;
        s.batchesDrained += j.batches;
    }

    /** Applies one verified entry: each block where seq &ge; the table's; data runs written from the window at {@code dataAt}. */
    private void apply(Stream s, ReplicaVDisk meta, Map<Long, ReplicaImage.Table> touched, long seq, long block, int n, boolean zero, int dataAt) {
        long vb = block >>> 8;
        ReplicaImage.Table t = touched.get(vb);
        if (t == null) {
            t = loadTable(s, meta, vb);
            if (t == null) throw new IllegalStateException("vBlock " + vb + " lies outside the table object of " + s.key());
            touched.put(vb, t);
        }
        int first = (int) (block & 0xff);
        for (int k = 0; k < n; ) {
            int slot = first + k;
            if (t.kind[slot] != ReplicaImage.KIND_ABSENT && seq < t.seq[slot]) {
                k++;
                continue;
            }
            int run = 1;
            while (k + run < n && (t.kind[slot + run] == ReplicaImage.KIND_ABSENT || seq >= t.seq[slot + run])) run++;
            for (int r = 0; r < run; r++) {
                t.kind[slot + r] = (byte) (zero ? ReplicaImage.KIND_ZERO : ReplicaImage.KIND_DATA);
                t.seq[slot + r] = seq;
                t.crc[slot + r] = zero ? ZERO_CRC : OpLogBatchView.crc(windowView, dataAt + (k + r) * ReplicaImage.PAGE, ReplicaImage.PAGE, crc);
            }
            StoreObject o = s.vblocks.get(vb); // made for zero entries too: it is how pulls find the vBlock (thin: nothing allocated)
            if (o == null || o.isDeleted()) {
                o = store.create(0, ReplicaImage.VBLOCK_BYTES, attrs(ReplicaImage.BLOCK_TYPE, s, vb));
                s.vblocks.put(vb, o);
            }
            if (!zero) {
                long key0 = (vb << 8) | slot;
                boolean clash = false;
                for (int r = 0; r < run && !clash; r++) clash = inflightSlots.contains(key0 + r);
                if (clash) awaitWrites(); // an older version of one of these blocks is still being written
                write(o, (long) slot * ReplicaImage.PAGE, window.asSlice(dataAt + (long) k * ReplicaImage.PAGE, (long) run * ReplicaImage.PAGE),
                        run * ReplicaImage.PAGE);
                for (int r = 0; r < run; r++) inflightSlots.add(key0 + r);
            }
            k += run;
        }
    }

    // ---------------------------------------------------------------------------- base

    /**
     * Frees what a base made redundant: every image vBlock whose blocks are all below {@code base} is
     * deleted (its table keeps entries below the base, which nothing serves); the ranges below it are
     * dropped at the next drain. Runs when the stream's base rose since the last time.
     */
    void freeBelow(Stream s, ReplicaVDisk meta, long base) {
        requireLoaded(s, meta);
        if (base <= s.baseFreed) return;
        long blocks = s.imageBlocks;
        for (Map.Entry<Long, StoreObject> e : new ArrayList<>(s.vblocks.entrySet())) {
            ReplicaImage.Table t = loadTable(s, meta, e.getKey());
            if (t == null) continue;
            int before = s.present.getOrDefault(e.getKey(), 0);
            t.dropBelow(base);
            int p = t.present();
            if (t.newest() < base) {
                s.vblocks.remove(e.getKey());
                try {
                    if (!e.getValue().isDeleted()) store.delete(e.getValue());
                } catch (NoSuchObjectException x) {
                    // gone already
                }
            }
            s.present.put(e.getKey(), p);
            blocks += p - before;
        }
        if (s.vblocks.isEmpty() && s.table != null && !s.table.isDeleted()) {
            boolean all = true;
            long[] r = s.ranges;
            if (r.length > 0 && r[r.length - 1] >= base) all = false;
            if (all) {
                store.delete(s.table);
                s.table = null;
                s.ranges = new long[0];
                s.rangesCopy = -1;
                s.rangesGen = 0;
                s.present.clear();
                blocks = 0;
            }
        }
        s.imageBlocks = blocks;
        s.baseFreed = base;
    }

    @Override
    public void close() {
        if (ch != null) ch.close();
    }
}
