package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.stargate.api.VDisk;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * A Stargate node on one BlockStore: its vDisk catalog, the shards of every vDisk, the node-wide
 * OpLog index budget and the extent table. Control operations (create, snapshot, clone, delete,
 * close) are thread safe and serialized by one monitor; I/O goes through each {@link VDisk}.
 */
public final class Stargate implements AutoCloseable {
    final BlockDevice device;
    final BlockStore store;
    final StargateOptions options;
    final ExtentTable extents;
    final AtomicLong indexBudget;
    /** Unified Cache bytes not yet given to a shard. */
    final AtomicLong cacheBudget;
    private final Map<String, VDiskController> vdisks = new ConcurrentHashMap<>();
    private final Map<String, StoreObject> records = new HashMap<>();
    private long nextId = 1;
    private volatile boolean closed;
    private volatile Throwable failure;
    /**
     * Reads a range whose stored data failed its checksum from elsewhere (the replicas), fills
     * {@code dst}, rewrites the bad copy and calls {@code done} with the read's final status, on any
     * thread. Called by a shard thread, only on a read that would complete with
     * {@link io.dsf.stargate.api.VDiskStatus#MEDIUM_ERROR}; must not block it.
     */
    public interface ReadRepair {
        /** A read submitted with this tag completes a checksum failure as it is (the repair's own re-reads). */
        long NO_REPAIR = Long.MIN_VALUE;

        void repair(VDisk vdisk, long offset, MemorySegment dst, int length, java.util.function.IntConsumer done);
    }

    volatile ReadRepair readRepair;

    /** Installs (or with null removes) the read repair of checksum failures; see {@link ReadRepair}. */
    public void readRepair(ReadRepair r) { readRepair = r; }

    /** Caller memory for direct reads ({@link #registerMemory}): replaced, never changed in place; shards adopt new entries. */
    volatile MemorySegment[] readRegions = new MemorySegment[0];

    /**
     * Declares native memory the caller will pass as read buffers (e.g. its I/O buffer region, or
     * mapped guest memory), so that a read into it goes from the Extent Store or OpLog straight into
     * the caller's buffer, verified there, instead of through a shard's bounce buffer and a copy;
     * a missed block the Unified Cache admits is then filled from the caller's buffer. Reads into
     * other memory are served as before. The region must be memory the device can do I/O to (any
     * native memory for mem, null, file and uring devices; memory from the device's
     * {@code allocateDma} for spdk: a read the device refuses is served through a bounce buffer and
     * the region is not used directly again), usable from any thread (not confined), and must stay
     * valid until this node is closed. A buffer is used directly when it lies inside one region and
     * is aligned to the device's buffer alignment. Control path; any thread.
     */
    public synchronized void registerMemory(MemorySegment region) {
        if (region == null || !region.isNative() || region.byteSize() == 0)
            throw new IllegalArgumentException("a read region must be non-empty native memory: " + region);
        MemorySegment[] old = readRegions;
        for (MemorySegment m : old)
            if (region.address() >= m.address() && region.address() + region.byteSize() <= m.address() + m.byteSize()) return;
        MemorySegment[] next = java.util.Arrays.copyOf(old, old.length + 1);
        next[old.length] = region;
        readRegions = next;
    }

    /** Makes each shard's OpLog replicator (null: RF1, no replication). */
    final io.dsf.stargate.replication.BatchReplicator.Factory replication;

    private Stargate(BlockDevice device, BlockStore store, StargateOptions options,
                     io.dsf.stargate.replication.BatchReplicator.Factory replication) {
        this.device = device;
        this.store = store;
        this.options = options;
        this.replication = replication;
        this.extents = new ExtentTable(store, options.egroupExtents());
        this.indexBudget = new AtomicLong(options.oplogIndexBudget());
        this.cacheBudget = new AtomicLong(options.cacheBytes());
    }

    /**
     * Opens the Stargate state kept in {@code store} (none on a fresh store), recovering every
     * vDisk: block maps from their logs, OpLogs replayed by their shards, unreferenced extent groups
     * and half-made vDisks removed. The caller keeps ownership of the store and device.
     */
    public static Stargate open(BlockDevice device, BlockStore store, StargateOptions options) {
        return open(device, store, options, null);
    }

    /**
     * As {@link #open(BlockDevice, BlockStore, StargateOptions)}, with every vDisk shard's OpLog
     * batches replicated through a replicator from {@code replication} (null: none, RF1); see
     * ARCHITECTURE.md, "Replication".
     */
    public static Stargate open(BlockDevice device, BlockStore store, StargateOptions options,
                                io.dsf.stargate.replication.BatchReplicator.Factory replication) {
        Stargate sg = new Stargate(device, store, options, replication);
        sg.load();
        return sg;
    }

