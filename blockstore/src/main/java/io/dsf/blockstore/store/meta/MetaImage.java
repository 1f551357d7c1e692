package io.dsf.blockstore.store.meta;

import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.LE;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.MetaPage;
import org.agrona.collections.IntArrayList;
import org.agrona.collections.Long2ObjectHashMap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.BitSet;

/**
 * All BlockStore metadata in memory, in the shape of the metadata pages: the object table by slot,
 * the unit table, the slice checksums of every allocated unit, the allocation bitmap and the
 * generation table. It serializes and parses metadata pages and applies journal records.
 *
 * <p>Threading: loading and replay are single threaded. In a live store, object entries change
 * under the store lock, units and the bitmap under the journal lock, and a unit's checksum
 * entries are written by the channel that completed the write; the journal thread reads all of
 * it without locks to write checkpoints, which is safe because every change not yet in a
 * checkpoint is also in the journal after the checkpoint's replay start.
 */
public final class MetaImage {
    private static final VarHandle CRC_ARRAYS = MethodHandles.arrayElementVarHandle(int[][].class);
    private static final VarHandle INTS = MethodHandles.arrayElementVarHandle(int[].class);
    /** Arm states of a unit: no in-place overwrite may start / ARM logged, not yet durable / ARM durable. */
    public static final int UNARMED = 0, ARMING = 1, ARMED = 2;
    public static final byte[] NO_ATTRS = new byte[0];

    public final Layout layout;
    public final int slicesPerUnit;

    public final long[] objId;
    public final long[] objHandle;
    public final long[] objSize;
    public final byte[][] objAttrs;

    public final long[] unitOwner;
    public final int[] unitIndex;
    public final int[] unitGen;
    private final int[][] crcs;
    public final long[] bitmap;
    private final int[] armState;

    /** Per page other than the generation table: generation << 1 | slot of its current version (0: never written). */
    public final long[] genTable;

    public long nextHandle = 1;

    // replay only
    private Long2ObjectHashMap<IntArrayList> unitsByHandle;
    private BitSet touched;

    public MetaImage(Layout layout) {
        this.layout = layout;
        this.slicesPerUnit = layout.slicesPerUnit;
        int m = layout.maxObjects, n = layout.unitCount;
        objId = new long[m];
        objHandle = new long[m];
        objSize = new long[m];
        objAttrs = new byte[m][];
        Arrays.fill(objAttrs, NO_ATTRS);
        unitOwner = new long[n];
        unitIndex = new int[n];
        unitGen = new int[n];
        crcs = new int[n][];
        bitmap = new long[(n + 63) >>> 6];
        armState = new int[n];
        genTable = new long[layout.dataPages];
    }

    // ------------------------------------------------------------------ units

    /**
     * The checksum array of an allocated unit (acquire), or null when the unit is free: one entry
     * per slice, then the allocation generation it belongs to (a new array per allocation, so a
     * write that raced with a free updates a detached array, never the next owner's).
     */
    public int[] crcArray(int unit) { return (int[]) CRC_ARRAYS.getAcquire(crcs, unit); }

    /** The unit's arm state (volatile read). */
    public int armState(int unit) { return (int) INTS.getVolatile(armState, unit); }

    /** Sets the unit's arm state (volatile write); changes happen under the journal lock. */
    public void setArmState(int unit, int state) {
        INTS.setVolatile(armState, unit, state);
        if (touched != null) touched.set(layout.unitPageOf(unit));
    }

    public boolean bit(int unit) { return (bitmap[unit >>> 6] & (1L << unit)) != 0; }

    private void setBit(int unit, boolean on) {
        if (on) bitmap[unit >>> 6] |= 1L << unit;
        else bitmap[unit >>> 6] &= ~(1L << unit);
    }

    /** Allocates {@code unit} to {@code handle} at {@code index} with the next generation; returns it. */
    public int allocUnit(int unit, long handle, int index) {
        int gen = unitGen[unit] + 1;
        setUnit(unit, handle, index, gen);
        return gen;
    }

