package io.dsf.blockstore.store.format;

/**
 * Journal record descriptors: {@code u16 type, u16 length (whole record), payload}, little endian.
 * Every operation is one record, so a torn commit leaves a prefix of whole operations. Records
 * are absolute ("unit 7 now belongs to handle 9 at index 3, generation 4"), or derive their effect
 * only from state the journal orders before them, so replaying one that a checkpoint already
 * holds is harmless. Stateless; thread safe.
 *
 * <pre>
 *  CREATE 1  slot u32, id u64, handle u64, size u64, attr length u16, attributes   (34 + n)
 *  RESIZE 2  slot u32, handle u64, size u64; frees the handle's units at index >= ceil(size/U)  (24)
 *  DELETE 3  slot u32, handle u64; frees every unit of the handle, clears the slot            (16)
 *  ATTRS  4  slot u32, handle u64, attr length u16, attributes (the whole new set)  (18 + n)
 *  ALLOC  5  unit u32, generation u32, index u32, handle u64; the unit's checksums restart at 0 (24)
 *  FREE   6  unit u32                                                                  (8)
 *  CRC    7  unit u32, generation u32, first slice u16, n u16, n x crc32c u32; applies only
 *            while the unit is allocated with that generation                     (16 + 4n)
 *  ARM    8  unit u32, generation u32: in-place overwrites of the unit may follow; recovery
 *            verifies its written slices and records torn ones as lost                  (12)
 *  DISARM 9  unit u32, generation u32: no overwrite of the unit is in flight or unlogged (12)
 *  INTENT 10 as CRC, logged when the write was submitted, before it completed (so the journal
 *            page and the data travel together); replayed like CRC, and trusted only in pages
 *            before the last page's verify-from mark, else checked against the data (FORMAT.md)
 *  PAD    0  filler inside in-memory record rings, never in a journal page
 * </pre>
 */
public final class JournalRecord {
    public static final int PAD = 0, CREATE = 1, RESIZE = 2, DELETE = 3, ATTRS = 4, ALLOC = 5, FREE = 6, CRC = 7, ARM = 8, DISARM = 9, INTENT = 10;
    public static final int CREATE_BASE = 34, RESIZE_LEN = 24, DELETE_LEN = 16, ATTRS_BASE = 18, ALLOC_LEN = 24, FREE_LEN = 8, CRC_BASE = 16, ARM_LEN = 12;
    /** Most checksums in one CRC record. */
    public static final int CRC_MAX_N = 256;
    public static final int MAX_LEN = Math.max(CRC_BASE + 4 * CRC_MAX_N, CREATE_BASE + MetaPage.ATTR_MAX);
    /** Largest object size the format accepts (2^50 bytes). */
    public static final long MAX_OBJECT_SIZE = 1L << 50;

    private JournalRecord() {}

    public static String typeName(int t) {
        return switch (t) {
            case PAD -> "PAD"; case CREATE -> "CREATE"; case RESIZE -> "RESIZE"; case DELETE -> "DELETE";
            case ATTRS -> "ATTRS"; case ALLOC -> "ALLOC"; case FREE -> "FREE"; case CRC -> "CRC"; case ARM -> "ARM"; case DISARM -> "DISARM"; case INTENT -> "INTENT";
            default -> "type " + t;
        };
    }

    public static int type(byte[] b, int off) { return LE.u16(b, off); }

    public static int length(byte[] b, int off) { return LE.u16(b, off + 2); }

    private static int head(byte[] b, int off, int type, int len) {
        LE.u16(b, off, type);
        LE.u16(b, off + 2, len);
        return off + len;
    }

    /** Writes a CREATE record at {@code off}; returns the offset after it. */
    public static int putCreate(byte[] b, int off, int slot, long id, long handle, long size, byte[] attrs) {
        int n = attrs.length;
        LE.i32(b, off + 4, slot);
        LE.i64(b, off + 8, id);
        LE.i64(b, off + 16, handle);
        LE.i64(b, off + 24, size);
        LE.u16(b, off + 32, n);
        System.arraycopy(attrs, 0, b, off + CREATE_BASE, n);
        return head(b, off, CREATE, CREATE_BASE + n);
    }

