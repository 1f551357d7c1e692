package io.dsf.blockstore.store.format;

/**
 * Where everything lives on a formatted device, derived from the superblock's fields (see
 * {@code FORMAT.md}). Immutable; thread safe.
 *
 * <pre>
 *  0        P               P+J                  metaOffset+2*M*P  firstUnit         end-P   end
 *  | super A | journal ring  | metadata pages: slot 0,1 of page 0,  | pad | units (U each) | super B |
 *  |         | (J/P pages)   | slot 0,1 of page 1, ...              |     |                |         |
 * </pre>
 * Logical metadata pages, in order: object table, unit table, slice checksum table, allocation
 * bitmap, then the generation table (which names, for every other page, the slot and generation
 * of its current version).
 */
public final class Layout {
    public static final int PAGE = 4096;
    /** Bytes of a metadata page slot header. */
    public static final int META_HEADER = 32;
    public static final int META_PAYLOAD = PAGE - META_HEADER;
    public static final int OBJECT_ENTRY = 256;
    public static final int OBJECTS_PER_PAGE = META_PAYLOAD / OBJECT_ENTRY;   // 15
    public static final int UNIT_ENTRY = 16;
    public static final int UNITS_PER_PAGE = META_PAYLOAD / UNIT_ENTRY;       // 254
    public static final int CRCS_PER_PAGE = META_PAYLOAD / 4;                 // 1016
    public static final int BITS_PER_PAGE = META_PAYLOAD * 8;                 // 32512
    public static final int GENS_PER_PAGE = META_PAYLOAD / 8;                 // 508

    public final long capacity;        // bytes of the device the store uses (multiple of P)
    public final int sliceSize;
    public final int unitSize;
    public final long journalOffset;
    public final long journalBytes;
    public final long metaOffset;
    public final int metaPages;        // logical pages, generation table included
    public final long firstUnitOffset;
    public final int unitCount;
    public final int maxObjects;

    public final int slicesPerUnit;
    public final int ringPages;
    public final int objectPages, unitPages, crcPages, bitmapPages, genPages;
    public final int firstUnitPage, firstCrcPage, firstBitmapPage, firstGenPage;
    /** Logical pages other than the generation table. */
    public final int dataPages;

    public Layout(long capacity, int sliceSize, int unitSize, long journalOffset, long journalBytes, long metaOffset,
                  int metaPages, long firstUnitOffset, int unitCount, int maxObjects) {
        this.capacity = capacity;
        this.sliceSize = sliceSize;
        this.unitSize = unitSize;
        this.journalOffset = journalOffset;
        this.journalBytes = journalBytes;
        this.metaOffset = metaOffset;
        this.metaPages = metaPages;
        this.firstUnitOffset = firstUnitOffset;
        this.unitCount = unitCount;
        this.maxObjects = maxObjects;
        this.slicesPerUnit = unitSize / sliceSize;
        this.ringPages = (int) (journalBytes / PAGE);
        this.objectPages = ceil(maxObjects, OBJECTS_PER_PAGE);
        this.unitPages = ceil(unitCount, UNITS_PER_PAGE);
        this.crcPages = (int) ceil((long) unitCount * slicesPerUnit, CRCS_PER_PAGE);
        this.bitmapPages = ceil(unitCount, BITS_PER_PAGE);
        this.dataPages = objectPages + unitPages + crcPages + bitmapPages;
        this.genPages = ceil(dataPages, GENS_PER_PAGE);
        this.firstUnitPage = objectPages;
        this.firstCrcPage = firstUnitPage + unitPages;
        this.firstBitmapPage = firstCrcPage + crcPages;
        this.firstGenPage = firstBitmapPage + bitmapPages;
    }

    /** Logical metadata pages needed for these counts. */
    public static long metaPagesFor(int units, int slicesPerUnit, int maxObjects) {
        long data = ceil(maxObjects, OBJECTS_PER_PAGE) + ceil(units, UNITS_PER_PAGE)
                + ceil((long) units * slicesPerUnit, CRCS_PER_PAGE) + ceil(units, BITS_PER_PAGE);
        return data + ceil(data, GENS_PER_PAGE);
    }

