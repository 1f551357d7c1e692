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
     * @param scratch at least 12 bytes, overwritten
     */
    public static int ofSlice(CRC32C crc, ByteBuffer data, int unit, int slice, int gen, byte[] scratch) {
        crc.reset();
        crc.update(data);
        LE.i32(scratch, 0, unit);
        LE.i32(scratch, 4, slice);
        LE.i32(scratch, 8, gen);
        crc.update(scratch, 0, 12);
        int v = (int) crc.getValue();
        return v == 0 ? 1 : v == LOST ? LOST - 1 : v;
    }
}
