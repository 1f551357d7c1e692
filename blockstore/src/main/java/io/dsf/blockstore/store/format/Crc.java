package io.dsf.blockstore.store.format;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C helpers for the format: page checksums (computed with the checksum field taken as zero)
 * and data slice checksums (bound to where the slice lives). Stateless; callers pass their own
 * {@link CRC32C}, so one per thread keeps this allocation free.
 */
public final class Crc {
    private static final byte[] ZERO4 = new byte[4];
    /** Slice checksum table value of a slice recovery found torn (overwritten when the store stopped): reads fail. */
    public static final int LOST = 0xFFFFFFFF;

    private Crc() {}

    /** CRC32C of {@code b[0, len)} with the 4 bytes at {@code crcOff} read as zero. */
    public static int ofPage(CRC32C crc, byte[] b, int len, int crcOff) {
        crc.reset();
        crc.update(b, 0, crcOff);
        crc.update(ZERO4, 0, 4);
        crc.update(b, crcOff + 4, len - crcOff - 4);
        return (int) crc.getValue();
    }

    /** Convenience for the control path (allocates a {@link CRC32C}). */
    public static int ofPage(byte[] b, int len, int crcOff) {
        return ofPage(new CRC32C(), b, len, crcOff);
    }

    /**
     * Checksum of one data slice as kept in the slice checksum table: CRC32C of the slice's bytes
     * followed by the little-endian {@code unit}, {@code slice} index within the unit and the unit's
     * allocation generation, so that data written for another place or an earlier allocation of
     * the unit never verifies. The value 0 means "never written" in the table, so a checksum that
     * comes out as 0 is stored as 1.
     *
     * @param data    the slice bytes, from its position to its limit (position is advanced)
     * @param scratch not used (the place is carried on by {@link #slice}); kept for callers
     */
    public static int ofSlice(CRC32C crc, ByteBuffer data, int unit, int slice, int gen, byte[] scratch) {
        crc.reset();
        crc.update(data);
        return slice((int) crc.getValue(), unit, slice, gen);
    }

    /**
     * The slice checksum ({@link #ofSlice}) of a slice whose bytes have the plain CRC32C
     * {@code dataCrc}: the CRC is carried on over the 12 bytes of the place (unit, slice, generation)
     * without reading the slice again. Equal to {@code ofSlice} over the same bytes.
     */
    public static int slice(int dataCrc, int unit, int slice, int gen) {
        int r = ~dataCrc;
        r = le32(r, unit);
        r = le32(r, slice);
        r = le32(r, gen);
        int v = ~r;
        return v == 0 ? 1 : v == LOST ? LOST - 1 : v;
    }

    /**
     * CRC32C of {@code a ‖ b} from the CRC32C of {@code a} and of {@code b}, where {@code b} is 4096
     * bytes long (e.g. an entry of several 4 KiB blocks from the checksums of its blocks). Costs four
     * table lookups: the register after {@code a} is carried over 4096 zero bytes by a fixed linear
     * map (tabulated once), and CRC32C(a ‖ b) = that map applied to CRC32C(a), xor CRC32C(b).
     */
    public static int append4k(int crcA, int crcB) {
        return SHIFT_4K[crcA & 0xff] ^ SHIFT_4K[256 + ((crcA >>> 8) & 0xff)]
                ^ SHIFT_4K[512 + ((crcA >>> 16) & 0xff)] ^ SHIFT_4K[768 + (crcA >>> 24)] ^ crcB;
    }

    /** The reflected CRC32C polynomial. */
    private static final int POLY = 0x82F63B78;
    /** Byte-at-a-time table of the raw (reflected) CRC32C register. */
    private static final int[] TABLE = new int[256];
    /** Table k (at 256 k) carries a byte over k more zero bytes: 4 bytes in one step. */
    private static final int[] SLICE4 = new int[1024];
    /** The register carried over 4096 zero bytes, as four byte-indexed tables of a linear map. */
    private static final int[] SHIFT_4K = new int[1024];

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >>> 1) ^ POLY : c >>> 1;
            TABLE[i] = c;
        }
        System.arraycopy(TABLE, 0, SLICE4, 0, 256);
        for (int k = 1; k < 4; k++)
            for (int i = 0; i < 256; i++) {
                int c = SLICE4[(k - 1) * 256 + i];
                SLICE4[k * 256 + i] = (c >>> 8) ^ TABLE[c & 0xff];
            }
        int[] basis = new int[32];
        for (int bit = 0; bit < 32; bit++) {
            int r = 1 << bit;
            for (int n = 0; n < 4096; n++) r = TABLE[r & 0xff] ^ (r >>> 8);
            basis[bit] = r;
        }
        for (int t = 0; t < 4; t++) {
            for (int v = 0; v < 256; v++) {
                int out = 0;
                for (int bit = 0; bit < 8; bit++) if ((v & (1 << bit)) != 0) out ^= basis[t * 8 + bit];
                SHIFT_4K[t * 256 + v] = out;
            }
        }
    }

    /** The register carried over the 4 little-endian bytes of {@code v}: four independent lookups (slicing by 4). */
    private static int le32(int r, int v) {
        int x = r ^ v;
        return SLICE4[768 + (x & 0xff)] ^ SLICE4[512 + ((x >>> 8) & 0xff)] ^ SLICE4[256 + ((x >>> 16) & 0xff)] ^ SLICE4[x >>> 24];
    }
}