    private void load() {
        Map<Long, Catalog.VDiskRecord> recs = new HashMap<>();
        Map<Long, StoreObject> recObjs = new HashMap<>();
        Map<Long, List<StoreObject>> segsByVd = new HashMap<>(), mapsByVd = new HashMap<>(), rplByVd = new HashMap<>();
        List<StoreObject> stale = new ArrayList<>();
        for (StoreObject o : store.objects()) {
            switch (Catalog.type(store, o)) {
                case Catalog.VDISK -> {
                    Catalog.VDiskRecord r = Catalog.VDiskRecord.read(store, o);
                    nextId = Math.max(nextId, r.id() + 1);
                    recs.put(r.id(), r);
                    recObjs.put(r.id(), o);
                }
                case Catalog.SEGMENT -> segsByVd.computeIfAbsent(Catalog.vdisk(store, o), k -> new ArrayList<>()).add(o);
                case Catalog.MAP -> mapsByVd.computeIfAbsent(Catalog.vdisk(store, o), k -> new ArrayList<>()).add(o);
                case Catalog.REPLICA_PEERS -> rplByVd.computeIfAbsent(Catalog.vdisk(store, o), k -> new ArrayList<>()).add(o);
                case ExtentTable.TYPE -> extents.adopt(o);
                default -> { }
            }
        }
        // half-made vDisks (a crash during create, snapshot or clone) go away with everything they own
        for (var it = recs.values().iterator(); it.hasNext(); ) {
            Catalog.VDiskRecord r = it.next();
            if (!r.ready()) {
                it.remove();
                stale.add(recObjs.remove(r.id()));
            }
        }
        for (var e : segsByVd.entrySet()) if (!recs.containsKey(e.getKey())) stale.addAll(e.getValue());
        for (var e : mapsByVd.entrySet()) if (!recs.containsKey(e.getKey())) stale.addAll(e.getValue());
        for (var e : rplByVd.entrySet()) if (!recs.containsKey(e.getKey())) stale.addAll(e.getValue());

        Map<Long, ShardState[]> states = new HashMap<>();
        Map<Long, List<List<StoreObject>>> segLists = new HashMap<>();
        StoreChannel ch = store.openChannel(4, 64 << 10, 2, (t, s) -> { });
        try {
            MemorySegment page = ch.buffers().buffer(ch.buffers().acquire()).asSlice(0, Formats.PAGE);
            ByteBuffer view = page.asByteBuffer();
            CRC32C crc = new CRC32C();
            for (Catalog.VDiskRecord r : recs.values()) {
                ShardState[] st = new ShardState[r.shards()];
                List<List<StoreObject>> sl = new ArrayList<>();
                for (int i = 0; i < r.shards(); i++) {
                    st[i] = new ShardState();
                    sl.add(new ArrayList<>());
                }
                for (StoreObject o : segsByVd.getOrDefault(r.id(), List.of())) {
                    int s = Catalog.shard(store, o);
                    if (s >= 0 && s < r.shards()) sl.get(s).add(o);
                    else stale.add(o);
                }
                List<StoreObject> maps = new ArrayList<>(mapsByVd.getOrDefault(r.id(), List.of()));
                maps.sort((a, b) -> Long.compare(Catalog.number(store, b), Catalog.number(store, a))); // newest first
                for (StoreObject o : maps) {
                    int s = Catalog.shard(store, o);
                    if (s < 0 || s >= r.shards() || st[s].mapObj != null || !loadMap(ch, o, st[s], page, view, crc)) stale.add(o);
                }
                for (StoreObject o : rplByVd.getOrDefault(r.id(), List.of())) {
                    int s = Catalog.shard(store, o);
                    if (s >= 0 && s < r.shards() && st[s].replicaPeers == null) st[s].replicaPeers = o;
                    else stale.add(o);
                }
                for (int i = 0; i < r.shards(); i++) {
                    if (st[i].mapObj == null)
                        throw new IllegalStateException("vDisk " + r.name() + " shard " + i + " has no complete block-map log on " + store.deviceUri());
                    for (var it = st[i].mapExt.values().iterator(); it.hasNext(); ) {
                        long ext = it.nextValue();
                        if (ext != ExtentTable.NONE) extents.loadRef(ext);
                    }
                }
                states.put(r.id(), st);
                segLists.put(r.id(), sl);
            }
        } finally {
            ch.close();
        }
        for (StoreObject o : stale) if (o != null && !o.isDeleted()) store.delete(o);
        extents.collectUnreferenced();
        store.sync();
        for (Catalog.VDiskRecord r : recs.values()) {
            VDiskController vd = new VDiskController(this, r, states.get(r.id()), segLists.get(r.id()));
            vd.start();
            vdisks.put(r.name(), vd);
            records.put(r.name(), recObjs.get(r.id()));
        }
        store.sync();
    }

