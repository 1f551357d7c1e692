package io.dsf.stargate.replication;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * On-store layout of a replica's <em>image</em> of one owner stream (owner node, vDisk id, shard):
 * what the replica's drain made of the batches it held, so that its replica OpLog segments can go.
 * Constants and codecs only; stateless; thread safe.
 *
 * <p>Objects (BlockStore attribute {@code t}):
 * <ul>
 * <li>{@code rib}, one per (owner, vDisk, shard, vBlock) the stream wrote (attributes {@code o v s vb}):
 *     1 MiB, the newest drained version of block {@code b} of the vBlock at slice {@code b % 256}.
 *     Written in place by later drains; deleted once every block it holds is below the stream's base.</li>
 * <li>{@code rit}, one per stream (attributes {@code o v s}): the covered sequence ranges, twice
 *     ({@link #RANGE_PAGES} pages each, copy A at 0 and copy B after it), then per local vBlock index
 *     {@code i = vBlock / shards} two table pages (A and B) at {@link #tableOffset}. Thin: only the pages
 *     of vBlocks the stream wrote are ever allocated.</li>
 * </ul>
 *
 * <p>Table page (one vBlock; little-endian):
 * <pre>
 *  0 magic "RIMT" u32 | 4 version u16 | 6 zero u16 | 8 generation u64 | 16 vBlock u64 | 24 CRC32C u32 | 28 zero u32
 *  32   kind[256]  u8  (0 absent, 1 data, 2 zero: write-zeroes or unmap)
 *  288  seq[256]   u64 (the entry's sequence number)
 *  2336 crc[256]   u32 (CRC32C of the block's 4 KiB; computed by the drain from data that verified
 *                       against the entry's CRC32C, the one that travelled with it)
 *  3360 zero up to 4096
 * </pre>
 * A ranges copy: {@code 0 magic "RIMR" u32 | 4 version u16 | 6 zero u16 | 8 generation u64 | 16 count u32 |
 * 20 CRC32C u32 | 24 zero u64 | 32 count x (first u64, last u64)}, sorted, disjoint, first &ge; 1; the
 * CRC covers bytes {@code [0, 32 + 16 count)} with the CRC field zero. Both kinds of record are
 * written to the copy that does not hold the newest valid generation, with generation + 1, so a write
 * torn by a crash leaves the other copy (the previous generation) readable; a reader takes the valid
 * copy with the highest generation.
 */
public final class ReplicaImage {
    private ReplicaImage() {}

    /** BlockStore type of an image vBlock object, and of a stream's table object. */
    public static final String BLOCK_TYPE = "rib", TABLE_TYPE = "rit";
    public static final int PAGE = 4096;
    public static final int VBLOCK_BLOCKS = 256;
    public static final long VBLOCK_BYTES = (long) VBLOCK_BLOCKS * PAGE;
    public static final int KIND_ABSENT = 0, KIND_DATA = 1, KIND_ZERO = 2;
    static final int TABLE_MAGIC = 0x544D4952; // "RIMT"
    static final int RANGES_MAGIC = 0x524D4952; // "RIMR"
    static final int VERSION = 1;
    static final int OFF_KIND = 32, OFF_SEQ = 288, OFF_CRC = 2336;
    /** Pages of one copy of the covered ranges. */
    public static final int RANGE_PAGES = 16;
    /** Covered ranges a stream can record at most. */
    public static final int MAX_RANGES = (RANGE_PAGES * PAGE - 32) / 16;
    static final long TABLES_AT = 2L * RANGE_PAGES * PAGE;

    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Offset in the table object of the two table pages of local vBlock index {@code i}. */
    public static long tableOffset(long i) { return TABLES_AT + i * 2 * PAGE; }

    /** Offset of ranges copy {@code copy} (0 or 1). */
    static long rangesOffset(int copy) { return (long) copy * RANGE_PAGES * PAGE; }

    /** Size of a stream's table object for a vDisk of {@code vdiskBytes} in {@code shards} shards. */
    public static long tableObjectSize(long vdiskBytes, int shards) {
        long vblocks = (vdiskBytes + VBLOCK_BYTES - 1) / VBLOCK_BYTES;
        return tableOffset((vblocks + shards - 1) / shards);
    }

    /** One vBlock's table in memory. Owned by one thread. */
    public static final class Table {
        public final long vblock;
        public final byte[] kind = new byte[VBLOCK_BLOCKS];
        public final long[] seq = new long[VBLOCK_BLOCKS];
        public final int[] crc = new int[VBLOCK_BLOCKS];
        /** Generation of the copy read (0: none valid) and which copy held it (-1: none). */
        long gen;
        int copy = -1;

        public Table(long vblock) { this.vblock = vblock; }

        /** Blocks present (data or zero). */
        public int present() {
            int n = 0;
            for (byte k : kind) if (k != KIND_ABSENT) n++;
            return n;
        }

        /** Highest sequence of any present block (0: none). */
        public long newest() {
            long m = 0;
            for (int i = 0; i < VBLOCK_BLOCKS; i++) if (kind[i] != KIND_ABSENT) m = Math.max(m, seq[i]);
            return m;
        }

        /** Drops every block below {@code base}. */
        void dropBelow(long base) {
            for (int i = 0; i < VBLOCK_BLOCKS; i++)
                if (kind[i] != KIND_ABSENT && seq[i] < base) {
                    kind[i] = KIND_ABSENT;
                    seq[i] = 0;
                    crc[i] = 0;
                }
        }
    }

    /**
     * Reads the newest valid copy of the two table pages at {@code at} of {@code m} (8 KiB) into
     * {@code t} (left empty when neither is valid). {@code view} is {@code m.asByteBuffer()}.
     */
    static void decodeTable(MemorySegment m, ByteBuffer view, int at, Table t, CRC32C crc) {
        Arrays.fill(t.kind, (byte) 0);
        Arrays.fill(t.seq, 0);
        Arrays.fill(t.crc, 0);
        t.gen = 0;
        t.copy = -1;
        long best = 0;
        int which = -1;
        for (int c = 0; c < 2; c++) {
            long g = validTable(m, view, at + c * PAGE, t.vblock, crc);
            if (g > best) {
                best = g;
                which = c;
            }
        }
        if (which < 0) return;
        int p = at + which * PAGE;
        for (int i = 0; i < VBLOCK_BLOCKS; i++) {
            int k = m.get(ValueLayout.JAVA_BYTE, p + OFF_KIND + i);
            if (k != KIND_DATA && k != KIND_ZERO) continue;
            long s = m.get(L, p + OFF_SEQ + 8L * i);
            if (s < 1) continue;
            t.kind[i] = (byte) k;
            t.seq[i] = s;
            t.crc[i] = m.get(I, p + OFF_CRC + 4L * i);
        }
        t.gen = best;
        t.copy = which;
    }

    /** The generation of the table page at {@code at} if it is a valid page of {@code vblock}, else 0. */
    static long validTable(MemorySegment m, ByteBuffer view, int at, long vblock, CRC32C crc) {
        if (m.get(I, at) != TABLE_MAGIC || m.get(S, at + 4) != VERSION || m.get(S, at + 6) != 0 || m.get(I, at + 28) != 0) return 0;
        if (m.get(L, at + 16) != vblock) return 0;
        long g = m.get(L, at + 8);
        if (g < 1) return 0;
        int stored = m.get(I, at + 24);
        m.set(I, at + 24, 0);
        int c = OpLogBatchView.crc(view, at, PAGE, crc);
        m.set(I, at + 24, stored);
        return c == stored ? g : 0;
    }

    /** Encodes {@code t} with generation {@code gen} as one table page at {@code at} of {@code m}. */
    static void encodeTable(MemorySegment m, ByteBuffer view, int at, Table t, long gen, CRC32C crc) {
        m.asSlice(at, PAGE).fill((byte) 0);
        m.set(I, at, TABLE_MAGIC);
        m.set(S, at + 4, (short) VERSION);
        m.set(L, at + 8, gen);
        m.set(L, at + 16, t.vblock);
        for (int i = 0; i < VBLOCK_BLOCKS; i++) {
            if (t.kind[i] == KIND_ABSENT) continue;
            m.set(ValueLayout.JAVA_BYTE, at + OFF_KIND + i, t.kind[i]);
            m.set(L, at + OFF_SEQ + 8L * i, t.seq[i]);
            m.set(I, at + OFF_CRC + 4L * i, t.crc[i]);
        }
        m.set(I, at + 24, OpLogBatchView.crc(view, at, PAGE, crc));
    }

    /** Bytes a ranges copy of {@code count} ranges takes, rounded up to whole pages. */
    static int rangesBytes(int count) { return (32 + 16 * count + PAGE - 1) / PAGE * PAGE; }

    /** Encodes ranges ({@code pairs}: first, last, ...) with generation {@code gen} at {@code at}; returns the bytes to write. */
    static int encodeRanges(MemorySegment m, ByteBuffer view, int at, long[] pairs, long gen, CRC32C crc) {
        int count = pairs.length / 2, bytes = rangesBytes(count);
        m.asSlice(at, bytes).fill((byte) 0);
        m.set(I, at, RANGES_MAGIC);
        m.set(S, at + 4, (short) VERSION);
        m.set(L, at + 8, gen);
        m.set(I, at + 16, count);
        for (int i = 0; i < pairs.length; i++) m.set(L, at + 32 + 8L * i, pairs[i]);
        m.set(I, at + 20, OpLogBatchView.crc(view, at, 32 + 16 * count, crc));
        return bytes;
    }

    /** The count of the ranges copy whose first page is at {@code at}, or -1 when its header is not one. */
    static int rangesCount(MemorySegment m, int at) {
        if (m.get(I, at) != RANGES_MAGIC || m.get(S, at + 4) != VERSION || m.get(S, at + 6) != 0 || m.get(L, at + 24) != 0) return -1;
        int n = m.get(I, at + 16);
        return n < 0 || n > MAX_RANGES || m.get(L, at + 8) < 1 ? -1 : n;
    }

    /** The generation of the whole ranges copy at {@code at} (its pages all read) when valid, else 0. */
    static long validRanges(MemorySegment m, ByteBuffer view, int at, CRC32C crc) {
        int n = rangesCount(m, at);
        if (n < 0) return 0;
        int stored = m.get(I, at + 20);
        m.set(I, at + 20, 0);
        int c = OpLogBatchView.crc(view, at, 32 + 16 * n, crc);
        m.set(I, at + 20, stored);
        if (c != stored) return 0;
        long[] p = decodePairs(m, at + 32, n);
        return p == null ? 0 : m.get(L, at + 8);
    }

    /** The {@code n} ranges at {@code at} when sorted, disjoint and positive, else null. */
    static long[] decodePairs(MemorySegment m, long at, int n) {
        long[] p = new long[2 * n];
        long prev = 0;
        for (int i = 0; i < n; i++) {
            long a = m.get(L, at + 16L * i), b = m.get(L, at + 16L * i + 8);
            if (a < 1 || b < a || a <= prev) return null;
            p[2 * i] = a;
            p[2 * i + 1] = b;
            prev = b;
        }
        return p;
    }

    /**
     * Merges sorted {@code seqs} (any order, duplicates allowed: sorted here in place) into the ranges
     * {@code pairs} and drops what lies below {@code base}; returns the new list.
     */
    static long[] merge(long[] pairs, long[] seqs, int n, long base) {
        Arrays.sort(seqs, 0, n);
        long[] out = new long[pairs.length + 2 * n];
        int o = 0, i = 0, j = 0;
        while (i < pairs.length / 2 || j < n) {
            long a, b;
            if (j >= n || i < pairs.length / 2 && pairs[2 * i] <= seqs[j]) {
                a = pairs[2 * i];
                b = pairs[2 * i + 1];
                i++;
            } else {
                a = b = seqs[j++];
            }
            if (b < base || a < 1) continue;
            a = Math.max(a, base);
            if (o > 0 && a <= out[o - 1] + 1) out[o - 1] = Math.max(out[o - 1], b);
            else {
                out[o++] = a;
                out[o++] = b;
            }
        }
        return Arrays.copyOf(out, o);
    }
}
