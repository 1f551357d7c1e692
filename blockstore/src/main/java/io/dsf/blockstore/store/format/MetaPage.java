package io.dsf.blockstore.store.format;

import java.util.zip.CRC32C;

/**
 * The metadata page slot descriptor. Every logical metadata page has two physical slots; a
 * checkpoint writes a changed page into the slot that does not hold its current version.
 * Stateless; thread safe.
 *
 * <pre>
 *   0 magic "DSFM" u32    4 crc32c u32 (of the page, this field as 0)
 *   8 logical page u32   12 kind u16     14 reserved u16
 *  16 generation u64     24 store nonce u64
 *  32 payload (4064 bytes), by kind:
 *     OBJECTS: 15 entries of 256 bytes: id u64, handle u64 (0 = free entry), size u64,
 *              attribute bytes u16, reserved u16+u32, attributes (up to 224 bytes)
 *     UNITS:   254 entries of 16 bytes: owner handle u64 (0 = free), index in the owner u31
 *              with bit 31 set while the unit is armed for in-place overwrites,
 *              allocation generation u32 (kept when free)
 *     CRCS:    1016 slice checksums u32 (unit-major; 0 = never written, reads zeros;
 *              0xFFFFFFFF = lost: torn by a crash during an overwrite, reads fail)
 *     BITMAP:  32512 bits, bit u of the area set when unit u is allocated
 *     GENS:    508 entries u64 for pages 0.. of the other kinds: generation << 1 | slot
 *              (generation 0: never written, the page is all zero)
 * </pre>
 */
public final class MetaPage {
    public static final int MAGIC = 0x4D465344; // "DSFM" little endian
    public static final int CRC_OFF = 4;
    public static final int KIND_OBJECTS = 1, KIND_UNITS = 2, KIND_CRCS = 3, KIND_BITMAP = 4, KIND_GENS = 5;
    public static final int ATTR_MAX = Layout.OBJECT_ENTRY - 32;

    private MetaPage() {}

    public static String kindName(int kind) {
        return switch (kind) {
            case KIND_OBJECTS -> "object table";
            case KIND_UNITS -> "unit table";
            case KIND_CRCS -> "slice checksum table";
            case KIND_BITMAP -> "allocation bitmap";
            case KIND_GENS -> "generation table";
            default -> "kind " + kind;
        };
    }

    /** Fills the header of a page whose payload is already in place, and seals it with its CRC. */
    public static void seal(CRC32C crc, byte[] p, int page, int kind, long generation, long nonce) {
        LE.i32(p, 0, MAGIC);
        LE.i32(p, 8, page);
        LE.u16(p, 12, kind);
        LE.u16(p, 14, 0);
        LE.i64(p, 16, generation);
        LE.i64(p, 24, nonce);
        LE.i32(p, CRC_OFF, Crc.ofPage(crc, p, Layout.PAGE, CRC_OFF));
    }

    /** Checks one slot expected to hold {@code page} of {@code kind} at {@code generation}; returns a problem or null. */
    public static String verify(CRC32C crc, byte[] p, int page, int kind, long generation, long nonce) {
        if (LE.i32(p, 0) != MAGIC) {
            boolean blank = true;
            for (int k = 0; k < Layout.PAGE && blank; k++) blank = p[k] == 0;
            return blank ? "slot is blank (never written)" : "bad magic";
        }
        int stored = LE.i32(p, CRC_OFF);
        int c = Crc.ofPage(crc, p, Layout.PAGE, CRC_OFF);
        if (stored != c) return String.format("checksum mismatch (stored %08x, computed %08x)", stored, c);
        if (LE.i64(p, 24) != nonce) return "belongs to another store (nonce differs)";
        if (LE.i32(p, 8) != page) return "holds page " + LE.i32(p, 8) + " instead";
        if (LE.u16(p, 12) != kind) return "holds kind " + LE.u16(p, 12) + " instead of " + kind;
        if (LE.i64(p, 16) != generation) return "generation " + LE.i64(p, 16) + ", expected " + generation;
        return null;
    }
}