    /** Loads a block-map log; false when it holds no complete checkpoint (a crash while writing it). */
    private boolean loadMap(StoreChannel ch, StoreObject o, ShardState st, MemorySegment page, ByteBuffer view, CRC32C crc) {
        long pos = 0, pageSeq = 0;
        boolean complete = false;
        var ext = new org.agrona.collections.Long2LongHashMap(Shard.MISSING);
        var seq = new org.agrona.collections.Long2LongHashMap(-1);
        while (pos + Formats.PAGE <= o.size()) {
            try {
                ch.readBlocking(o, pos, page, Formats.PAGE);
            } catch (RuntimeException e) {
                break;
            }
            if (!Formats.mapPageValid(page, o.id(), pageSeq, view, 0, crc)) break;
            int n = Formats.mapCount(page);
            for (int i = 0; i < n; i++) {
                long vb = Formats.mapVBlock(page, i);
                ext.put(vb, Formats.mapExtent(page, i));
                long s = Formats.mapSeq(page, i);
                if (s > seq.get(vb)) seq.put(vb, s);
            }
            if ((Formats.mapFlags(page) & Formats.MAP_FLAG_CHECKPOINT_END) != 0) complete = true;
            pos += Formats.PAGE;
            pageSeq++;
        }
        if (!complete) return false;
        st.mapExt.putAll(ext);
        st.mapSeq.putAll(seq);
        st.mapObj = o;
        st.mapGen = Catalog.number(store, o);
        st.mapPos = pos;
        st.mapPageSeq = pageSeq;
        return true;
    }

    /** Creates a thin vDisk with the default shard count. */
    public VDisk create(String name, long size) { return create(name, size, options.shards()); }

    /** Creates a thin vDisk of {@code size} bytes (a multiple of 4096, at most 2^63 - 4096) with {@code shards} shards. */
    public synchronized VDisk create(String name, long size, int shards) {
        ensureOpen();
        Catalog.checkName(name);
        if (size <= 0 || (size & 4095) != 0) throw new IllegalArgumentException("vDisk size must be a positive multiple of 4096: " + size);
        if (shards < 1 || shards > 64) throw new IllegalArgumentException("shards must be 1..64: " + shards);
        if (vdisks.containsKey(name)) throw new IllegalArgumentException("vDisk " + name + " already exists");
        ShardState[] st = new ShardState[shards];
        for (int i = 0; i < shards; i++) st[i] = new ShardState();
        return make(new Catalog.VDiskRecord(nextId++, name, size, shards, false, 0, false), st);
    }

    private VDiskController make(Catalog.VDiskRecord rec, ShardState[] states) {
        StoreObject recObj = store.create(0, 4096, rec.attrs());
        List<List<StoreObject>> segs = new ArrayList<>();
        for (int i = 0; i < rec.shards(); i++) segs.add(List.of());
        VDiskController vd = new VDiskController(this, rec, states, segs);
        try {
            vd.start();
        } catch (RuntimeException e) {
            store.delete(recObj);
            throw e;
        }
        store.setAttribute(recObj, "ok", new byte[]{1});
        store.sync();
        vdisks.put(rec.name(), vd);
        records.put(rec.name(), recObj);
        return vd;
    }

    /**
     * Takes a read-only snapshot of {@code source} named {@code name}: the source's OpLog is
     * drained, its block map copied (metadata only; extents become shared and are copied on the
     * next write to them by either side). The source stays writable.
     */
    public synchronized VDisk snapshot(String source, String name) { return derive(source, name, true); }

    /** Makes a writable clone of {@code source} (a snapshot or a live vDisk) named {@code name}; metadata only. */
    public synchronized VDisk clone(String source, String name) { return derive(source, name, false); }

    private VDisk derive(String source, String name, boolean readOnly) {
        ensureOpen();
        Catalog.checkName(name);
        VDiskController src = vdisks.get(source);
        if (src == null) throw new IllegalArgumentException("no vDisk named " + source);
        if (vdisks.containsKey(name)) throw new IllegalArgumentException("vDisk " + name + " already exists");
        ShardState[] st = new ShardState[src.shards.length];
        for (int i = 0; i < st.length; i++) st[i] = new ShardState();
        src.control(IoEvent.SNAPSHOT, st);
        // the shards counted the new references while copying (so no extent can be freed in between)
        try {
            return make(new Catalog.VDiskRecord(nextId++, name, src.size, st.length, readOnly, src.id, false), st);
        } catch (RuntimeException e) {
            for (ShardState s : st) for (var it = s.mapExt.values().iterator(); it.hasNext(); ) {
                long ext = it.nextValue();
                if (ext != ExtentTable.NONE) extents.decref(ext);
            }
            throw e;
        }
    }

