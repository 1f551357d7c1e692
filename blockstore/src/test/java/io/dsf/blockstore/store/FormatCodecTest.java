package io.dsf.blockstore.store;

import io.dsf.blockstore.store.format.Crc;
import io.dsf.blockstore.store.format.JournalPage;
import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.LE;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.MetaPage;
import io.dsf.blockstore.store.format.Superblock;
import io.dsf.blockstore.store.meta.MetaImage;
import io.dsf.blockstore.store.meta.Problem;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The on-device codecs on their own: superblock, layout, metadata page slots, journal pages and records (malformed inputs included). */
class FormatCodecTest {
    static final Layout L = Layout.compute(64L << 20, 512, 4096, 64 << 10, 256 << 10, 64);
    static final long NONCE = 0x1234_5678_9ABC_DEF0L;
    final CRC32C crc = new CRC32C();

    // ------------------------------------------------------------ layout

    @Test
    void layoutRegionsDoNotOverlapAndValidate() {
        for (long cap : new long[]{8L << 20, 64L << 20, 1L << 30, (1L << 30) + 12345 * 512}) {
            for (int u : new int[]{64 << 10, 1 << 20, 4 << 20}) {
                if (cap < 8L * u) continue;
                Layout l = Layout.compute(cap, 512, 4096, u, 0, 0);
                assertNull(l.validate(), l.toString());
                assertTrue(l.journalOffset >= Layout.PAGE);
                assertTrue(l.metaOffset >= l.journalOffset + l.journalBytes);
                assertTrue(l.firstUnitOffset >= l.metaOffset + 2L * l.metaPages * Layout.PAGE);
                assertEquals(0, l.firstUnitOffset % u);
                assertTrue(l.unitOffset(l.unitCount - 1) + u <= l.superBOffset());
                assertEquals(l.metaPages, Layout.metaPagesFor(l.unitCount, l.slicesPerUnit, l.maxObjects));
                assertEquals(MetaPage.KIND_GENS, l.kindOf(l.metaPages - 1));
                assertEquals(MetaPage.KIND_OBJECTS, l.kindOf(0));
                assertEquals(l.firstCrcPage + l.crcPages - 1, l.crcPageOf(l.unitCount - 1, l.slicesPerUnit - 1));
            }
        }
    }

