package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.store.format.Crc;
import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.MetaPage;
import io.dsf.blockstore.store.format.Superblock;
import io.dsf.blockstore.store.meta.BlockingBatch;
import io.dsf.blockstore.store.meta.MetaImage;
import io.dsf.blockstore.store.meta.Problem;
import io.dsf.blockstore.store.meta.StoreLoader;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * User-space block management on a raw {@link BlockDevice}: objects (thin, resizable, with
 * attributes) whose data is checksummed per slice, a metadata journal with group commit,
 * checkpoints, and recovery on open after any crash. The on-device format is FORMAT.md.
 *
 * <p>Thread safe: the control path — {@link #create}, {@link #resize}, {@link #delete},
 * {@link #setAttribute}, {@link #attribute}, {@link #attributes}, {@link #find}, {@link #object},
 * {@link #objects}, {@link #sync}, {@link #openChannel}, {@link #stats} — may be called from
 * several threads at once (e.g. one per Stargate shard): object changes serialize on the store
 * lock, held for microseconds and never across device I/O, then append their journal record under
 * the journal lock. Changing an object while another thread's channel has I/O in flight on the
 * range concerned is the callers' race (the store stays consistent; the data is either version).
 * Data moves through {@link StoreChannel}s, one per I/O thread. The store does not own the
 * device: close the store, then the device; a channel leading a journal commit when the store
 * closes finishes it when its thread next polls or closes it (on the closing thread: at once).
 */
public final class BlockStore implements AutoCloseable {
    final BlockDevice device;
    final MetaImage image;
    final Layout layout;
    final JournalWriter journal;
    final UnitAllocator allocator;
    final boolean memoryOnly;
    private final UUID uuid;
    /** Per unit: in-place overwrites submitted and not yet logged in a channel ring (see {@link JournalWriter}). */
    final java.util.concurrent.atomic.AtomicIntegerArray overwrites;
    /** Per unit: when an overwrite last started (a hint for disarming; racy by design). */
    final long[] lastOverwrite;
    /** Per unit: how long it must be quiet before the journal disarms it (0: the default); under the journal lock. */
    final long[] quietNanos;
    /** Per unit: when the journal last disarmed it (0: never); under the journal lock. */
    final long[] disarmedAt;
    /**
     * Per unit: a shrink reset checksums in it, which stays undone on the device until the RESIZE
     * is durable; until a DISARM after it is durable, every write into the unit counts as an
     * overwrite (so it is armed). Set under the journal lock; cleared by the journal thread.
     */
    final java.util.concurrent.atomic.AtomicIntegerArray tailReset;
    private int lostAtOpen;

    private final Object lock = new Object();                 // the store lock: objects
    private final HashMap<Long, StoreObject> byId = new HashMap<>();
    private final StoreObject[] bySlot;
    private final int[] freeSlots;
    private int freeSlotTop;
    private long nextAutoId = 1;
    private volatile boolean closed;

    private final Object channelLock = new Object();
    private volatile StoreChannel[] channels = new StoreChannel[0];

    private BlockStore(BlockDevice device, MetaImage image, Superblock sb) {
        this.device = device;
        this.image = image;
        this.layout = image.layout;
        this.uuid = sb.uuid();
        this.memoryOnly = (sb.flags() & Superblock.FLAG_MEMORY_ONLY) != 0;
        this.bySlot = new StoreObject[layout.maxObjects];
        this.freeSlots = new int[layout.maxObjects];
        this.allocator = new UnitAllocator(layout.unitCount, 16);
        this.overwrites = new java.util.concurrent.atomic.AtomicIntegerArray(layout.unitCount);
        this.lastOverwrite = new long[layout.unitCount];
        this.quietNanos = new long[layout.unitCount];
        this.disarmedAt = new long[layout.unitCount];
        this.tailReset = new java.util.concurrent.atomic.AtomicIntegerArray(layout.unitCount);
        this.journal = new JournalWriter(this, device, image, sb);
    }

    // ------------------------------------------------------------ lifecycle

    /**
     * Formats {@code device} (destroying what it holds) and opens the new, empty store. On
     * {@code null:} the store keeps its metadata in memory only and skips data checksum
     * verification (benchmarks).
     *
     * @throws IllegalArgumentException when the device is too small or its geometry does not fit
     */
    public static BlockStore format(BlockDevice device, FormatOptions options) {
        Geometry g = device.geometry();
        Layout l = Layout.compute(g.capacity(), g.blockSize(), options.sliceSize(), options.unitSize(), options.journalBytes(), options.maxObjects());
        if (g.maxTransfer() < Layout.PAGE) throw new IllegalArgumentException("device max transfer " + g.maxTransfer() + " below 4096");
        boolean memOnly = device.uri().startsWith("null:");
        Superblock sb = new Superblock(UUID.randomUUID(), memOnly ? Superblock.FLAG_MEMORY_ONLY : 0, l, 1, 1, 1, 1);
        MetaImage image = new MetaImage(l);
        writeFormat(device, sb, image);
        BlockStore s = new BlockStore(device, image, sb);
        s.initFree();
        s.journal.start(-1, null);
        return s;
    }

    private static void writeFormat(BlockDevice device, Superblock sb, MetaImage image) {
        Layout l = sb.layout();
        int align = Math.max(Layout.PAGE, device.geometry().bufferAlignment());
        MemorySegment dma = device.allocateDma(Layout.PAGE + align).asSlice(0, Layout.PAGE);
        byte[] page = new byte[Layout.PAGE];
        CRC32C crc = new CRC32C();
        try (BlockingBatch io = new BlockingBatch(device, 1)) {
            // every page starts "never written" (generation 0 in the table); the table itself is generation 1
            for (int p = l.firstGenPage; p < l.metaPages; p++) {
                image.writePayload(p, page);
                MetaPage.seal(crc, page, p, MetaPage.KIND_GENS, 1, sb.nonce());
                writePage(io, dma, page, l.slotOffset(p, 1));
            }
            io.flush();
            sb.encode(page);
            writePage(io, dma, page, l.superBOffset());
            io.flush();
            writePage(io, dma, page, 0);
            io.flush();
        }
    }

    private static void writePage(BlockingBatch io, MemorySegment dma, byte[] page, long offset) {
        MemorySegment.copy(page, 0, dma, ValueLayout.JAVA_BYTE, 0, Layout.PAGE);
        io.write(offset, dma, Layout.PAGE);
        io.await();
    }

    /**
     * Opens the store on {@code device} and recovers it: loads the checkpoint, replays the journal,
     * frees leaked units, rewrites a bad or stale superblock copy, and writes a fresh checkpoint.
     *
     * @throws FormatVersionException when the device holds another format version
     * @throws CorruptStoreException  when the metadata is damaged beyond repair or there is no store
     */
    public static BlockStore open(BlockDevice device) {
        if (device.uri().startsWith("null:"))
            throw new StoreException(StoreStatus.FAILED.code(), "a store on " + device.uri() + " keeps nothing across opens: format it");
        StoreLoader.Result r = StoreLoader.load(device);
        if (r.versionMismatch != null) throw new FormatVersionException(r.versionMismatch);
        if (r.fatal()) throw new CorruptStoreException(device.uri(), r.problems);
        BlockStore s = new BlockStore(device, r.image, r.superblock);
        s.rebuild(r.touched);
        s.lostAtOpen = s.scanArmed(r.touched);
        s.initFree();
        s.journal.start(r.lastSeq, r.touched);
        return s;
    }

    /** Builds live objects from the image, freeing units no object may own (repairs, written by the recovery checkpoint). */
    private void rebuild(BitSet touched) {
        MetaImage img = image;
        HashMap<Long, StoreObject> byHandle = new HashMap<>();
        for (int s = 0; s < layout.maxObjects; s++) {
            long h = img.objHandle[s];
            if (h == 0) continue;
            long units = img.unitsFor(img.objSize[s]);
            StoreObject o = new StoreObject(img.objId[s], h, s, img.objSize[s], new int[(int) units], img.objAttrs[s]);
            bySlot[s] = o;
            byId.put(o.id, o);
            byHandle.put(h, o);
            nextAutoId = Math.max(nextAutoId, o.id + 1);
        }
        for (int u = 0; u < layout.unitCount; u++) {
            long h = img.unitOwner[u];
            if (h != 0) {
                StoreObject o = byHandle.get(h);
                int idx = img.unitIndex[u];
                if (o == null || idx >= o.units.length || o.units[idx] != 0) {
                    img.freeUnit(u);
                    img.markUnitPages(u, false, touched);
                    continue;
                }
                o.units[idx] = u + 1;
            }
            boolean owned = img.unitOwner[u] != 0;
            if (img.bit(u) != owned) {
                img.bitmap[u >>> 6] ^= 1L << u;
                touched.set(layout.bitmapPageOf(u));
            }
        }
        int n = 0;
        for (int s = layout.maxObjects - 1; s >= 0; s--) if (bySlot[s] == null) freeSlots[n++] = s;
        freeSlotTop = n;
    }

    /**
     * Verifies every written slice of the units that were armed for overwrites when the store
     * stopped, records the ones that do not match (torn, or overwritten without their checksum
     * being logged) as lost, and disarms the units. Returns the number of slices lost.
     */
    private int scanArmed(BitSet touched) {
        int spu = layout.slicesPerUnit, lost = 0;
        int chunk = Math.min(layout.unitSize, Math.min(1 << 20, device.geometry().maxTransfer() / layout.sliceSize * layout.sliceSize));
        int perChunk = chunk / layout.sliceSize;
        MemorySegment buf = null;
        java.nio.ByteBuffer view = null;
        CRC32C crc = new CRC32C();
        byte[] scratch = new byte[12];
        BlockingBatch io = null;
        try {
            for (int u = 0; u < layout.unitCount; u++) {
                if (image.armState(u) == MetaImage.UNARMED) continue;
                image.setArmState(u, MetaImage.UNARMED);
                touched.set(layout.unitPageOf(u));
                int[] c = image.crcArray(u);
                if (image.unitOwner[u] == 0 || c == null) continue;
                if (io == null) {
                    int align = Math.max(Layout.PAGE, device.geometry().bufferAlignment());
                    buf = device.allocateDma(chunk + align).asSlice(0, chunk);
                    view = buf.asByteBuffer();
                    io = new BlockingBatch(device, 1);
                }
                for (int first = 0; first < spu; first += perChunk) {
                    boolean any = false;
                    for (int k = 0; k < perChunk && !any; k++) any = c[first + k] != 0 && c[first + k] != Crc.LOST;
                    if (!any) continue;
                    boolean readOk = true;
                    try {
                        io.read(layout.unitOffset(u) + (long) first * layout.sliceSize, buf, chunk);
                        io.await();
                    } catch (RuntimeException e) {
                        readOk = false;
                    }
                    for (int k = 0; k < perChunk; k++) {
                        int want = c[first + k];
                        if (want == 0 || want == Crc.LOST) continue;
                        int p = k * layout.sliceSize;
                        view.clear().position(p).limit(p + layout.sliceSize);
                        if (!readOk || Crc.ofSlice(crc, view, u, first + k, c[spu], scratch) != want) {
                            c[first + k] = Crc.LOST;
                            image.markCrcPages(u, first + k, 1, touched);
                            lost++;
                        }
                    }
                }
            }
        } finally {
            if (io != null) io.close();
        }
        return lost;
    }

    /** Slices recovery recorded as lost when this store was opened (torn overwrites). */
    public int lostAtOpen() { return lostAtOpen; }

    private void initFree() {
        if (freeSlotTop == 0 && byId.isEmpty()) {
            for (int s = layout.maxObjects - 1; s >= 0; s--) freeSlots[freeSlotTop++] = s;
        }
        int[] free = new int[layout.unitCount];
        int n = 0;
        for (int u = 0; u < layout.unitCount; u++) if (image.unitOwner[u] == 0) free[n++] = u;
        allocator.initFree(free, n);
    }

    /**
     * Commits everything, writes a checkpoint (so the next open replays nothing) and stops. Open
     * channels then fail with {@code CLOSED}; close them on their threads. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
        }
        journal.close();
    }

    /** The store lock, under which object entries change (the journal thread serializes object pages under it). */
    Object objectLock() { return lock; }

    /** Stops the journal thread without committing anything more: what a crash leaves (tests). */
    void crashForTesting() {
        synchronized (lock) {
            closed = true;
        }
        journal.crash();
    }

    private void ensureOpen() {
        if (closed) throw new StoreException(StoreStatus.CLOSED.code(), "store on " + device.uri() + " is closed");
        if (journal.state() == JournalWriter.FAILED)
            throw new StoreException(StoreStatus.FAILED.code(), "store on " + device.uri() + " failed: " + journal.failure(), journal.failure());
    }

    // -------------------------------------------------------------- objects

    /** Largest object size: the format's limit, and at most 2^24 units. */
    public long maxObjectSize() { return Math.min(JournalRecord.MAX_OBJECT_SIZE, (long) layout.unitSize << 24); }

    private void checkSize(long size) {
        if (size < 0 || size % layout.sliceSize != 0)
            throw new IllegalArgumentException("object size must be a non-negative multiple of the slice size " + layout.sliceSize + ": " + size);
        if (size > maxObjectSize()) throw new IllegalArgumentException("object size " + size + " above the maximum " + maxObjectSize());
    }

    /** Creates an empty object of {@code size} bytes with an id chosen by the store. */
    public StoreObject create(long size) { return create(0, size, Map.of()); }

    /**
     * Creates an object. Thin: nothing is allocated until written.
     *
     * @param id    the object's id ({@code > 0}), or 0 to let the store pick one
     * @param size  bytes, a multiple of the slice size
     * @param attrs attributes (encoded, at most 224 bytes together)
     * @throws OutOfSpaceException when the object table is full
     * @throws StoreException      with {@link StoreStatus#EXISTS} when {@code id} is taken
     */
    public StoreObject create(long id, long size, Map<String, byte[]> attrs) {
        if (id < 0) throw new IllegalArgumentException("object id must be positive (or 0 for automatic): " + id);
        checkSize(size);
        byte[] a = encodeAttrs(attrs);
        synchronized (lock) {
            ensureOpen();
            if (id == 0) {
                while (byId.containsKey(nextAutoId)) nextAutoId++;
                id = nextAutoId++;
            } else if (byId.containsKey(id)) {
                throw new StoreException(StoreStatus.EXISTS.code(), "object " + id + " already exists on " + device.uri());
            }
            if (freeSlotTop == 0) throw new OutOfSpaceException("object table of " + device.uri() + " is full (" + layout.maxObjects + " objects)");
            int slot = freeSlots[--freeSlotTop];
            long handle = image.nextHandle;
            StoreObject o = new StoreObject(id, handle, slot, size, new int[(int) image.unitsFor(size)], a);
            journal.lock.lock();
            try {
                image.setObject(slot, id, handle, size, a);
                int off = journal.reserveCtl(JournalRecord.CREATE_BASE + a.length);
                JournalRecord.putCreate(journal.ctl(), off, slot, id, handle, size, a);
            } finally {
                journal.lock.unlock();
            }
            bySlot[slot] = o;
            byId.put(id, o);
            if (id >= nextAutoId) nextAutoId = id + 1;
            return o;
        }
    }

    /** The object with {@code id}, or null. */
    public StoreObject find(long id) {
        synchronized (lock) {
            return byId.get(id);
        }
    }

    /** The object with {@code id}. @throws NoSuchObjectException when there is none */
    public StoreObject object(long id) {
        StoreObject o = find(id);
        if (o == null) throw new NoSuchObjectException("no object " + id + " on " + device.uri());
        return o;
    }

    /** All objects, ordered by id. */
    public List<StoreObject> objects() {
        synchronized (lock) {
            List<StoreObject> l = new ArrayList<>(byId.values());
            l.sort((x, y) -> Long.compare(x.id, y.id));
            return l;
        }
    }

    private void live(StoreObject o) {
        if (o == null || o.deleted || o.slot >= bySlot.length || bySlot[o.slot] != o)
            throw new NoSuchObjectException((o == null ? "null object" : o + " does not exist") + " on " + device.uri());
    }

    /**
     * Changes the size of an object. Growing allocates nothing; shrinking frees the units beyond
     * the new end (reusable once this change is durable) and makes the slices beyond it read as
     * zeros should the object grow again. I/O in flight on the cut range is the caller's race.
     */
    public void resize(StoreObject o, long size) {
        checkSize(size);
        synchronized (lock) {
            ensureOpen();
            live(o);
            synchronized (o) {
                int[] old = o.units;
                int keep = (int) image.unitsFor(size);
                int freedCount = 0;
                if (size < o.size) o.size = size;
                journal.lock.lock();
                try {
                    journal.barrierLocked(); // checksums logged before this resize stay before it
                    for (int i = keep; i < old.length; i++) {
                        int v = (int) StoreObject.UNITS.getAcquire(old, i);
                        if (v == 0) continue;
                        image.freeUnit(v - 1);
                        journal.freedUnit(v - 1);
                        freedCount++;
                    }
                    if (size % layout.unitSize != 0 && keep - 1 < old.length) {
                        int v = (int) StoreObject.UNITS.getAcquire(old, keep - 1);
                        if (v != 0) {
                            image.clearTail(v - 1, size);
                            tailReset.set(v - 1, 1);
                            journal.crcTouchedUnit(v - 1);
                        }
                    }
                    image.objSize[o.slot] = size;
                    int off = journal.reserveCtl(JournalRecord.RESIZE_LEN);
                    JournalRecord.putResize(journal.ctl(), off, o.slot, o.handle, size);
                    allocator.addPending(freedCount);
                } finally {
                    journal.lock.unlock();
                }
                o.units = Arrays.copyOf(old, keep);
                o.size = size;
            }
        }
    }

    /** Deletes an object; its units become reusable once the delete is durable. */
    public void delete(StoreObject o) {
        synchronized (lock) {
            ensureOpen();
            live(o);
            synchronized (o) {
                o.deleted = true;
                int[] units = o.units;
                journal.lock.lock();
                try {
                    int n = 0;
                    for (int i = 0; i < units.length; i++) {
                        int v = (int) StoreObject.UNITS.getAcquire(units, i);
                        if (v == 0) continue;
                        image.freeUnit(v - 1);
                        journal.freedUnit(v - 1);
                        n++;
                    }
                    image.clearObject(o.slot);
                    int off = journal.reserveCtl(JournalRecord.DELETE_LEN);
                    JournalRecord.putDelete(journal.ctl(), off, o.slot, o.handle);
                    allocator.addPending(n);
                } finally {
                    journal.lock.unlock();
                }
            }
            bySlot[o.slot] = null;
            byId.remove(o.id);
            freeSlots[freeSlotTop++] = o.slot;
        }
    }

    /** Called by a channel (with a unit from its cache) for the first write into unit {@code index} of {@code o}; returns the unit now there or a negative status. */
    int installUnit(StoreObject o, int index, int unit) {
        synchronized (o) {
            if (o.deleted) return StoreStatus.NO_OBJECT.code();
            int[] units = o.units;
            if (index >= units.length) return StoreStatus.OUT_OF_RANGE.code();
            int cur = units[index];
            if (cur != 0) return cur - 1;
            journal.lock.lock();
            try {
                tailReset.set(unit, 0); // a new generation: nothing old on the device can verify
                int gen = image.allocUnit(unit, o.handle, index);
                int off = journal.reserveCtl(JournalRecord.ALLOC_LEN);
                JournalRecord.putAlloc(journal.ctl(), off, unit, gen, index, o.handle);
            } finally {
                journal.lock.unlock();
            }
            StoreObject.UNITS.setRelease(units, index, unit + 1);
            return unit;
        }
    }

    // ----------------------------------------------------------- attributes

    /** Attribute {@code key} of {@code o}, or null. */
    public byte[] attribute(StoreObject o, String key) {
        byte[] v = decodeAttrs(o.attrs).get(key);
        return v == null ? null : v.clone();
    }

    /** All attributes of {@code o} (a copy, in insertion order). */
    public Map<String, byte[]> attributes(StoreObject o) { return decodeAttrs(o.attrs); }

    /** Sets ({@code value != null}) or removes attribute {@code key}; all attributes together must encode to at most 224 bytes. */
    public void setAttribute(StoreObject o, String key, byte[] value) {
        synchronized (lock) {
            ensureOpen();
            live(o);
            Map<String, byte[]> m = decodeAttrs(o.attrs);
            if (value == null) m.remove(key);
            else m.put(key, value);
            byte[] a = encodeAttrs(m);
            o.attrs = a;
            journal.lock.lock();
            try {
                image.objAttrs[o.slot] = a;
                int off = journal.reserveCtl(JournalRecord.ATTRS_BASE + a.length);
                JournalRecord.putAttrs(journal.ctl(), off, o.slot, o.handle, a);
            } finally {
                journal.lock.unlock();
            }
        }
    }

    /** Encoding: per attribute, u8 key length, key (UTF-8, 1..64 bytes), u8 value length, value. */
    static byte[] encodeAttrs(Map<String, byte[]> attrs) {
        if (attrs == null || attrs.isEmpty()) return MetaImage.NO_ATTRS;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, byte[]> e : attrs.entrySet()) {
            byte[] k = e.getKey() == null ? new byte[0] : e.getKey().getBytes(StandardCharsets.UTF_8);
            byte[] v = e.getValue();
            if (k.length < 1 || k.length > 64) throw new IllegalArgumentException("attribute key must be 1..64 bytes of UTF-8: '" + e.getKey() + "'");
            if (v == null) throw new IllegalArgumentException("attribute '" + e.getKey() + "' has no value");
            if (v.length > 255) throw new IllegalArgumentException("attribute '" + e.getKey() + "' value longer than 255 bytes");
            out.write(k.length);
            out.writeBytes(k);
            out.write(v.length);
            out.writeBytes(v);
        }
        byte[] a = out.toByteArray();
        if (a.length > MetaPage.ATTR_MAX)
            throw new IllegalArgumentException("attributes encode to " + a.length + " bytes, more than the " + MetaPage.ATTR_MAX + " an object can hold");
        return a;
    }

    /** Decodes attributes; tolerates damaged bytes by stopping at the first entry that does not fit. */
    static Map<String, byte[]> decodeAttrs(byte[] a) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        int i = 0;
        while (i < a.length) {
            int kl = a[i] & 0xFF;
            if (kl == 0 || i + 1 + kl >= a.length) break;
            String k = new String(a, i + 1, kl, StandardCharsets.UTF_8);
            int vl = a[i + 1 + kl] & 0xFF;
            int vs = i + 2 + kl;
            if (vs + vl > a.length) break;
            m.put(k, Arrays.copyOfRange(a, vs, vs + vl));
            i = vs + vl;
        }
        return m;
    }

    // ------------------------------------------------------------- channels

    /** Opens a channel for the calling thread with {@code depth} requests and {@code depth} 64 KiB buffers. */
    public StoreChannel openChannel(int depth, StoreCompletionHandler handler) {
        return openChannel(depth, 64 << 10, depth, handler);
    }

    /**
     * Opens a channel for the calling thread.
     *
     * @param bufferSize size of each buffer in {@link StoreChannel#buffers()} (a multiple of the
     *                   slice size; also the channel's largest request, up to 1 MiB)
     */
    public StoreChannel openChannel(int depth, int bufferSize, int bufferCount, StoreCompletionHandler handler) {
        if (bufferSize <= 0 || bufferSize % layout.sliceSize != 0)
            throw new IllegalArgumentException("buffer size must be a positive multiple of the slice size " + layout.sliceSize + ": " + bufferSize);
        ensureOpen();
        StoreChannel c = new StoreChannel(this, depth, bufferSize, bufferCount, handler);
        synchronized (channelLock) {
            StoreChannel[] a = Arrays.copyOf(channels, channels.length + 1);
            a[a.length - 1] = c;
            channels = a;
        }
        return c;
    }

    StoreChannel[] channelArray() { return channels; }

    void removeChannel(StoreChannel c) {
        synchronized (channelLock) {
            StoreChannel[] a = channels;
            for (int i = 0; i < a.length; i++) {
                if (a[i] == c) {
                    StoreChannel[] b = new StoreChannel[a.length - 1];
                    System.arraycopy(a, 0, b, 0, i);
                    System.arraycopy(a, i + 1, b, i, a.length - i - 1);
                    channels = b;
                    return;
                }
            }
        }
    }

    void wakeChannels() {
        for (StoreChannel c : channels) c.wakeIfWaiting();
    }

    // ----------------------------------------------------------------- sync

    /** For diagnostics: the journal's sync tickets and who holds its commit token right now (racy). */
    public String describeJournal() { return journal.describe(); }

    /**
     * Returns once every object change made before the call, and every write any channel
     * completed before the call, is durable (one group commit with device flush).
     */
    public void sync() {
        ensureOpen();
        journal.awaitTicket(journal.requestSync());
    }

    // ---------------------------------------------------------------- info

    public String deviceUri() { return device.uri(); }

    public UUID uuid() { return uuid; }

    public Layout layout() { return layout; }

    public int sliceSize() { return layout.sliceSize; }

    public int unitSize() { return layout.unitSize; }

    /** Whether metadata lives in memory only ({@code null:} benchmarks). */
    public boolean memoryOnly() { return memoryOnly; }

    public StoreStats stats() {
        int objects;
        synchronized (lock) {
            objects = byId.size();
        }
        int used;
        journal.lock.lock();
        try {
            used = image.allocatedUnits();
        } finally {
            journal.lock.unlock();
        }
        return new StoreStats(layout.unitCount, layout.unitSize, used, allocator.free(), allocator.cached(), allocator.pending(), objects,
                journal.journalUsed(), layout.ringPages, journal.generation(), journal.commits(), journal.checkpoints());
    }

    @Override
    public String toString() { return "BlockStore " + uuid + " on " + device.uri(); }

}