    private void setUnit(int unit, long handle, int index, int gen) {
        unitGen[unit] = gen;
        unitIndex[unit] = index;
        unitOwner[unit] = handle;
        int[] a = new int[slicesPerUnit + 1];
        a[slicesPerUnit] = gen;
        CRC_ARRAYS.setRelease(crcs, unit, a);
        INTS.setVolatile(armState, unit, UNARMED);
        setBit(unit, true);
        if (touched != null) touchUnit(unit, true);
    }

    /** Frees {@code unit} (keeps its generation). */
    public void freeUnit(int unit) {
        unitOwner[unit] = 0;
        unitIndex[unit] = 0;
        CRC_ARRAYS.setRelease(crcs, unit, (int[]) null);
        INTS.setVolatile(armState, unit, UNARMED);
        setBit(unit, false);
        if (touched != null) touchUnit(unit, false);
    }

    /** Marks the pages of a unit's table entry and bitmap bit (and checksums when {@code crcToo}) in {@code dirty}. */
    public void markUnitPages(int unit, boolean crcToo, BitSet dirty) {
        dirty.set(layout.unitPageOf(unit));
        dirty.set(layout.bitmapPageOf(unit));
        if (crcToo) markCrcPages(unit, 0, slicesPerUnit, dirty);
    }

    public void markCrcPages(int unit, int first, int n, BitSet dirty) {
        int a = layout.crcPageOf(unit, first), b = layout.crcPageOf(unit, first + n - 1);
        dirty.set(a, b + 1);
    }

    private void touchUnit(int unit, boolean crcToo) { markUnitPages(unit, crcToo, touched); }

    /** Number of allocated units (scans the bitmap). */
    public int allocatedUnits() {
        int c = 0;
        for (long w : bitmap) c += Long.bitCount(w);
        return c;
    }

    /**
     * Resets the checksums of the slices of {@code unit} at or beyond object size {@code size}
     * (the unit holding the new end after a shrink), so they read as zeros if the object grows again.
     */
    public void clearTail(int unit, long size) {
        int[] c = crcArray(unit);
        if (c == null) return;
        int from = (int) ((size % layout.unitSize) / layout.sliceSize);
        for (int s = from; s < slicesPerUnit; s++) c[s] = 0;
        if (touched != null && from < slicesPerUnit) markCrcPages(unit, from, slicesPerUnit - from, touched);
    }

    // ---------------------------------------------------------------- objects

    public void setObject(int slot, long id, long handle, long size, byte[] attrs) {
        objId[slot] = id;
        objSize[slot] = size;
        objAttrs[slot] = attrs;
        objHandle[slot] = handle;
        if (handle >= nextHandle) nextHandle = handle + 1;
        if (touched != null) touched.set(layout.objectPageOf(slot));
    }

    public void clearObject(int slot) {
        objHandle[slot] = 0;
        objId[slot] = 0;
        objSize[slot] = 0;
        objAttrs[slot] = NO_ATTRS;
        if (touched != null) touched.set(layout.objectPageOf(slot));
    }

    /** Units an object of {@code size} bytes may own. */
    public long unitsFor(long size) { return (size + layout.unitSize - 1) / layout.unitSize; }

    // ----------------------------------------------------------------- replay

    /** Prepares for {@link #apply}: indexes units by owner and records every page replay changes in {@code touchedPages}. */
    public void beginReplay(BitSet touchedPages) {
        touched = touchedPages;
        unitsByHandle = new Long2ObjectHashMap<>();
        for (int u = 0; u < unitOwner.length; u++) if (unitOwner[u] != 0) unitsOf(unitOwner[u]).addInt(u);
    }

    public void endReplay() {
        touched = null;
        unitsByHandle = null;
    }

    private IntArrayList unitsOf(long handle) {
        IntArrayList l = unitsByHandle.get(handle);
        if (l == null) unitsByHandle.put(handle, l = new IntArrayList());
        return l;
    }

    private void freeUnitsOf(long handle, long fromIndex) {
        if (unitsByHandle == null) { // outside a replay: scan
            for (int u = 0; u < unitOwner.length; u++)
                if (unitOwner[u] == handle && (unitIndex[u] & 0xFFFFFFFFL) >= fromIndex) freeUnit(u);
            return;
        }
        IntArrayList l = unitsByHandle.get(handle);
        if (l == null) return;
        for (int i = l.size() - 1; i >= 0; i--) {
            int u = l.getInt(i);
            if (unitOwner[u] != handle) l.fastUnorderedRemove(i);        // re-owned since: stale entry
            else if ((unitIndex[u] & 0xFFFFFFFFL) >= fromIndex) {
                freeUnit(u);
                l.fastUnorderedRemove(i);
            }
        }
    }