    public static int putResize(byte[] b, int off, int slot, long handle, long size) {
        LE.i32(b, off + 4, slot);
        LE.i64(b, off + 8, handle);
        LE.i64(b, off + 16, size);
        return head(b, off, RESIZE, RESIZE_LEN);
    }

    public static int putDelete(byte[] b, int off, int slot, long handle) {
        LE.i32(b, off + 4, slot);
        LE.i64(b, off + 8, handle);
        return head(b, off, DELETE, DELETE_LEN);
    }

    public static int putAttrs(byte[] b, int off, int slot, long handle, byte[] attrs) {
        int n = attrs.length;
        LE.i32(b, off + 4, slot);
        LE.i64(b, off + 8, handle);
        LE.u16(b, off + 16, n);
        System.arraycopy(attrs, 0, b, off + ATTRS_BASE, n);
        return head(b, off, ATTRS, ATTRS_BASE + n);
    }

    public static int putAlloc(byte[] b, int off, int unit, int gen, int index, long handle) {
        LE.i32(b, off + 4, unit);
        LE.i32(b, off + 8, gen);
        LE.i32(b, off + 12, index);
        LE.i64(b, off + 16, handle);
        return head(b, off, ALLOC, ALLOC_LEN);
    }

    public static int putFree(byte[] b, int off, int unit) {
        LE.i32(b, off + 4, unit);
        return head(b, off, FREE, FREE_LEN);
    }

    /** Writes an ARM or DISARM record. */
    public static int putArm(byte[] b, int off, int type, int unit, int gen) {
        LE.i32(b, off + 4, unit);
        LE.i32(b, off + 8, gen);
        return head(b, off, type, ARM_LEN);
    }

    /** Writes the CRC record header for {@code n} checksums; the caller stores them at {@code off + 16 + 4i}. */
    public static int putCrcHeader(byte[] b, int off, int unit, int gen, int first, int n) { return putCrcHeader(b, off, CRC, unit, gen, first, n); }

    /** Writes the header of a CRC or INTENT record ({@code type}) for {@code n} checksums. */
    public static int putCrcHeader(byte[] b, int off, int type, int unit, int gen, int first, int n) {
        LE.i32(b, off + 4, unit);
        LE.i32(b, off + 8, gen);
        LE.u16(b, off + 12, first);
        LE.u16(b, off + 14, n);
        return head(b, off, type, CRC_BASE + 4 * n);
    }

    // field accessors (offsets from the record start)
    public static int slot(byte[] b, int off) { return LE.i32(b, off + 4); }
    public static long createId(byte[] b, int off) { return LE.i64(b, off + 8); }
    public static long createHandle(byte[] b, int off) { return LE.i64(b, off + 16); }
    public static long createSize(byte[] b, int off) { return LE.i64(b, off + 24); }
    public static int createAttrLen(byte[] b, int off) { return LE.u16(b, off + 32); }
    /** Handle of RESIZE, DELETE and ATTRS. */
    public static long handle(byte[] b, int off) { return LE.i64(b, off + 8); }
    public static long resizeSize(byte[] b, int off) { return LE.i64(b, off + 16); }
    public static int attrsLen(byte[] b, int off) { return LE.u16(b, off + 16); }
    public static int unit(byte[] b, int off) { return LE.i32(b, off + 4); }
    /** Generation of ALLOC and CRC. */
    public static int gen(byte[] b, int off) { return LE.i32(b, off + 8); }
    public static int allocIndex(byte[] b, int off) { return LE.i32(b, off + 12); }
    public static long allocHandle(byte[] b, int off) { return LE.i64(b, off + 16); }
    public static int crcFirst(byte[] b, int off) { return LE.u16(b, off + 12); }
    public static int crcCount(byte[] b, int off) { return LE.u16(b, off + 14); }
    public static int crcAt(byte[] b, int off, int i) { return LE.i32(b, off + CRC_BASE + 4 * i); }

