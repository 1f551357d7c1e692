package io.dsf.stargate.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * On-store layouts of OpLog batch headers and block-map log pages (see ARCHITECTURE.md), as
 * static encode/decode helpers over native memory. Stateless; callers pass their own CRC32C.
 */
final class Formats {
    private Formats() {}

    static final int PAGE = 4096;
    static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    // ---- OpLog batch header: one 4 KiB slice before the batch's data slices
    static final int OPLOG_MAGIC = 0x474C504F; // "OPLG"
    static final int OPLOG_VERSION = 1;
    static final int OPLOG_ENTRY = 32, OPLOG_HDR = 32;
    static final int OPLOG_MAX_ENTRIES = (PAGE - OPLOG_HDR) / OPLOG_ENTRY; // 127
    static final int FLAG_ZERO = 1;
    /**
     * In the owner's own OpLog only: the entry's data went straight to its extent (a replicated
     * direct write); the batch here is its header page alone, the data slices it reserves are never
     * written, and recovery neither reads nor indexes it (the block map names the data). Replicas get
     * the same batch with the flag clear and the data in place.
     */
    static final int FLAG_DIRECT = 2;
    /** Data slices one batch may carry after its header. */
    static final int OPLOG_MAX_DATA_SLICES = 128;

    static void putOplogHeader(MemorySegment h, long objectId, int count, int dataSlices) {
        h.set(I, 0, OPLOG_MAGIC);
        h.set(S, 4, (short) OPLOG_VERSION);
        h.set(S, 6, (short) count);
        h.set(L, 8, objectId);
        h.set(I, 16, dataSlices);
        h.set(I, 20, 0);
        h.set(L, 24, 0);
    }

    static void putOplogEntry(MemorySegment h, int i, long seq, long block, int nBlocks, int flags, int dataCrc) {
        long o = OPLOG_HDR + (long) i * OPLOG_ENTRY;
        h.set(L, o, seq);
        h.set(L, o + 8, block);
        h.set(I, o + 16, nBlocks);
        h.set(I, o + 20, flags);
        h.set(I, o + 24, dataCrc);
        h.set(I, o + 28, 0);
    }

    static void sealPage(MemorySegment page, int crcOffset, ByteBuffer view, int viewBase, CRC32C crc) {
        page.set(I, crcOffset, 0);
        page.set(I, crcOffset, crc(view, viewBase, PAGE, crc));
    }

    /** CRC32C of {@code len} bytes of a direct buffer view starting at {@code base}. */
    static int crc(ByteBuffer view, int base, int len, CRC32C crc) {
        crc.reset();
        view.limit(base + len).position(base);
        crc.update(view);
        view.limit(view.capacity()).position(0);
        return (int) crc.getValue();
    }

    /** Checks a 4 KiB page's stored CRC (at {@code crcOffset}) without disturbing it for good. */
    static boolean pageCrcOk(MemorySegment page, int crcOffset, ByteBuffer view, int viewBase, CRC32C crc) {
        int stored = page.get(I, crcOffset);
        page.set(I, crcOffset, 0);
        int c = crc(view, viewBase, PAGE, crc);
        page.set(I, crcOffset, stored);
        return c == stored;
    }

    static boolean oplogHeaderValid(MemorySegment h, long objectId, ByteBuffer view, int viewBase, CRC32C crc) {
        if (h.get(I, 0) != OPLOG_MAGIC || h.get(S, 4) != OPLOG_VERSION) return false;
        int count = h.get(S, 6) & 0xffff;
        if (count < 1 || count > OPLOG_MAX_ENTRIES || h.get(L, 8) != objectId) return false;
        int slices = h.get(I, 16);
        if (slices < 0 || slices > OPLOG_MAX_DATA_SLICES) return false;
        return pageCrcOk(h, 20, view, viewBase, crc);
    }

    static int oplogCount(MemorySegment h) { return h.get(S, 6) & 0xffff; }
    static int oplogDataSlices(MemorySegment h) { return h.get(I, 16); }
    static long entrySeq(MemorySegment h, int i) { return h.get(L, OPLOG_HDR + (long) i * OPLOG_ENTRY); }
    static long entryBlock(MemorySegment h, int i) { return h.get(L, OPLOG_HDR + (long) i * OPLOG_ENTRY + 8); }
    static int entryBlocks(MemorySegment h, int i) { return h.get(I, OPLOG_HDR + (long) i * OPLOG_ENTRY + 16); }
    static int entryFlags(MemorySegment h, int i) { return h.get(I, OPLOG_HDR + (long) i * OPLOG_ENTRY + 20); }
    static int entryCrc(MemorySegment h, int i) { return h.get(I, OPLOG_HDR + (long) i * OPLOG_ENTRY + 24); }

    // ---- block-map log page
    static final int MAP_MAGIC = 0x50414D42; // "BMAP"
    static final int MAP_ENTRY = 24, MAP_HDR = 32;
    static final int MAP_MAX_ENTRIES = (PAGE - MAP_HDR) / MAP_ENTRY; // 169
    /** Page flag: the last page of a checkpoint (a log whose first page lacks it is incomplete until one appears). */
    static final int MAP_FLAG_CHECKPOINT_END = 1;

    static void putMapHeader(MemorySegment p, long objectId, long pageSeq, int count, int flags) {
        p.set(I, 0, MAP_MAGIC);
        p.set(I, 4, 0);
        p.set(L, 8, objectId);
        p.set(L, 16, pageSeq);
        p.set(S, 24, (short) count);
        p.set(S, 26, (short) flags);
        p.set(I, 28, 0);
    }

    static void putMapEntry(MemorySegment p, int i, long vblock, long extent, long seq) {
        long o = MAP_HDR + (long) i * MAP_ENTRY;
        p.set(L, o, vblock);
        p.set(L, o + 8, extent);
        p.set(L, o + 16, seq);
    }

    static boolean mapPageValid(MemorySegment p, long objectId, long pageSeq, ByteBuffer view, int viewBase, CRC32C crc) {
        if (p.get(I, 0) != MAP_MAGIC || p.get(L, 8) != objectId || p.get(L, 16) != pageSeq) return false;
        int count = p.get(S, 24) & 0xffff;
        if (count > MAP_MAX_ENTRIES) return false;
        return pageCrcOk(p, 4, view, viewBase, crc);
    }

    static int mapCount(MemorySegment p) { return p.get(S, 24) & 0xffff; }
    static int mapFlags(MemorySegment p) { return p.get(S, 26) & 0xffff; }
    static long mapVBlock(MemorySegment p, int i) { return p.get(L, MAP_HDR + (long) i * MAP_ENTRY); }
    static long mapExtent(MemorySegment p, int i) { return p.get(L, MAP_HDR + (long) i * MAP_ENTRY + 8); }
    static long mapSeq(MemorySegment p, int i) { return p.get(L, MAP_HDR + (long) i * MAP_ENTRY + 16); }
}