    /** Applies one record already validated by {@link JournalRecord#check}. */
    public void apply(byte[] b, int off) {
        switch (JournalRecord.type(b, off)) {
            case JournalRecord.CREATE -> {
                int n = JournalRecord.createAttrLen(b, off);
                setObject(JournalRecord.slot(b, off), JournalRecord.createId(b, off), JournalRecord.createHandle(b, off),
                        JournalRecord.createSize(b, off), Arrays.copyOfRange(b, off + JournalRecord.CREATE_BASE, off + JournalRecord.CREATE_BASE + n));
            }
            case JournalRecord.RESIZE -> {
                int slot = JournalRecord.slot(b, off);
                long h = JournalRecord.handle(b, off), size = JournalRecord.resizeSize(b, off);
                if (objHandle[slot] == h) {
                    objSize[slot] = size;
                    if (touched != null) touched.set(layout.objectPageOf(slot));
                }
                freeUnitsOf(h, unitsFor(size));
                IntArrayList l = unitsByHandle == null ? null : unitsByHandle.get(h);
                if (l != null && size % layout.unitSize != 0) {
                    for (int i = 0; i < l.size(); i++) {
                        int u = l.getInt(i);
                        if (unitOwner[u] == h && unitIndex[u] == size / layout.unitSize) clearTail(u, size);
                    }
                }
            }
            case JournalRecord.DELETE -> {
                int slot = JournalRecord.slot(b, off);
                long h = JournalRecord.handle(b, off);
                if (objHandle[slot] == h) clearObject(slot);
                freeUnitsOf(h, 0);
            }
            case JournalRecord.ATTRS -> {
                int slot = JournalRecord.slot(b, off);
                if (objHandle[slot] == JournalRecord.handle(b, off)) {
                    int n = JournalRecord.attrsLen(b, off);
                    objAttrs[slot] = Arrays.copyOfRange(b, off + JournalRecord.ATTRS_BASE, off + JournalRecord.ATTRS_BASE + n);
                    if (touched != null) touched.set(layout.objectPageOf(slot));
                }
            }
            case JournalRecord.ALLOC -> {
                int u = JournalRecord.unit(b, off);
                long h = JournalRecord.allocHandle(b, off);
                setUnit(u, h, JournalRecord.allocIndex(b, off), JournalRecord.gen(b, off));
                if (unitsByHandle != null) unitsOf(h).addInt(u);
            }
            case JournalRecord.FREE -> freeUnit(JournalRecord.unit(b, off));
            case JournalRecord.CRC, JournalRecord.INTENT -> {
                int u = JournalRecord.unit(b, off);
                int[] c = crcs[u];
                if (c != null && unitOwner[u] != 0 && unitGen[u] == JournalRecord.gen(b, off)) {
                    int first = JournalRecord.crcFirst(b, off), n = JournalRecord.crcCount(b, off);
                    for (int i = 0; i < n; i++) c[first + i] = JournalRecord.crcAt(b, off, i);
                    if (touched != null) markCrcPages(u, first, n, touched);
                }
            }
            case JournalRecord.ARM, JournalRecord.DISARM -> {
                int u = JournalRecord.unit(b, off);
                if (unitOwner[u] != 0 && unitGen[u] == JournalRecord.gen(b, off))
                    setArmState(u, JournalRecord.type(b, off) == JournalRecord.ARM ? ARMED : UNARMED);
            }
            default -> throw new IllegalStateException("unvalidated record type " + JournalRecord.type(b, off));
        }
    }

