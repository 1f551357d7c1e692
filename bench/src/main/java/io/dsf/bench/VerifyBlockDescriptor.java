package io.dsf.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Layout of a block written under {@code --verify}: every {@code unit} bytes (the I/O size) start
 * with a header naming the block's byte address and generation, then a pattern derived from both,
 * all covered by a CRC32C. Little-endian (the machine's order); stateless, thread safe (callers
 * pass their own {@link CRC32C} and buffer view).
 *
 * <pre>
 *  0        4        8                 16       20       24     26     28       32
 *  +--------+--------+-----------------+--------+--------+------+------+--------+----------------+
 *  | magic  | crc32c | byte address    | gen    | unit   | ver  | 0    | 0      | pattern ...    |
 *  | DSFV   | [8,u)  | u64             | u32    | u32    | u16  | u16  | u32    | to unit bytes  |
 *  +--------+--------+-----------------+--------+--------+------+------+--------+----------------+
 * </pre>
 * The CRC32C covers bytes {@code [8, unit)}. The pattern is a SplitMix64 stream seeded from
 * (address, generation), so a block copied to another address or an old generation fails.
 * Format version 1: first version.
 */
public final class VerifyBlockDescriptor {
    public static final int MAGIC = 0x56465344; // "DSFV" read as little-endian bytes
    public static final short VERSION = 1;
    public static final int HEADER_BYTES = 32;
    public static final int MAGIC_OFFSET = 0;
    public static final int CRC_OFFSET = 4;
    public static final int ADDRESS_OFFSET = 8;
    public static final int GEN_OFFSET = 16;
    public static final int UNIT_OFFSET = 20;
    public static final int VERSION_OFFSET = 24;
    public static final int PATTERN_OFFSET = HEADER_BYTES;

    /** Result of {@link #check}: the block is what was expected. */
    public static final int OK = 0;
    /** Expected a never-written block (zeros) but found data. */
    public static final int NOT_ZERO = 1;
    /** Expected written data but the block reads as all zeros (lost write). */
    public static final int ZEROS = 2;
    /** No header where one should be. */
    public static final int BAD_MAGIC = 3;
    /** The CRC32C does not match the contents (torn or corrupted block). */
    public static final int BAD_CRC = 4;
    /** A valid block of another address (misdirected write or read). */
    public static final int WRONG_ADDRESS = 5;
    /** A valid block of this address but another generation (stale or lost write). */
    public static final int WRONG_GENERATION = 6;
    /** A valid block written with another unit size or format version. */
    public static final int WRONG_FORMAT = 7;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private VerifyBlockDescriptor() {}

    /**
     * Writes one block at {@code base} of {@code buf}. {@code view} is a {@link ByteBuffer} over the
     * same memory as {@code buf} (made once per buffer, so that nothing is allocated per I/O).
     */
    public static void stamp(MemorySegment buf, ByteBuffer view, int base, int unit, long address, int gen, CRC32C crc) {
        buf.set(INT, base + MAGIC_OFFSET, MAGIC);
        buf.set(LONG, base + ADDRESS_OFFSET, address);
        buf.set(INT, base + GEN_OFFSET, gen);
        buf.set(INT, base + UNIT_OFFSET, unit);
        buf.set(SHORT, base + VERSION_OFFSET, VERSION);
        buf.set(SHORT, base + VERSION_OFFSET + 2, (short) 0);
        buf.set(INT, base + VERSION_OFFSET + 4, 0);
        long x = seed(address, gen);
        int end = base + unit;
        int i = base + PATTERN_OFFSET;
        for (; i + 8 <= end; i += 8) {
            x += 0x9E3779B97F4A7C15L;
            buf.set(LONG, i, mix(x));
        }
        for (; i < end; i++) buf.set(ValueLayout.JAVA_BYTE, i, (byte) 0x5A);
        buf.set(INT, base + CRC_OFFSET, crcOf(view, base, unit, crc));
    }

