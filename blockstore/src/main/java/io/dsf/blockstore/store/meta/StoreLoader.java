package io.dsf.blockstore.store.meta;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.format.Crc;
import io.dsf.blockstore.store.format.JournalPage;
import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.MetaPage;
import io.dsf.blockstore.store.format.Superblock;
import org.agrona.collections.Long2LongHashMap;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads a store's metadata from a device without writing anything: both superblock copies, the
 * generation table, every metadata page in use, then replays the journal from the checkpoint's
 * replay start, and cross-checks the result. Everything read is validated before use; what is
 * wrong is reported as {@link Problem}s. Used by {@code BlockStore.open} (which then repairs what is
 * repairable) and by the checker. Single use, on one thread.
 */
public final class StoreLoader {
    private static final int BATCH = 32;

    /** What loading found. */
    public static final class Result {
        public Superblock superblock;
        public MetaImage image;
        public final List<Problem> problems = new ArrayList<>();
        /** Superblock copy that must be rewritten on open (null: both fine). */
        public boolean superARepair, superBRepair;
        public long superBOffset;
        /** Another format version was found (the store must be refused). */
        public String versionMismatch;
        /** Sequence of the last journal page replayed (replay start - 1 when none). */
        public long lastSeq;
        public int replayedPages, replayedRecords;
        /** Slices of the last (unflushed) commit whose logged checksum did not match the data found. */
        public int unflushedReverted;
        /** How the replayed journal ended. */
        public String journalEnd = "";
        /** Pages changed by replay or repairs (must be in the next checkpoint). */
        public final BitSet touched = new BitSet();

        public boolean fatal() {
            if (versionMismatch != null || image == null) return true;
            for (Problem p : problems) if (p.severity() == Problem.Severity.FATAL) return true;
            return false;
        }
    }

    private final BlockDevice device;
    private final CRC32C crc = new CRC32C();
    private final byte[] page = new byte[Layout.PAGE];
    private final Result r = new Result();
    private MemorySegment dma;

    private StoreLoader(BlockDevice device) { this.device = device; }

    /** Loads the store on {@code device}; never throws for what it reads (device failures do throw). */
    public static Result load(BlockDevice device) {
        return new StoreLoader(device).run();
    }

    private Result run() {
        int align = Math.max(Layout.PAGE, device.geometry().bufferAlignment());
        dma = device.allocateDma((long) BATCH * Layout.PAGE + align).asSlice(0, (long) BATCH * Layout.PAGE);
        try (BlockingBatch io = new BlockingBatch(device, BATCH)) {
            if (!superblocks(io)) return r;
            Layout l = r.superblock.layout();
            if (l.capacity > device.geometry().capacity()) {
                r.problems.add(new Problem(Problem.Severity.FATAL, "superblock", "store spans " + l.capacity
                        + " bytes but the device has only " + device.geometry().capacity()));
                return r;
            }
            r.image = new MetaImage(l);
            r.image.nextHandle = Math.max(1, r.superblock.nextHandle());
            if (!metadata(io)) return r;
            journal(io);
            crossCheck();
        }
        return r;
    }