    /**
     * Marks the pages a live record changes in {@code dirty} (the journal thread, as it drains
     * records; units freed by DELETE and RESIZE are marked from the list handed over with them).
     */
    public void markDirty(byte[] b, int off, BitSet dirty) {
        switch (JournalRecord.type(b, off)) {
            case JournalRecord.CREATE, JournalRecord.RESIZE, JournalRecord.DELETE, JournalRecord.ATTRS ->
                    dirty.set(layout.objectPageOf(JournalRecord.slot(b, off)));
            case JournalRecord.ALLOC -> markUnitPages(JournalRecord.unit(b, off), true, dirty);
            case JournalRecord.FREE -> markUnitPages(JournalRecord.unit(b, off), false, dirty);
            case JournalRecord.ARM, JournalRecord.DISARM -> dirty.set(layout.unitPageOf(JournalRecord.unit(b, off)));
            case JournalRecord.CRC, JournalRecord.INTENT -> markCrcPages(JournalRecord.unit(b, off), JournalRecord.crcFirst(b, off), JournalRecord.crcCount(b, off), dirty);
            default -> { }
        }
    }

    // ------------------------------------------------------------------ pages

    /** Fills the payload of logical page {@code page} into {@code p} (header left for {@link MetaPage#seal}). */
    public void writePayload(int page, byte[] p) {
        Arrays.fill(p, 0, Layout.PAGE, (byte) 0);
        int base = Layout.META_HEADER;
        Layout l = layout;
        switch (l.kindOf(page)) {
            case MetaPage.KIND_OBJECTS -> {
                int first = page * Layout.OBJECTS_PER_PAGE;
                for (int i = 0; i < Layout.OBJECTS_PER_PAGE && first + i < l.maxObjects; i++) {
                    int s = first + i, o = base + i * Layout.OBJECT_ENTRY;
                    long h = objHandle[s];
                    if (h == 0) continue;
                    byte[] a = objAttrs[s];
                    LE.i64(p, o, objId[s]);
                    LE.i64(p, o + 8, h);
                    LE.i64(p, o + 16, objSize[s]);
                    LE.u16(p, o + 24, a.length);
                    System.arraycopy(a, 0, p, o + 32, a.length);
                }
            }
            case MetaPage.KIND_UNITS -> {
                int first = (page - l.firstUnitPage) * Layout.UNITS_PER_PAGE;
                for (int i = 0; i < Layout.UNITS_PER_PAGE && first + i < l.unitCount; i++) {
                    int u = first + i, o = base + i * Layout.UNIT_ENTRY;
                    long owner = unitOwner[u];
                    LE.i64(p, o, owner);
                    LE.i32(p, o + 8, unitIndex[u] | (owner != 0 && armState(u) != UNARMED ? 1 << 31 : 0));
                    LE.i32(p, o + 12, unitGen[u]);
                }
            }
            case MetaPage.KIND_CRCS -> {
                long first = (long) (page - l.firstCrcPage) * Layout.CRCS_PER_PAGE;
                long total = (long) l.unitCount * slicesPerUnit;
                int i = 0;
                while (i < Layout.CRCS_PER_PAGE && first + i < total) {
                    long g = first + i;
                    int u = (int) (g / slicesPerUnit), s = (int) (g % slicesPerUnit);
                    int n = Math.min(Layout.CRCS_PER_PAGE - i, slicesPerUnit - s);
                    int[] c = crcArray(u);
                    if (c != null) for (int k = 0; k < n; k++) LE.i32(p, base + 4 * (i + k), c[s + k]);
                    i += n;
                }
            }
            case MetaPage.KIND_BITMAP -> {
                int firstWord = (page - l.firstBitmapPage) * (Layout.BITS_PER_PAGE / 64);
                for (int w = 0; w < Layout.BITS_PER_PAGE / 64 && firstWord + w < bitmap.length; w++)
                    LE.i64(p, base + 8 * w, bitmap[firstWord + w]);
            }
            case MetaPage.KIND_GENS -> {
                int first = (page - l.firstGenPage) * Layout.GENS_PER_PAGE;
                for (int i = 0; i < Layout.GENS_PER_PAGE && first + i < genTable.length; i++)
                    LE.i64(p, base + 8 * i, genTable[first + i]);
            }
            default -> throw new IllegalArgumentException("page " + page);
        }
    }

