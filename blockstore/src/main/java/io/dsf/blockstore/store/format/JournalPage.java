package io.dsf.blockstore.store.format;

import java.util.zip.CRC32C;

/**
 * The journal page descriptor (format version 2). The journal is a ring of these; page sequence
 * numbers are consecutive and a page's ring index is its sequence modulo the ring size. A commit
 * (one group of syncs) writes whole pages, and the next commit starts on a fresh page, so a page
 * holding acknowledged records is never rewritten. Stateless; thread safe.
 *
 * <pre>
 *   0 magic "DSFJ" u32     4 crc32c u32 (of the page, this field as 0)
 *   8 sequence u64        16 store nonce u64
 *  24 first sequence of this page's commit u64 (the first page written since the last flush)
 *  32 record bytes used u16   34 record count u16
 *  36 verify-from sequence u64: INTENT records in pages from this sequence on may describe
 *     writes not yet known durable (this page's sequence + 1 when there are none)
 *  44 records, packed (see {@link JournalRecord}); the rest of the page is zero
 * </pre>
 * The commit field tells a torn tail from damage: a commit is every page written between two
 * flushes, so an intact page of a later commit after a bad page proves the bad page was once
 * durable, i.e. that it is corrupt, not torn; and every commit but the last one was flushed.
 * Changelog: v1 first format; v2 adds verify-from (and the INTENT record).
 */
public final class JournalPage {
    public static final int MAGIC = 0x4A465344; // "DSFJ" little endian
    public static final int CRC_OFF = 4;
    public static final int HEADER = 44;
    public static final int PAYLOAD = Layout.PAGE - HEADER;

    private JournalPage() {}

    /** What a page read from the ring turned out to be. */
    public enum State {
        /** Valid, with the expected sequence: replay it. */
        VALID,
        /** All zero: never written. */
        BLANK,
        /** Not a journal page of any store. */
        BAD_MAGIC,
        /** Magic right, checksum wrong: torn, or damaged. */
        BAD_CRC,
        /** A valid page of an earlier format of this device. */
        FOREIGN,
        /** A valid page of this store, but from an earlier lap of the ring or run. */
        STALE,
        /** Checksum right but the header or records do not parse (a bug or deliberate damage). */
        MALFORMED
    }

    /** Seals a page whose records are in {@code p[HEADER, HEADER+used)} and the rest zero. */
    public static void seal(CRC32C crc, byte[] p, long seq, long nonce, long commitFirst, long verifyFrom, int used, int count) {
        LE.i32(p, 0, MAGIC);
        LE.i64(p, 8, seq);
        LE.i64(p, 16, nonce);
        LE.i64(p, 24, commitFirst);
        LE.u16(p, 32, used);
        LE.u16(p, 34, count);
        LE.i64(p, 36, verifyFrom);
        LE.i32(p, CRC_OFF, Crc.ofPage(crc, p, Layout.PAGE, CRC_OFF));
    }

    public static long seq(byte[] p) { return LE.i64(p, 8); }

    public static long commitFirst(byte[] p) { return LE.i64(p, 24); }

    public static int used(byte[] p) { return LE.u16(p, 32); }

    public static int count(byte[] p) { return LE.u16(p, 34); }

    public static long verifyFrom(byte[] p) { return LE.i64(p, 36); }

    /** Classifies a page without regard to its sequence ({@code VALID} means intact and ours). */
    public static State classify(CRC32C crc, byte[] p, long nonce) {
        if (LE.i32(p, 0) != MAGIC) {
            for (int k = 0; k < Layout.PAGE; k++) if (p[k] != 0) return State.BAD_MAGIC;
            return State.BLANK;
        }
        if (LE.i32(p, CRC_OFF) != Crc.ofPage(crc, p, Layout.PAGE, CRC_OFF)) return State.BAD_CRC;
        if (LE.i64(p, 16) != nonce) return State.FOREIGN;
        return State.VALID;
    }

    /**
     * Classifies a page expected to carry {@code expectedSeq}, validating every record in it
     * against {@code layout}; {@code why[0]} receives the detail of a MALFORMED page.
     */
    public static State check(CRC32C crc, byte[] p, long expectedSeq, long nonce, Layout layout, String[] why) {
        State s = classify(crc, p, nonce);
        if (s != State.VALID) return s;
        if (seq(p) != expectedSeq) return State.STALE;
        int used = used(p), count = count(p);
        if (used > PAYLOAD) { why[0] = "record bytes " + used + " exceed the page payload " + PAYLOAD; return State.MALFORMED; }
        if (commitFirst(p) > expectedSeq) { why[0] = "commit start " + commitFirst(p) + " after the page itself"; return State.MALFORMED; }
        if (verifyFrom(p) > expectedSeq + 1 || verifyFrom(p) < 0) { why[0] = "verify-from " + verifyFrom(p) + " after the page itself"; return State.MALFORMED; }
        int off = HEADER, end = HEADER + used, n = 0;
        while (off < end) {
            String bad = JournalRecord.check(p, off, end, layout);
            if (bad != null) { why[0] = "record " + n + " at byte " + off + ": " + bad; return State.MALFORMED; }
            off += JournalRecord.length(p, off);
            n++;
        }
        if (n != count) { why[0] = "header says " + count + " records, found " + n; return State.MALFORMED; }
        return State.VALID;
    }
}