    /** Deletes a vDisk: its shards stop, its OpLog and map go, extents nothing else references are freed. */
    public synchronized void delete(String name) {
        ensureOpen();
        VDiskController vd = vdisks.remove(name);
        if (vd == null) throw new IllegalArgumentException("no vDisk named " + name);
        vd.stop();
        StoreObject rec = records.remove(name);
        store.setAttribute(rec, "ok", new byte[]{0}); // a crash from here on finishes the delete at open
        store.sync();
        for (Shard s : vd.shards) {
            for (var it = s.mapExt.values().iterator(); it.hasNext(); ) {
                long ext = it.nextValue();
                if (ext != ExtentTable.NONE) extents.decref(ext);
            }
            for (StoreObject o : s.segmentObjects()) store.delete(o);
            if (s.mapObject() != null) store.delete(s.mapObject());
            StoreObject rp = s.replicaPeersObject();
            if (rp != null && !rp.isDeleted()) store.delete(rp);
        }
        store.delete(rec);
        store.sync();
    }

    /** Forces every shard of {@code name} to drain its OpLog into the Extent Store; returns when done. */
    public void drain(String name) {
        VDiskController vd = vdisks.get(name);
        if (vd == null) throw new IllegalArgumentException("no vDisk named " + name);
        vd.control(IoEvent.DRAIN_ALL, null);
    }

    public VDisk vdisk(String name) { return vdisks.get(name); }

    public VDiskController controller(String name) { return vdisks.get(name); }

    /** The catalog: name, size, read-only flag and parent of every vDisk. */
    public List<Info> list() {
        List<Info> l = new ArrayList<>();
        Map<Long, String> byId = new HashMap<>();
        for (VDiskController v : vdisks.values()) byId.put(v.id, v.name);
        for (VDiskController v : vdisks.values())
            l.add(new Info(v.name, v.size, v.readOnly, v.shards.length, v.parent == 0 ? null : byId.getOrDefault(v.parent, "#" + v.parent)));
        l.sort((a, b) -> a.name().compareTo(b.name()));
        return l;
    }

    /** One catalog entry. */
    public record Info(String name, long size, boolean readOnly, int shards, String parent) {}

    /**
     * Statistics of vDisk {@code name} since the previous call for it (the interval) and since it
     * was opened (the totals): IOPS, bytes, latency percentiles per kind, errors, OpLog fill and
     * cache hits. Any thread. Flushes complete inline (every acknowledged write is durable) and are
     * not counted.
     */
    public io.dsf.stargate.stats.VDiskStatsSnapshot stats(String name) {
        VDiskController vd = vdisks.get(name);
        if (vd == null) throw new IllegalArgumentException("no vDisk named " + name);
        return vd.stats.snapshot();
    }

    /** {@link #stats(String)} of every vDisk, sorted by name. */
    public List<io.dsf.stargate.stats.VDiskStatsSnapshot> stats() {
        List<io.dsf.stargate.stats.VDiskStatsSnapshot> l = new ArrayList<>();
        for (Info i : list()) {
            VDiskController vd = vdisks.get(i.name());
            if (vd != null) l.add(vd.stats.snapshot());
        }
        return l;
    }

    /** {@link #stats()} as a one-line JSON array of per-vDisk objects. */
    public String statsJson() {
        return io.dsf.stargate.stats.VDiskStatsRegistry.toJson(stats());
    }

    public StargateOptions options() { return options; }

    public BlockStore store() { return store; }

    /** Extent groups and live extents (for tests and statistics). */
    public long liveExtents() { return extents.liveExtents(); }

    public int extentGroups() { return extents.groupCount(); }

    /**
     * A shard's Unified Cache share: {@code cacheBytes / (4 * shards)} (so four vDisks of the default
     * width get full shares), or what is left of the node's cache memory, or 0 when it is spent
     * (that shard reads without a cache). Given back when the shard stops.
     */
    long reserveCache() {
        long want = Math.max(1L << 20, options.cacheBytes() / (4L * options.shards())) & -4096L;
        while (true) {
            long left = cacheBudget.get();
            long take = Math.min(want, left) & -4096L;
            if (take < (256L << 10)) return 0;
            if (cacheBudget.compareAndSet(left, left - take)) return take;
        }
    }

    void releaseCache(long bytes) {
        if (bytes > 0) cacheBudget.addAndGet(bytes);
    }

    void shardFailed(Shard s, Throwable t) {
        failure = t;
        System.err.println("stargate: shard " + s.index + " of vDisk " + s.vd.name + " failed: " + t);
    }

    public Throwable failure() { return failure; }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("Stargate is closed");
    }

    /** Stops every shard (acknowledged data is already durable). The store and device stay open. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (VDiskController vd : vdisks.values()) vd.stop();
        vdisks.clear();
    }
}
