package io.dsf.blockstore.store.format;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The superblock descriptor: one 4096-byte page, kept at byte 0 (copy A) and in the last page of
 * the device (copy B). Immutable value; {@link #encode} and {@link #decode} are thread safe.
 *
 * <pre>
 *   0  magic "DSFBLKS1"      8  version u32          12 crc32c u32 (of the page, this field as 0)
 *  16  store UUID (16)      32  capacity used u64
 *  40  page size u32        44  slice size u32      48  unit size u32      52 flags u32
 *  56  journal offset u64   64  journal length u64
 *  72  metadata offset u64  80  metadata pages u64 (logical, generation table included)
 *  88  first unit offset    96  unit count u64
 * 104  checkpoint generation G
 * 112  journal replay start: page sequence    120 journal replay start: ring index
 * 128  superblock write sequence (the higher valid copy wins)
 * 136  max objects u32     140 reserved u32
 * 144  next object handle u64
 * 152  .. 4095 zero
 * </pre>
 * Version 1 (format changelog in FORMAT.md).
 */
public record Superblock(UUID uuid, int flags, Layout layout, long generation, long replaySeq, long writeSeq, long nextHandle) {
    /** 1: first format; 2: journal pages carry verify-from, INTENT records. */
    public static final int VERSION = 2;
    public static final byte[] MAGIC = "DSFBLKS1".getBytes(StandardCharsets.US_ASCII);
    public static final int CRC_OFF = 12;
    /** Flag: metadata kept in memory only (a store on {@code null:}, for benchmarks). */
    public static final int FLAG_MEMORY_ONLY = 1;

    /** The store nonce stamped into every metadata and journal page, so pages of an earlier format never pass. */
    public long nonce() { return uuid.getMostSignificantBits() ^ Long.rotateLeft(uuid.getLeastSignificantBits(), 17); }

    public Superblock withCheckpoint(long gen, long replay, long seq, long handle) {
        return new Superblock(uuid, flags, layout, gen, replay, seq, handle);
    }

    public void encode(byte[] p) {
        java.util.Arrays.fill(p, 0, Layout.PAGE, (byte) 0);
        System.arraycopy(MAGIC, 0, p, 0, 8);
        LE.i32(p, 8, VERSION);
        LE.i64(p, 16, uuid.getMostSignificantBits());
        LE.i64(p, 24, uuid.getLeastSignificantBits());
        Layout l = layout;
        LE.i64(p, 32, l.capacity);
        LE.i32(p, 40, Layout.PAGE);
        LE.i32(p, 44, l.sliceSize);
        LE.i32(p, 48, l.unitSize);
        LE.i32(p, 52, flags);
        LE.i64(p, 56, l.journalOffset);
        LE.i64(p, 64, l.journalBytes);
        LE.i64(p, 72, l.metaOffset);
        LE.i64(p, 80, l.metaPages);
        LE.i64(p, 88, l.firstUnitOffset);
        LE.i64(p, 96, l.unitCount);
        LE.i64(p, 104, generation);
        LE.i64(p, 112, replaySeq);
        LE.i64(p, 120, l.ringIndex(replaySeq));
        LE.i64(p, 128, writeSeq);
        LE.i32(p, 136, l.maxObjects);
        LE.i64(p, 144, nextHandle);
        LE.i32(p, CRC_OFF, Crc.ofPage(p, Layout.PAGE, CRC_OFF));
    }

    /** Outcome of decoding one copy: a superblock, or why the copy cannot be used. */
    public record Decoded(Superblock sb, String problem, boolean otherVersion, int version) {
        public boolean ok() { return sb != null; }
    }

    /**
     * Decodes and validates one copy. A copy with our magic and a valid CRC but another version is
     * reported with {@code otherVersion} set (the store must be refused, not repaired).
     */
    public static Decoded decode(byte[] p) {
        for (int i = 0; i < 8; i++) if (p[i] != MAGIC[i]) {
            boolean blank = true;
            for (int k = 0; k < Layout.PAGE && blank; k++) blank = p[k] == 0;
            return new Decoded(null, blank ? "blank (all zero): no store here" : "bad magic (not a dsf BlockStore superblock)", false, 0);
        }
        int stored = LE.i32(p, CRC_OFF);
        int crc = Crc.ofPage(p, Layout.PAGE, CRC_OFF);
        if (stored != crc) return new Decoded(null, String.format("checksum mismatch (stored %08x, computed %08x)", stored, crc), false, 0);
        int version = LE.i32(p, 8);
        if (version != VERSION) return new Decoded(null, "format version " + version + ", this build reads version " + VERSION, true, version);
        if (LE.i32(p, 40) != Layout.PAGE) return new Decoded(null, "page size " + LE.i32(p, 40) + " (version 1 uses 4096)", false, version);
        long metaPages = LE.i64(p, 80), units = LE.i64(p, 96);
        if (metaPages < 0 || metaPages > Integer.MAX_VALUE || units < 0 || units > Integer.MAX_VALUE)
            return new Decoded(null, "page or unit count out of range", false, version);
        Layout l;
        try {
            l = new Layout(LE.i64(p, 32), LE.i32(p, 44), LE.i32(p, 48), LE.i64(p, 56), LE.i64(p, 64), LE.i64(p, 72),
                    (int) metaPages, LE.i64(p, 88), (int) units, LE.i32(p, 136));
        } catch (ArithmeticException | IllegalArgumentException e) {
            return new Decoded(null, "layout fields invalid: " + e.getMessage(), false, version);
        }
        String bad = l.slicesPerUnit > 0 && l.unitSize > 0 && l.sliceSize > 0 ? l.validate() : "unit or slice size zero";
        if (bad != null) return new Decoded(null, "layout invalid: " + bad, false, version);
        long replay = LE.i64(p, 112);
        if (LE.i64(p, 120) != l.ringIndex(replay)) return new Decoded(null, "journal replay index " + LE.i64(p, 120)
                + " does not match sequence " + replay, false, version);
        Superblock sb = new Superblock(new UUID(LE.i64(p, 16), LE.i64(p, 24)), LE.i32(p, 52), l, LE.i64(p, 104), replay,
                LE.i64(p, 128), LE.i64(p, 144));
        return new Decoded(sb, null, false, version);
    }
}