    private void readPage(BlockingBatch io, long offset) {
        MemorySegment s = dma.asSlice(0, Layout.PAGE);
        io.read(offset, s, Layout.PAGE);
        io.await();
        MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, page, 0, Layout.PAGE);
    }

    // ------------------------------------------------------------ superblocks

    private boolean superblocks(BlockingBatch io) {
        long devCap = device.geometry().capacity() / Layout.PAGE * Layout.PAGE;
        if (devCap < 3L * Layout.PAGE) {
            r.problems.add(new Problem(Problem.Severity.FATAL, "device", "too small to hold a store (" + device.geometry().capacity() + " bytes)"));
            return false;
        }
        readPage(io, 0);
        Superblock.Decoded a = Superblock.decode(page);
        long bOff = a.ok() && a.sb().layout().capacity <= devCap ? a.sb().layout().superBOffset() : devCap - Layout.PAGE;
        readPage(io, bOff);
        Superblock.Decoded b = Superblock.decode(page);
        if (!b.ok() && a.ok() && bOff != devCap - Layout.PAGE) { /* A points at B's place: keep */ }
        r.superBOffset = bOff;
        if (a.otherVersion() || b.otherVersion()) {
            int v = a.otherVersion() ? a.version() : b.version();
            r.versionMismatch = "the store on " + device.uri() + " has format version " + v + "; this build reads version "
                    + Superblock.VERSION + " only";
            r.problems.add(new Problem(Problem.Severity.FATAL, "superblock", r.versionMismatch));
            return false;
        }
        String whereA = "superblock copy A @0", whereB = "superblock copy B @" + bOff;
        if (!a.ok() && !b.ok()) {
            r.problems.add(new Problem(Problem.Severity.FATAL, whereA, a.problem()));
            r.problems.add(new Problem(Problem.Severity.FATAL, whereB, b.problem()));
            return false;
        }
        if (a.ok() && b.ok()) {
            Superblock sa = a.sb(), sb = b.sb();
            if (!sa.uuid().equals(sb.uuid())) {
                r.problems.add(new Problem(Problem.Severity.FATAL, "superblock", "copies A (" + sa.uuid() + ") and B (" + sb.uuid() + ") belong to different stores"));
                return false;
            }
            if (sa.writeSeq() >= sb.writeSeq()) {
                r.superblock = sa;
                if (sa.writeSeq() != sb.writeSeq()) {
                    r.superBRepair = true;
                    r.problems.add(new Problem(Problem.Severity.REPAIRABLE, whereB, "stale (write sequence " + sb.writeSeq() + ", copy A has " + sa.writeSeq() + ")"));
                }
            } else {
                r.superblock = sb;
                r.superARepair = true;
                r.problems.add(new Problem(Problem.Severity.REPAIRABLE, whereA, "stale (write sequence " + sa.writeSeq() + ", copy B has " + sb.writeSeq() + ")"));
            }
        } else if (a.ok()) {
            r.superblock = a.sb();
            r.superBRepair = true;
            r.problems.add(new Problem(Problem.Severity.REPAIRABLE, whereB, b.problem()));
        } else {
            r.superblock = b.sb();
            r.superARepair = true;
            r.problems.add(new Problem(Problem.Severity.REPAIRABLE, whereA, a.problem()));
        }
        if (r.superARepair && !a.ok() && r.superblock.layout().superBOffset() != bOff) {
            r.problems.add(new Problem(Problem.Severity.FATAL, "superblock", "copy B describes a store of " + r.superblock.layout().capacity
                    + " bytes, not ending where it was found (" + (bOff + Layout.PAGE) + ")"));
            return false;
        }
        return true;
    }

    // --------------------------------------------------------------- metadata

    private boolean metadata(BlockingBatch io) {
        Layout l = r.superblock.layout();
        MetaImage img = r.image;
        long g = r.superblock.generation();
        long nonce = r.superblock.nonce();
        int genSlot = (int) (g & 1);
        boolean ok = true;
        // the generation table: every page of it is written by every checkpoint, so its current slot holds exactly G
        List<Integer> pages = new ArrayList<>();
        for (int p = l.firstGenPage; p < l.metaPages; p++) pages.add(p);
        ok &= readMeta(io, pages, p -> genSlot, p -> g);
        if (!ok) return false;
        // every other page in use: the slot and generation the table names
        pages.clear();
        for (int p = 0; p < l.dataPages; p++) {
            long e = img.genTable[p];
            if (e == 0) continue;
            long pg = e >>> 1;
            if (pg > g || pg < 1) {
                r.problems.add(new Problem(Problem.Severity.FATAL, "generation table entry for metadata page " + p + " (" + MetaPage.kindName(l.kindOf(p)) + ")",
                        "generation " + pg + " outside 1.." + g));
                ok = false;
                continue;
            }
            pages.add(p);
        }
        ok &= readMeta(io, pages, p -> (int) (img.genTable[p] & 1), p -> img.genTable[p] >>> 1);
        img.trimBitmap();
        return ok;
    }

    private boolean readMeta(BlockingBatch io, List<Integer> pages, java.util.function.IntUnaryOperator slotOf,
                             java.util.function.IntToLongFunction genOf) {
        Layout l = r.superblock.layout();
        long nonce = r.superblock.nonce();
        boolean ok = true;
        for (int i = 0; i < pages.size(); i += BATCH) {
            int n = Math.min(BATCH, pages.size() - i);
            for (int k = 0; k < n; k++) {
                int p = pages.get(i + k);
                io.read(l.slotOffset(p, slotOf.applyAsInt(p)), dma.asSlice((long) k * Layout.PAGE, Layout.PAGE), Layout.PAGE);
            }
            io.await();
            for (int k = 0; k < n; k++) {
                int p = pages.get(i + k);
                int slot = slotOf.applyAsInt(p);
                MemorySegment.copy(dma, java.lang.foreign.ValueLayout.JAVA_BYTE, (long) k * Layout.PAGE, page, 0, Layout.PAGE);
                int kind = l.kindOf(p);
                String bad = MetaPage.verify(crc, page, p, kind, genOf.applyAsLong(p), nonce);
                if (bad != null) {
                    r.problems.add(new Problem(Problem.Severity.FATAL, "metadata page " + p + " (" + MetaPage.kindName(kind) + ") slot " + slot
                            + " @" + l.slotOffset(p, slot), bad + " (generation " + genOf.applyAsLong(p) + " expected)"));
                    ok = false;
                    continue;
                }
                r.image.readPayload(p, page, r.problems);
            }
        }
        return ok;
    }

    // ---------------------------------------------------------------- journal

    private void journal(BlockingBatch io) {
        Layout l = r.superblock.layout();
        long nonce = r.superblock.nonce();
        MetaImage img = r.image;
        long seq = r.superblock.replaySeq();
        String[] why = new String[1];
        // find the valid run of pages first: its last commit is the one whose flush may not have happened
        List<byte[]> pages = new ArrayList<>();
        JournalPage.State end = null;
        while (pages.size() < l.ringPages) {
            readPage(io, l.journalPageOffset(l.ringIndex(seq)));
            JournalPage.State s = JournalPage.check(crc, page, seq, nonce, l, why);
            if (s != JournalPage.State.VALID) {
                end = s;
                break;
            }
            pages.add(page.clone());
            seq++;
        }
        byte[] lastPage = pages.isEmpty() ? null : pages.get(pages.size() - 1);
        long lastCommit = lastPage == null ? Long.MAX_VALUE : JournalPage.commitFirst(lastPage);
        // INTENT records from here on may describe writes that never became durable
        long verifyFrom = lastPage == null ? Long.MAX_VALUE : JournalPage.verifyFrom(lastPage);
        img.beginReplay(r.touched);
        try {
            for (byte[] p : pages) {
                boolean unflushed = JournalPage.commitFirst(p) == lastCommit;
                boolean intentsUnsure = JournalPage.seq(p) >= verifyFrom;
                int off = JournalPage.HEADER, stop = JournalPage.HEADER + JournalPage.used(p);
                while (off < stop) {
                    int t = JournalRecord.type(p, off);
                    if (t == JournalRecord.CRC || t == JournalRecord.INTENT)
                        noteCrc(p, off, unflushed || (t == JournalRecord.INTENT && intentsUnsure), t == JournalRecord.INTENT && !unflushed);
                    img.apply(p, off);
                    r.replayedRecords++;
                    off += JournalRecord.length(p, off);
                }
                r.replayedPages++;
            }
            verifyUnflushed(io);
        } finally {
            img.endReplay();
        }
        r.lastSeq = seq - 1;
        String where = "journal page seq " + seq + " (ring page " + l.ringIndex(seq) + " @" + l.journalPageOffset(l.ringIndex(seq)) + ")";
        if (end == null) {
            r.journalEnd = "journal full: " + r.replayedPages + " pages replayed";
            return;
        }
        if (end == JournalPage.State.MALFORMED) {
            r.problems.add(new Problem(Problem.Severity.FATAL, where, "intact checksum but malformed: " + why[0]));
            return;
        }
        r.journalEnd = r.replayedPages + " pages, " + r.replayedRecords + " records replayed; ends at seq " + seq + " (" + end.name().toLowerCase() + ")";
        // is what follows the end a later commit? then the end is damage, not a torn tail
        for (int k = 1; r.replayedPages + k < l.ringPages; k++) {
            readPage(io, l.journalPageOffset(l.ringIndex(seq + k)));
            if (JournalPage.classify(crc, page, nonce) != JournalPage.State.VALID || JournalPage.seq(page) != seq + k) break;
            if (JournalPage.commitFirst(page) > seq) {
                r.problems.add(new Problem(Problem.Severity.FATAL, where, end.name().toLowerCase().replace('_', ' ')
                        + ", but page seq " + (seq + k) + " of a later commit (from seq " + JournalPage.commitFirst(page)
                        + ") is intact: committed journal records were damaged"));
                return;
            }
        }
    }

    private MemorySegment slice;
    private java.nio.ByteBuffer sliceView;
    private final byte[] scratch = new byte[12];
    /**
     * A slice whose latest checksums come from records that may describe data not on the media:
     * the checksum it had before them ({@code base}), the ones they set (oldest first), and
     * whether one of those could belong to an acknowledged write (an INTENT outside the last
     * commit: its write may have completed and been flushed after that page was sealed).
     */
    private static final class Unsure {
        final int gen, base;
        final org.agrona.collections.IntArrayList values = new org.agrona.collections.IntArrayList();
        boolean ackPossible;

        Unsure(int gen, int base) {
            this.gen = gen;
            this.base = base;
        }
    }

    /** Slices to check against the data after replay: unit * slices-per-unit + slice. */
    private final java.util.HashMap<Long, Unsure> unsure = new java.util.HashMap<>();

    /**
     * Notes the slices a CRC or INTENT record is about to set: {@code unverified} ones are checked
     * against the data after replay; a trusted record settles its slices (it supersedes whatever
     * unsure record came before).
     */
    private void noteCrc(byte[] p, int off, boolean unverified, boolean ackPossible) {
        MetaImage img = r.image;
        int u = JournalRecord.unit(p, off);
        int[] c = img.crcArray(u);
        int gen = JournalRecord.gen(p, off);
        if (c == null || img.unitOwner[u] == 0 || img.unitGen[u] != gen) return; // ignored by replay too
        int first = JournalRecord.crcFirst(p, off), n = JournalRecord.crcCount(p, off);
        for (int k = 0; k < n; k++) {
            long key = (long) u * img.slicesPerUnit + first + k;
            if (!unverified) {
                unsure.remove(key);
                continue;
            }
            Unsure x = unsure.get(key);
            if (x == null || x.gen != gen) {
                x = new Unsure(gen, c[first + k]);
                unsure.put(key, x);
            }
            x.values.addInt(JournalRecord.crcAt(p, off, k));
            x.ackPossible |= ackPossible;
        }
    }

    /**
     * The last commit's flush may not have happened, and a volatile write cache persists in any
     * order: its CRC records can be on the media while the data they describe is not. INTENT
     * records at or after the verify-from mark were logged before their writes completed. Every
     * slice such records changed, in a unit not armed at the end of replay (so no unlogged
     * overwrite can have followed), keeps the checksum its data matches: the latest logged one,
     * else an earlier one of those records, else the one from before them; else it is recorded
     * lost (a torn write), or stays unwritten if it held nothing before and none of the records
     * can have been acknowledged. In armed units the recovery scan of the armed units decides.
     */
    private void verifyUnflushed(BlockingBatch io) {
        MetaImage img = r.image;
        Layout l = img.layout;
        int spu = img.slicesPerUnit;
        for (java.util.Map.Entry<Long, Unsure> ent : unsure.entrySet()) {
            long key = ent.getKey();
            Unsure x = ent.getValue();
            int u = (int) (key / spu), s = (int) (key % spu);
            int old = x.base;
            int[] c = img.crcArray(u);
            if (c == null || img.unitOwner[u] == 0 || img.unitGen[u] != x.gen || img.armState(u) != MetaImage.UNARMED) continue;
            int want = c[s];
            if (want == old || want == 0 || want == Crc.LOST) continue;
            if (slice == null) {
                int align = Math.max(Layout.PAGE, device.geometry().bufferAlignment());
                slice = device.allocateDma(l.sliceSize + align).asSlice(0, l.sliceSize);
                sliceView = slice.asByteBuffer();
            }
            int got;
            try {
                io.read(l.unitOffset(u) + (long) s * l.sliceSize, slice, l.sliceSize);
                io.await();
                sliceView.clear();
                got = Crc.ofSlice(crc, sliceView, u, s, c[spu], scratch);
            } catch (RuntimeException e) {
                got = 0;
            }
            int v = got == want ? want : Crc.LOST;
            for (int i = x.values.size() - 1; i >= 0 && v == Crc.LOST; i--) if (x.values.getInt(i) == got && got != 0 && got != Crc.LOST) v = got;
            if (v == Crc.LOST && got == old) v = old;
            if (v == Crc.LOST && old == 0 && !x.ackPossible) v = 0;
            if (v != want) {
                c[s] = v;
                img.markCrcPages(u, s, 1, r.touched);
                r.unflushedReverted++;
            }
        }
    }

    // ------------------------------------------------------------ cross-check

    private void crossCheck() {
        MetaImage img = r.image;
        Layout l = img.layout;
        Long2LongHashMap slotOfHandle = new Long2LongHashMap(-1);
        Long2LongHashMap slotOfId = new Long2LongHashMap(-1);
        for (int s = 0; s < l.maxObjects; s++) {
            long h = img.objHandle[s];
            if (h == 0) continue;
            long prev = slotOfHandle.put(h, s);
            if (prev != -1) r.problems.add(new Problem(Problem.Severity.FATAL, "object table slot " + s,
                    "handle " + h + " also used by slot " + prev));
            long prevId = slotOfId.put(img.objId[s], s);
            if (prevId != -1) r.problems.add(new Problem(Problem.Severity.FATAL, "object table slot " + s,
                    "object id " + img.objId[s] + " also used by slot " + prevId));
            if (h >= img.nextHandle) img.nextHandle = h + 1;
        }
        // (handle, index) -> unit, to find units owned twice
        java.util.HashMap<Long, java.util.HashMap<Integer, Integer>> seen = new java.util.HashMap<>();
        for (int u = 0; u < l.unitCount; u++) {
            long h = img.unitOwner[u];
            boolean bit = img.bit(u);
            if (h == 0) {
                if (bit) r.problems.add(new Problem(Problem.Severity.REPAIRABLE, "unit " + u, "marked allocated in the bitmap but has no owner"));
                continue;
            }
            if (!bit) r.problems.add(new Problem(Problem.Severity.REPAIRABLE, "unit " + u, "owned by handle " + h + " but free in the bitmap"));
            long slot = slotOfHandle.get(h);
            int idx = img.unitIndex[u];
            if (slot == -1) {
                r.problems.add(new Problem(Problem.Severity.REPAIRABLE, "unit " + u, "leaked: owned by handle " + h + " (index " + idx + "), which no object has"));
                continue;
            }
            if ((idx & 0xFFFFFFFFL) >= img.unitsFor(img.objSize[(int) slot])) {
                r.problems.add(new Problem(Problem.Severity.REPAIRABLE, "unit " + u, "beyond the size of object " + img.objId[(int) slot]
                        + ": index " + idx + " but the object is " + img.objSize[(int) slot] + " bytes"));
                continue;
            }
            Integer other = seen.computeIfAbsent(h, k -> new java.util.HashMap<>()).putIfAbsent(idx, u);
            if (other != null) r.problems.add(new Problem(Problem.Severity.FATAL, "unit " + u,
                    "owned twice: object " + img.objId[(int) slot] + " index " + idx + " is also unit " + other));
        }
    }
}