    /**
     * Parses the payload of a verified page into this image. Checksum pages must be parsed after
     * every unit page (they fill the arrays of allocated units). Entries that make no sense are
     * reported to {@code problems} and skipped.
     */
    public void readPayload(int page, byte[] p, java.util.List<Problem> problems) {
        int base = Layout.META_HEADER;
        Layout l = layout;
        switch (l.kindOf(page)) {
            case MetaPage.KIND_OBJECTS -> {
                int first = page * Layout.OBJECTS_PER_PAGE;
                for (int i = 0; i < Layout.OBJECTS_PER_PAGE && first + i < l.maxObjects; i++) {
                    int s = first + i, o = base + i * Layout.OBJECT_ENTRY;
                    long h = LE.i64(p, o + 8);
                    if (h == 0) continue;
                    long id = LE.i64(p, o), size = LE.i64(p, o + 16);
                    int n = LE.u16(p, o + 24);
                    if (h < 0 || id <= 0 || size < 0 || size > JournalRecord.MAX_OBJECT_SIZE || n > MetaPage.ATTR_MAX) {
                        problems.add(new Problem(Problem.Severity.FATAL, "object table slot " + s + " (metadata page " + page + ")",
                                "malformed entry: id " + id + ", handle " + h + ", size " + size + ", attribute bytes " + n));
                        continue;
                    }
                    setObject(s, id, h, size, Arrays.copyOfRange(p, o + 32, o + 32 + n));
                }
            }
            case MetaPage.KIND_UNITS -> {
                int first = (page - l.firstUnitPage) * Layout.UNITS_PER_PAGE;
                for (int i = 0; i < Layout.UNITS_PER_PAGE && first + i < l.unitCount; i++) {
                    int u = first + i, o = base + i * Layout.UNIT_ENTRY;
                    long owner = LE.i64(p, o);
                    int raw = LE.i32(p, o + 8), gen = LE.i32(p, o + 12);
                    int idx = raw & 0x7FFFFFFF;
                    boolean armed = raw < 0;
                    if (owner < 0 || (armed && owner == 0)) {
                        problems.add(new Problem(Problem.Severity.FATAL, "unit table entry " + u + " (metadata page " + page + ")",
                                "malformed: owner " + owner + ", index " + idx));
                        continue;
                    }
                    unitGen[u] = gen;
                    if (owner != 0) {
                        unitOwner[u] = owner;
                        unitIndex[u] = idx;
                        crcs[u] = new int[slicesPerUnit + 1];
                        crcs[u][slicesPerUnit] = gen;
                        armState[u] = armed ? ARMED : UNARMED;
                    }
                }
            }
            case MetaPage.KIND_CRCS -> {
                long first = (long) (page - l.firstCrcPage) * Layout.CRCS_PER_PAGE;
                long total = (long) l.unitCount * slicesPerUnit;
                int i = 0;
                while (i < Layout.CRCS_PER_PAGE && first + i < total) {
                    long g = first + i;
                    int u = (int) (g / slicesPerUnit), s = (int) (g % slicesPerUnit);
                    int n = Math.min(Layout.CRCS_PER_PAGE - i, slicesPerUnit - s);
                    int[] c = crcs[u];
                    if (c != null) for (int k = 0; k < n; k++) c[s + k] = LE.i32(p, base + 4 * (i + k));
                    i += n;
                }
            }
            case MetaPage.KIND_BITMAP -> {
                int firstWord = (page - l.firstBitmapPage) * (Layout.BITS_PER_PAGE / 64);
                for (int w = 0; w < Layout.BITS_PER_PAGE / 64 && firstWord + w < bitmap.length; w++)
                    bitmap[firstWord + w] = LE.i64(p, base + 8 * w);
            }
            case MetaPage.KIND_GENS -> {
                int first = (page - l.firstGenPage) * Layout.GENS_PER_PAGE;
                for (int i = 0; i < Layout.GENS_PER_PAGE && first + i < genTable.length; i++)
                    genTable[first + i] = LE.i64(p, base + 8 * i);
            }
            default -> throw new IllegalArgumentException("page " + page);
        }
    }

    /** Clears bits for units past the unit count (a bitmap page may carry junk there). */
    public void trimBitmap() {
        int n = layout.unitCount;
        if ((n & 63) != 0) bitmap[bitmap.length - 1] &= (1L << n) - 1;
    }
}