    @Test
    void tooSmallOrOddDevicesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Layout.compute(1 << 20, 512, 4096, 1 << 20, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Layout.compute(64L << 20, 8192, 4096, 1 << 20, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FormatOptions(3 << 20, 4096, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FormatOptions(1 << 20, 2048, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new FormatOptions(1 << 20, 4096, 5000, 0));
        assertEquals(new FormatOptions(4 << 20, 8192, 8 << 20, 4096), FormatOptions.parse("unit=4m,slice=8k,journal=8m,objects=4096"));
        assertThrows(IllegalArgumentException.class, () -> FormatOptions.parse("unit"));
        assertThrows(IllegalArgumentException.class, () -> FormatOptions.parse("colour=blue"));
    }

    // -------------------------------------------------------- superblock

    Superblock sb() { return new Superblock(new UUID(1, 2), 0, L, 7, 1234, 9, 55); }

    @Test
    void superblockRoundTripsAndRejectsDamage() {
        byte[] p = new byte[Layout.PAGE];
        sb().encode(p);
        Superblock.Decoded d = Superblock.decode(p);
        assertTrue(d.ok(), d.problem());
        assertEquals(sb().uuid(), d.sb().uuid());
        assertEquals(7, d.sb().generation());
        assertEquals(1234, d.sb().replaySeq());
        assertEquals(55, d.sb().nextHandle());
        assertEquals(L.toString(), d.sb().layout().toString());

        assertTrue(Superblock.decode(new byte[Layout.PAGE]).problem().contains("blank"));
        byte[] junk = new byte[Layout.PAGE];
        new SplittableRandom(1).nextBytes(junk);
        assertTrue(Superblock.decode(junk).problem().contains("magic"));
        for (int off : new int[]{8, 13, 40, 100, 4000}) {
            byte[] q = p.clone();
            q[off] ^= 1;
            Superblock.Decoded x = Superblock.decode(q);
            assertFalse(x.ok(), "flip at " + off);
            assertTrue(x.problem().contains("checksum"), x.problem());
        }
    }

    private static Superblock.Decoded resealed(byte[] p) {
        LE.i32(p, Superblock.CRC_OFF, Crc.ofPage(p, Layout.PAGE, Superblock.CRC_OFF));
        return Superblock.decode(p);
    }

    @Test
    void superblockWithIntactChecksumButBadFieldsIsRefused() {
        byte[] p = new byte[Layout.PAGE];
        sb().encode(p);
        byte[] v = p.clone();
        for (int other : new int[]{Superblock.VERSION - 1, Superblock.VERSION + 1}) { // the previous format and a future one
            LE.i32(v, 8, other);
            Superblock.Decoded d = resealed(v);
            assertTrue(d.otherVersion());
            assertTrue(d.problem().contains("version " + other), d.problem());
        }
        byte[] m = p.clone();
        LE.i64(m, 80, L.metaPages + 1);
        assertTrue(resealed(m).problem().contains("metadata page count"));
        byte[] u = p.clone();
        LE.i64(u, 96, Integer.MAX_VALUE + 5L);
        assertFalse(resealed(u).ok());
        byte[] z = p.clone();
        LE.i32(z, 48, 0);
        assertFalse(resealed(z).ok());
        byte[] r = p.clone();
        LE.i64(r, 120, 3);
        assertTrue(resealed(r).problem().contains("replay index"));
        byte[] j = p.clone();
        LE.i64(j, 64, 12345);
        assertFalse(resealed(j).ok());
    }

    // ------------------------------------------------------ metadata page

    @Test
    void metadataSlotVerification() {
        byte[] p = new byte[Layout.PAGE];
        new SplittableRandom(2).nextBytes(p);
        MetaPage.seal(crc, p, 3, MetaPage.KIND_UNITS, 11, NONCE);
        assertNull(MetaPage.verify(crc, p, 3, MetaPage.KIND_UNITS, 11, NONCE));
        assertTrue(MetaPage.verify(crc, p, 4, MetaPage.KIND_UNITS, 11, NONCE).contains("holds page 3"));
        assertTrue(MetaPage.verify(crc, p, 3, MetaPage.KIND_CRCS, 11, NONCE).contains("kind"));
        assertTrue(MetaPage.verify(crc, p, 3, MetaPage.KIND_UNITS, 12, NONCE).contains("generation 11"));
        assertTrue(MetaPage.verify(crc, p, 3, MetaPage.KIND_UNITS, 11, NONCE + 1).contains("another store"));
        byte[] q = p.clone();
        q[2000] ^= 4;
        assertTrue(MetaPage.verify(crc, q, 3, MetaPage.KIND_UNITS, 11, NONCE).contains("checksum"));
        assertTrue(MetaPage.verify(crc, new byte[Layout.PAGE], 3, MetaPage.KIND_UNITS, 11, NONCE).contains("blank"));
    }

    @Test
    void metaImagePagesRoundTrip() {
        MetaImage a = new MetaImage(L);
        SplittableRandom r = new SplittableRandom(3);
        for (int s = 0; s < L.maxObjects; s += 3) a.setObject(s, 1000 + s, 50 + s, 4096L * r.nextInt(1, 100), new byte[]{1, 'k', 1, 9});
        for (int u = 0; u < L.unitCount; u += 2) {
            a.allocUnit(u, 50 + (u % L.maxObjects), u / 2);
            int[] c = a.crcArray(u);
            for (int k = 0; k < L.slicesPerUnit; k++) c[k] = r.nextInt();
            if (u % 6 == 0) a.setArmState(u, MetaImage.ARMED);
        }
        for (int p = 0; p < L.dataPages; p++) a.genTable[p] = (long) r.nextInt(1, 1000) << 1 | (p & 1);
        MetaImage b = new MetaImage(L);
        byte[] page = new byte[Layout.PAGE];
        List<Problem> problems = new ArrayList<>();
        for (int p = 0; p < L.metaPages; p++) {
            a.writePayload(p, page);
            b.readPayload(p, page, problems);
        }
        assertTrue(problems.isEmpty(), problems.toString());
        assertArrayEquals(a.objId, b.objId);
        assertArrayEquals(a.objHandle, b.objHandle);
        assertArrayEquals(a.objSize, b.objSize);
        for (int s = 0; s < L.maxObjects; s++) assertArrayEquals(a.objAttrs[s], b.objAttrs[s]);
        assertArrayEquals(a.unitOwner, b.unitOwner);
        assertArrayEquals(a.unitIndex, b.unitIndex);
        assertArrayEquals(a.unitGen, b.unitGen);
        assertArrayEquals(a.bitmap, b.bitmap);
        assertArrayEquals(a.genTable, b.genTable);
        for (int u = 0; u < L.unitCount; u++) {
            assertEquals(a.armState(u), b.armState(u), "unit " + u);
            if (a.crcArray(u) != null) assertArrayEquals(a.crcArray(u), b.crcArray(u), "unit " + u);
            else assertNull(b.crcArray(u));
        }
    }

    // ---------------------------------------------------------- records

    @Test
    void replaySemantics() {
        MetaImage m = new MetaImage(L);
        byte[] b = new byte[4096];
        int o = 0;
        int create = o; o = JournalRecord.putCreate(b, o, 2, 77, 5, 4 * (64 << 10), new byte[]{1, 'a', 1, 2});
        int alloc0 = o; o = JournalRecord.putAlloc(b, o, 10, 1, 0, 5);
        int alloc3 = o; o = JournalRecord.putAlloc(b, o, 11, 1, 3, 5);
        int crcOk = o; o = JournalRecord.putCrcHeader(b, o, 10, 1, 4, 2); LE.i32(b, crcOk + 16, 111); LE.i32(b, crcOk + 20, 222);
        int crcStale = o; o = JournalRecord.putCrcHeader(b, o, 11, 9, 0, 1); LE.i32(b, crcStale + 16, 333);
        int crcTail = o; o = JournalRecord.putCrcHeader(b, o, 10, 1, 15, 1); LE.i32(b, crcTail + 16, 444);
        int shrink = o; o = JournalRecord.putResize(b, o, 2, 5, 61440); // inside unit 0, at slice 15
        int arm = o; o = JournalRecord.putArm(b, o, JournalRecord.ARM, 10, 1);
        int del = o; o = JournalRecord.putDelete(b, o, 2, 5);
        for (int r : new int[]{create, alloc0, alloc3, crcOk, crcStale, crcTail}) {
            assertNull(JournalRecord.check(b, r, o, L));
            m.apply(b, r);
        }
        assertEquals(77, m.objId[2]);
        assertEquals(6, m.nextHandle);
        assertEquals(111, m.crcArray(10)[4]);
        assertEquals(222, m.crcArray(10)[5]);
        assertEquals(0, m.crcArray(11)[0], "a checksum of another allocation generation is ignored");
        assertEquals(444, m.crcArray(10)[15]);
        m.beginReplay(new BitSet());
        m.apply(b, shrink);
        assertEquals(0, m.unitOwner[11], "units past the new size are freed");
        assertEquals(0, m.crcArray(10)[15], "slices past the new end inside the kept unit are reset");
        assertEquals(111, m.crcArray(10)[4]);
        m.apply(b, arm);
        assertEquals(MetaImage.ARMED, m.armState(10));
        m.apply(b, del);
        m.endReplay();
        assertEquals(0, m.objHandle[2]);
        assertEquals(0, m.unitOwner[10]);
        assertEquals(MetaImage.UNARMED, m.armState(10));
        assertEquals(0, m.allocatedUnits());
        assertEquals(1, m.unitGen[10], "the generation survives the free");
    }

    @Test
    void malformedRecordsAreNamed() {
        byte[] b = new byte[256];
        int end = JournalRecord.putAlloc(b, 0, 1, 1, 0, 5);
        assertNull(JournalRecord.check(b, 0, end, L));
        assertTrue(JournalRecord.check(b, 0, 3, L).contains("truncated record header"));
        assertTrue(JournalRecord.check(b, 0, end - 1, L).contains("runs past the end"));
        LE.u16(b, 2, 2);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("below the 4-byte header"));
        JournalRecord.putAlloc(b, 0, L.unitCount, 1, 0, 5);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("beyond"));
        JournalRecord.putAlloc(b, 0, 1, 1, 0, 0);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("handle"));
        LE.u16(b, 0, 99);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("unknown record type 99"));
        end = JournalRecord.putCrcHeader(b, 0, 1, 1, L.slicesPerUnit - 1, 2);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("beyond"));
        end = JournalRecord.putCreate(b, 0, 0, 1, 1, 4096, new byte[3]);
        LE.u16(b, 32, 200);
        assertTrue(JournalRecord.check(b, 0, 256, L).contains("does not match"));
        end = JournalRecord.putResize(b, 0, L.maxObjects, 1, 0);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("slot"));
        end = JournalRecord.putResize(b, 0, 0, 1, -4096);
        assertTrue(JournalRecord.check(b, 0, end, L).contains("size"));
    }

    // ------------------------------------------------------- journal page

    /** Builds a sealed page holding {@code records} (bytes) at {@code seq}. */
    byte[] page(long seq, byte[] records, int used, int count) {
        byte[] p = new byte[Layout.PAGE];
        System.arraycopy(records, 0, p, JournalPage.HEADER, records.length);
        JournalPage.seal(crc, p, seq, NONCE, seq, seq + 1, used, count);
        return p;
    }

    byte[] twoRecords() {
        byte[] r = new byte[64];
        int o = JournalRecord.putAlloc(r, 0, 1, 1, 0, 5);
        JournalRecord.putFree(r, o, 1);
        return Arrays.copyOf(r, JournalRecord.ALLOC_LEN + JournalRecord.FREE_LEN);
    }

    JournalPage.State check(byte[] p, long seq, String[] why) { return JournalPage.check(crc, p, seq, NONCE, L, why); }

    @Test
    void journalPageStates() {
        String[] why = new String[1];
        byte[] r = twoRecords();
        assertEquals(JournalPage.State.VALID, check(page(5, r, r.length, 2), 5, why));
        // empty: never written
        assertEquals(JournalPage.State.BLANK, check(new byte[Layout.PAGE], 5, why));
        // header only: a valid page without records
        assertEquals(JournalPage.State.VALID, check(page(5, new byte[0], 0, 0), 5, why));
        // junk at the end of the page (after the records, inside the checksum): ignored, the records still parse
        byte[] junk = new byte[200];
        System.arraycopy(r, 0, junk, 0, r.length);
        for (int i = r.length; i < junk.length; i++) junk[i] = (byte) (i * 7 + 1);
        assertEquals(JournalPage.State.VALID, check(page(5, junk, r.length, 2), 5, why));
        // junk counted as records: malformed
        assertEquals(JournalPage.State.MALFORMED, check(page(5, junk, junk.length, 2), 5, why));
        assertNotNull(why[0]);
        // truncated in the length: used stops inside a record
        assertEquals(JournalPage.State.MALFORMED, check(page(5, r, r.length - 3, 2), 5, why));
        assertTrue(why[0].contains("runs past the end") || why[0].contains("truncated"), why[0]);
        // used beyond the payload
        assertEquals(JournalPage.State.MALFORMED, check(page(5, r, JournalPage.PAYLOAD + 1, 2), 5, why));
        // count disagrees
        assertEquals(JournalPage.State.MALFORMED, check(page(5, r, r.length, 3), 5, why));
        assertTrue(why[0].contains("3 records"), why[0]);
        // bad CRC (a torn or damaged page)
        byte[] torn = page(5, r, r.length, 2);
        torn[JournalPage.HEADER + 5] ^= 1;
        assertEquals(JournalPage.State.BAD_CRC, check(torn, 5, why));
        byte[] halfTorn = page(5, r, r.length, 2);
        Arrays.fill(halfTorn, 2048, 4096, (byte) 0x55);
        assertEquals(JournalPage.State.BAD_CRC, check(halfTorn, 5, why));
        // stale sequence (an earlier lap of the ring)
        assertEquals(JournalPage.State.STALE, check(page(5 - L.ringPages, r, r.length, 2), 5, why));
        // another store's page
        byte[] foreign = new byte[Layout.PAGE];
        JournalPage.seal(crc, foreign, 5, NONCE + 1, 5, 6, 0, 0);
        assertEquals(JournalPage.State.FOREIGN, check(foreign, 5, why));
        byte[] notJournal = new byte[Layout.PAGE];
        notJournal[0] = 1;
        assertEquals(JournalPage.State.BAD_MAGIC, check(notJournal, 5, why));
    }

    @Test
    void journalPageFuzzNeverThrows() {
        SplittableRandom r = new SplittableRandom(5);
        String[] why = new String[1];
        int valid = 0, applied = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] rec = new byte[r.nextInt(0, 600)];
            int o = 0, count = 0, end = 0;
            boolean wellFormed = r.nextBoolean();
            while (o + 4 <= rec.length) {
                int len;
                if (wellFormed || r.nextBoolean()) { // a plausible record with random fields
                    int kind = r.nextInt(5);
                    if (o + 28 > rec.length) break;
                    len = switch (kind) {
                        case 0 -> JournalRecord.putResize(rec, o, r.nextInt(0, 70), r.nextInt(1, 9), 4096L * r.nextInt(-1, 64)) - o;
                        case 1 -> JournalRecord.putAlloc(rec, o, r.nextInt(0, L.unitCount + 2), r.nextInt(0, 3), r.nextInt(-1, 9), r.nextInt(0, 9)) - o;
                        case 2 -> JournalRecord.putDelete(rec, o, r.nextInt(0, 70), r.nextInt(1, 9)) - o;
                        case 3 -> JournalRecord.putArm(rec, o, JournalRecord.ARM + r.nextInt(2), r.nextInt(0, L.unitCount + 1), r.nextInt(0, 3)) - o;
                        default -> {
                            int n = r.nextInt(0, 3);
                            int e = JournalRecord.putCrcHeader(rec, o, r.nextInt(0, L.unitCount), r.nextInt(0, 3), r.nextInt(0, L.slicesPerUnit), n);
                            yield e - o;
                        }
                    };
                    if (o + len > rec.length) break;
                } else {
                    len = r.nextInt(4) == 0 ? r.nextInt(0, 80) : new int[]{8, 12, 16, 20, 24, 28}[r.nextInt(6)];
                    LE.u16(rec, o, r.nextInt(0, 11));
                    LE.u16(rec, o + 2, len);
                    for (int k = o + 4; k < Math.min(rec.length, o + len); k++) rec[k] = (byte) r.nextInt(r.nextBoolean() ? 3 : 256);
                }
                o += Math.max(4, len);
                if (o <= rec.length) {
                    end = o;
                    count++;
                }
            }
            byte[] p = wellFormed ? page(9, rec, end, count) : page(9, rec, r.nextInt(0, rec.length + 2), r.nextInt(0, 40));
            JournalPage.State s = check(p, 9, why);
            if (s == JournalPage.State.VALID) {
                valid++;
                MetaImage m = new MetaImage(L); // every record of a valid page applies without error
                m.setObject(3, 1, 4, 1 << 20, new byte[0]);
                int off = JournalPage.HEADER, stop = off + JournalPage.used(p);
                while (off < stop) {
                    m.apply(p, off);
                    applied++;
                    off += JournalRecord.length(p, off);
                }
            } else if (s == JournalPage.State.MALFORMED) {
                assertNotNull(why[0]);
            }
        }
        assertTrue(valid > 1000 && applied > 1000, "valid pages " + valid + ", records applied " + applied);
    }

    @Test
    void sliceChecksumIsBoundToPlaceAndGeneration() {
        byte[] data = new byte[4096];
        new SplittableRandom(6).nextBytes(data);
        byte[] s = new byte[12];
        int a = Crc.ofSlice(crc, ByteBuffer.wrap(data), 1, 2, 3, s);
        assertEquals(a, Crc.ofSlice(crc, ByteBuffer.wrap(data), 1, 2, 3, s));
        assertNotEquals(a, Crc.ofSlice(crc, ByteBuffer.wrap(data), 2, 2, 3, s));
        assertNotEquals(a, Crc.ofSlice(crc, ByteBuffer.wrap(data), 1, 3, 3, s));
        assertNotEquals(a, Crc.ofSlice(crc, ByteBuffer.wrap(data), 1, 2, 4, s));
        assertNotEquals(0, a);
        assertNotEquals(Crc.LOST, a);
    }
}