    /**
     * Checks one block at {@code base} of {@code buf} against the expected generation: {@code 0}
     * means never written (must be zeros), a negative value means unknown (not checked).
     * {@code zeros} is a zero-filled segment of at least {@code unit} bytes.
     */
    public static int check(MemorySegment buf, ByteBuffer view, int base, int unit, long address, int expectedGen,
                            CRC32C crc, MemorySegment zeros) {
        if (expectedGen < 0) return OK;
        boolean allZero = MemorySegment.mismatch(buf, base, base + unit, zeros, 0, unit) < 0;
        if (expectedGen == 0) return allZero ? OK : NOT_ZERO;
        if (allZero) return ZEROS;
        if (buf.get(INT, base + MAGIC_OFFSET) != MAGIC) return BAD_MAGIC;
        if (buf.get(INT, base + CRC_OFFSET) != crcOf(view, base, unit, crc)) return BAD_CRC;
        if (buf.get(INT, base + UNIT_OFFSET) != unit || buf.get(SHORT, base + VERSION_OFFSET) != VERSION) return WRONG_FORMAT;
        if (buf.get(LONG, base + ADDRESS_OFFSET) != address) return WRONG_ADDRESS;
        if (buf.get(INT, base + GEN_OFFSET) != expectedGen) return WRONG_GENERATION;
        return OK;
    }

    /** One line describing a failed {@link #check} (error path: allocates). */
    public static String describe(int result, MemorySegment buf, int base, int unit, long address, int expectedGen) {
        String expected = expectedGen == 0 ? "never written (zeros)" : "generation " + expectedGen;
        String found = switch (result) {
            case NOT_ZERO -> buf.get(INT, base + MAGIC_OFFSET) == MAGIC
                    ? "a block header (address " + buf.get(LONG, base + ADDRESS_OFFSET) + ", generation "
                      + Integer.toUnsignedString(buf.get(INT, base + GEN_OFFSET)) + ")"
                    : "non-zero data at +" + firstNonZero(buf, base, unit);
            case ZEROS -> "all zeros (lost write)";
            case BAD_MAGIC -> String.format("no header (magic 0x%08x)", buf.get(INT, base + MAGIC_OFFSET));
            case BAD_CRC -> String.format("crc32c mismatch (stored 0x%08x): corrupted or torn block", buf.get(INT, base + CRC_OFFSET));
            case WRONG_FORMAT -> "unit " + buf.get(INT, base + UNIT_OFFSET) + " version " + buf.get(SHORT, base + VERSION_OFFSET);
            case WRONG_ADDRESS -> "the block of address " + buf.get(LONG, base + ADDRESS_OFFSET) + " (misdirected)";
            case WRONG_GENERATION -> "generation " + Integer.toUnsignedString(buf.get(INT, base + GEN_OFFSET)) + " (stale or lost write)";
            default -> "result " + result;
        };
        return "verify: mismatch at byte " + address + " (" + unit + " bytes): expected " + expected + ", found " + found;
    }

    /** The generation following {@code gen}; skips 0 (never written) and negatives (unknown). */
    public static int nextGeneration(int gen) {
        return gen <= 0 || gen == Integer.MAX_VALUE ? 1 : gen + 1;
    }

    private static int crcOf(ByteBuffer view, int base, int unit, CRC32C crc) {
        view.clear();
        view.position(base + ADDRESS_OFFSET);
        view.limit(base + unit);
        crc.reset();
        crc.update(view);
        return (int) crc.getValue();
    }

    private static int firstNonZero(MemorySegment buf, int base, int unit) {
        for (int i = 0; i < unit; i++) if (buf.get(ValueLayout.JAVA_BYTE, base + i) != 0) return i;
        return -1;
    }

    private static long seed(long address, int gen) {
        return address * 0xBF58476D1CE4E5B9L ^ (gen & 0xFFFFFFFFL) * 0x94D049BB133111EBL;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
