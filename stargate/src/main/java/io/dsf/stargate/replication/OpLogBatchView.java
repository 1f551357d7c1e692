package io.dsf.stargate.replication;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Reads and verifies a sealed OpLog batch as it travels and as replicas store it: a 4 KiB header
 * page (magic, version, entry count, data slice count, header CRC32C; 32-byte entries: seq, first
 * block, block count, flags, data CRC32C) then the data slices of the non-zero entries in entry
 * order. The layout is the one stargate's OpLog writes (core {@code Formats}, ARCHITECTURE.md
 * "On-store objects"); the replication tests check both agree by verifying real batches.
 * Stateless; callers pass their own {@link CRC32C}; thread safe.
 */
public final class OpLogBatchView {
    private OpLogBatchView() {}

    public static final int PAGE = 4096;
    static final int MAGIC = 0x474C504F; // "OPLG"
    static final int VERSION = 1;
    static final int HDR = 32, ENTRY = 32;
    public static final int MAX_ENTRIES = (PAGE - HDR) / ENTRY;
    public static final int MAX_DATA_SLICES = 128;
    public static final int MAX_BATCH = PAGE * (1 + MAX_DATA_SLICES);
    public static final int FLAG_ZERO = 1;
    /** A write-zeroes entry covers at most a vBlock (256 blocks); anything larger is malformed. */
    static final int MAX_ZERO_BLOCKS = 256;

    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Result of {@link #verify}: valid. */
    public static final int OK = 0;

    /**
     * Verifies the batch of {@code length} bytes at {@code base} of {@code mem} ({@code view} is
     * {@code mem.asByteBuffer()}, made once by the caller): structure, header CRC32C and every
     * entry's data CRC32C. Returns {@link #OK}, {@link ReplicationDescriptor#REASON_MALFORMED_BATCH}
     * or {@link ReplicationDescriptor#REASON_CHECKSUM}. Never throws for bad content; the bytes are
     * unchanged afterwards (the header CRC field is zeroed and restored while checking).
     */
    public static int verify(MemorySegment mem, ByteBuffer view, int base, int length, CRC32C crc) {
        if (length < PAGE || length > MAX_BATCH || (length & (PAGE - 1)) != 0 || base < 0
                || (long) base + length > mem.byteSize()) return ReplicationDescriptor.REASON_MALFORMED_BATCH;
        if (mem.get(I, base) != MAGIC || mem.get(S, base + 4) != VERSION) return ReplicationDescriptor.REASON_MALFORMED_BATCH;
        int count = count(mem, base);
        int slices = mem.get(I, base + 16);
        if (count < 1 || count > MAX_ENTRIES || slices < 0 || slices > MAX_DATA_SLICES
                || (1 + slices) * PAGE != length || mem.get(L, base + 24) != 0) return ReplicationDescriptor.REASON_MALFORMED_BATCH;
        int stored = mem.get(I, base + 20);
        mem.set(I, base + 20, 0);
        int c = crc(view, base, PAGE, crc);
        mem.set(I, base + 20, stored);
        if (c != stored) return ReplicationDescriptor.REASON_CHECKSUM;
        int at = 0;
        for (int i = 0; i < count; i++) {
            int n = blocks(mem, base, i), flags = flags(mem, base, i);
            if (n < 1 || mem.get(I, entryOffset(base, i) + 28) != 0) return ReplicationDescriptor.REASON_MALFORMED_BATCH;
            if (flags == FLAG_ZERO) {
                if (n > MAX_ZERO_BLOCKS) return ReplicationDescriptor.REASON_MALFORMED_BATCH;
                continue;
            }
            if (flags != 0 || n > slices - at) return ReplicationDescriptor.REASON_MALFORMED_BATCH;
            if (crc(view, base + (1 + at) * PAGE, n * PAGE, crc) != dataCrc(mem, base, i)) return ReplicationDescriptor.REASON_CHECKSUM;
            at += n;
        }
        return at == slices ? OK : ReplicationDescriptor.REASON_MALFORMED_BATCH;
    }

    /** CRC32C of {@code len} bytes of {@code view} at {@code base}; leaves the view's position and limit reset. */
    static int crc(ByteBuffer view, int base, int len, CRC32C crc) {
        crc.reset();
        view.limit(base + len).position(base);
        crc.update(view);
        view.limit(view.capacity()).position(0);
        return (int) crc.getValue();
    }

    private static long entryOffset(int base, int i) { return base + HDR + (long) i * ENTRY; }

    public static int count(MemorySegment m, int base) { return m.get(S, base + 6) & 0xffff; }
    public static int dataSlices(MemorySegment m, int base) { return m.get(I, base + 16); }
    public static long seq(MemorySegment m, int base, int i) { return m.get(L, entryOffset(base, i)); }
    public static long block(MemorySegment m, int base, int i) { return m.get(L, entryOffset(base, i) + 8); }
    public static int blocks(MemorySegment m, int base, int i) { return m.get(I, entryOffset(base, i) + 16); }
    public static int flags(MemorySegment m, int base, int i) { return m.get(I, entryOffset(base, i) + 20); }
    public static int dataCrc(MemorySegment m, int base, int i) { return m.get(I, entryOffset(base, i) + 24); }
}