    /**
     * Lays out a new store.
     *
     * @param journalBytes 0 for the default
     * @param maxObjects   0 for the default
     * @throws IllegalArgumentException when the device is too small or does not fit the format
     */
    public static Layout compute(long deviceCapacity, int blockSize, int sliceSize, int unitSize, long journalBytes, int maxObjects) {
        if (blockSize > PAGE || PAGE % blockSize != 0)
            throw new IllegalArgumentException("device block size " + blockSize + " must divide the 4096-byte metadata page");
        long cap = deviceCapacity - deviceCapacity % PAGE;
        long j = journalBytes != 0 ? journalBytes : Math.clamp((cap / 128) / PAGE * PAGE, 512L << 10, 64L << 20);
        long n0 = (cap - 2L * PAGE - j) / unitSize;
        if (n0 < 1) throw new IllegalArgumentException("device of " + deviceCapacity + " bytes too small for a store with "
                + unitSize + "-byte units and a " + j + "-byte journal");
        if (n0 > Integer.MAX_VALUE - 1) throw new IllegalArgumentException("device too large for " + unitSize + "-byte units: use larger units");
        int objects = maxObjects != 0 ? maxObjects : (int) Math.clamp(n0, 1024, 1 << 20);
        long metaOffset = PAGE + j;
        long m0 = metaPagesFor((int) n0, unitSize / sliceSize, objects);
        long firstUnit = roundUp(metaOffset + 2 * m0 * PAGE, unitSize);
        long n = (cap - PAGE - firstUnit) / unitSize;
        if (n < 1) throw new IllegalArgumentException("device of " + deviceCapacity + " bytes too small: metadata for "
                + objects + " objects and the journal leave no room for a " + unitSize + "-byte unit");
        long m = metaPagesFor((int) n, unitSize / sliceSize, objects);
        return new Layout(cap, sliceSize, unitSize, PAGE, j, metaOffset, (int) m, firstUnit, (int) n, objects);
    }

    /** Checks that fields read from a superblock describe a sane layout; returns a problem or null. */
    public String validate() {
        if (Integer.bitCount(unitSize) != 1 || unitSize < (64 << 10) || unitSize > (64 << 20)) return "unit size " + unitSize + " invalid";
        if (Integer.bitCount(sliceSize) != 1 || sliceSize < PAGE || sliceSize > unitSize || slicesPerUnit > 16384) return "slice size " + sliceSize + " invalid";
        if (capacity <= 0 || capacity % PAGE != 0) return "capacity " + capacity + " invalid";
        if (journalOffset != PAGE) return "journal offset " + journalOffset + " should be " + PAGE;
        if (journalBytes < 16L * PAGE || journalBytes % PAGE != 0 || journalBytes > (1L << 32)) return "journal length " + journalBytes + " invalid";
        if (metaOffset != journalOffset + journalBytes) return "metadata offset " + metaOffset + " should follow the journal at " + (journalOffset + journalBytes);
        if (maxObjects < 1 || maxObjects > (1 << 24)) return "max objects " + maxObjects + " invalid";
        if (unitCount < 1) return "unit count " + unitCount + " invalid";
        long want = metaPagesFor(unitCount, slicesPerUnit, maxObjects);
        if (metaPages != want) return "metadata page count " + metaPages + " should be " + want;
        if (firstUnitOffset % unitSize != 0 || firstUnitOffset < metaOffset + 2L * metaPages * PAGE)
            return "first unit offset " + firstUnitOffset + " overlaps the metadata or is not unit aligned";
        if (firstUnitOffset + (long) unitCount * unitSize > capacity - PAGE) return "units run past the second superblock";
        return null;
    }

    /** Device offset of slot {@code slot} (0 or 1) of logical metadata page {@code page}. */
    public long slotOffset(int page, int slot) { return metaOffset + (2L * page + slot) * PAGE; }

    /** Device offset of ring page {@code index} of the journal. */
    public long journalPageOffset(int index) { return journalOffset + (long) index * PAGE; }

    /** Ring index of journal page sequence {@code seq}. */
    public int ringIndex(long seq) { return (int) Long.remainderUnsigned(seq, ringPages); }

    public long unitOffset(int unit) { return firstUnitOffset + (long) unit * unitSize; }

    public long superBOffset() { return capacity - PAGE; }

    /** The kind of a logical page. */
    public int kindOf(int page) {
        if (page < firstUnitPage) return MetaPage.KIND_OBJECTS;
        if (page < firstCrcPage) return MetaPage.KIND_UNITS;
        if (page < firstBitmapPage) return MetaPage.KIND_CRCS;
        if (page < firstGenPage) return MetaPage.KIND_BITMAP;
        return MetaPage.KIND_GENS;
    }

    public int objectPageOf(int slot) { return slot / OBJECTS_PER_PAGE; }

    public int unitPageOf(int unit) { return firstUnitPage + unit / UNITS_PER_PAGE; }

    public int bitmapPageOf(int unit) { return firstBitmapPage + unit / BITS_PER_PAGE; }

    /** The checksum pages holding slices [first, first+n) of {@code unit}: first page. */
    public int crcPageOf(int unit, int slice) {
        return firstCrcPage + (int) (((long) unit * slicesPerUnit + slice) / CRCS_PER_PAGE);
    }

    static int ceil(int a, int b) { return (a + b - 1) / b; }

    static long ceil(long a, long b) { return (a + b - 1) / b; }

    static long roundUp(long a, long b) { return ceil(a, b) * b; }

    @Override
    public String toString() {
        return "capacity=" + capacity + " unit=" + unitSize + " slice=" + sliceSize + " journal=" + journalBytes + "@" + journalOffset
                + " meta=" + metaPages + "x2 pages@" + metaOffset + " units=" + unitCount + "@" + firstUnitOffset + " maxObjects=" + maxObjects;
    }
}