    /**
     * Validates the record at {@code off} (whose bytes up to {@code end} are available) against the
     * layout; returns a problem or null. Nothing in a record is trusted before this passes.
     */
    public static String check(byte[] b, int off, int end, Layout l) {
        if (end - off < 4) return "truncated record header (" + (end - off) + " bytes)";
        int type = type(b, off), len = length(b, off);
        if (len < 4) return "record length " + len + " below the 4-byte header";
        if (len > end - off) return typeName(type) + " record length " + len + " runs past the end (" + (end - off) + " bytes left)";
        switch (type) {
            case CREATE -> {
                if (len < CREATE_BASE) return "CREATE truncated: " + len + " bytes";
                int n = createAttrLen(b, off);
                if (n > MetaPage.ATTR_MAX || len != CREATE_BASE + n) return "CREATE length " + len + " does not match attributes of " + n + " bytes";
                if (bad(slot(b, off), l.maxObjects)) return "CREATE slot " + slot(b, off) + " beyond " + l.maxObjects;
                if (createHandle(b, off) <= 0) return "CREATE with handle " + createHandle(b, off);
                if (createId(b, off) <= 0) return "CREATE with object id " + createId(b, off);
                if (createSize(b, off) < 0 || createSize(b, off) > MAX_OBJECT_SIZE) return "CREATE size " + createSize(b, off) + " out of range";
            }
            case RESIZE -> {
                if (len != RESIZE_LEN) return "RESIZE length " + len;
                if (bad(slot(b, off), l.maxObjects)) return "RESIZE slot " + slot(b, off) + " beyond " + l.maxObjects;
                if (resizeSize(b, off) < 0 || resizeSize(b, off) > MAX_OBJECT_SIZE) return "RESIZE size " + resizeSize(b, off) + " out of range";
            }
            case DELETE -> {
                if (len != DELETE_LEN) return "DELETE length " + len;
                if (bad(slot(b, off), l.maxObjects)) return "DELETE slot " + slot(b, off) + " beyond " + l.maxObjects;
            }
            case ATTRS -> {
                if (len < ATTRS_BASE) return "ATTRS truncated: " + len + " bytes";
                int n = attrsLen(b, off);
                if (n > MetaPage.ATTR_MAX || len != ATTRS_BASE + n) return "ATTRS length " + len + " does not match attributes of " + n + " bytes";
                if (bad(slot(b, off), l.maxObjects)) return "ATTRS slot " + slot(b, off) + " beyond " + l.maxObjects;
            }
            case ALLOC -> {
                if (len != ALLOC_LEN) return "ALLOC length " + len;
                if (bad(unit(b, off), l.unitCount)) return "ALLOC unit " + unit(b, off) + " beyond " + l.unitCount;
                if (allocHandle(b, off) <= 0) return "ALLOC to handle " + allocHandle(b, off);
                if (allocIndex(b, off) < 0 || (long) allocIndex(b, off) * l.unitSize >= MAX_OBJECT_SIZE) return "ALLOC index " + allocIndex(b, off) + " out of range";
            }
            case FREE -> {
                if (len != FREE_LEN) return "FREE length " + len;
                if (bad(unit(b, off), l.unitCount)) return "FREE unit " + unit(b, off) + " beyond " + l.unitCount;
            }
            case CRC, INTENT -> {
                if (len < CRC_BASE) return "CRC truncated: " + len + " bytes";
                int n = crcCount(b, off), first = crcFirst(b, off);
                if (n < 1 || n > CRC_MAX_N || len != CRC_BASE + 4 * n) return "CRC length " + len + " does not match " + n + " checksums";
                if (bad(unit(b, off), l.unitCount)) return "CRC unit " + unit(b, off) + " beyond " + l.unitCount;
                if (first + n > l.slicesPerUnit) return "CRC slices " + first + "+" + n + " beyond " + l.slicesPerUnit + " per unit";
            }
            case ARM, DISARM -> {
                if (len != ARM_LEN) return typeName(type) + " length " + len;
                if (bad(unit(b, off), l.unitCount)) return typeName(type) + " unit " + unit(b, off) + " beyond " + l.unitCount;
            }
            default -> { return "unknown record type " + type; }
        }
        return null;
    }

    private static boolean bad(int v, int limit) { return v < 0 || v >= limit; }
}
