package io.dsf.stargate.scsi;

/**
 * Conversions between LUN numbers and the eight-byte LUN structure of SAM-5 §4.7: single-level
 * peripheral device addressing (method 00b) for LUNs below 256 and flat space addressing (01b) up
 * to 16383. Stateless; thread safe.
 *
 * <pre>
 *  peripheral (LUN &lt; 256):   byte 0 = 00h,             byte 1 = LUN,       bytes 2-7 = 0
 *  flat (LUN &lt; 16384):       byte 0 = 40h | LUN &gt;&gt; 8, byte 1 = LUN &amp; FFh, bytes 2-7 = 0
 * </pre>
 */
public final class ScsiLunAddress {
    /** LUN numbers are below this (flat space addressing has 14 bits). */
    public static final int MAX_LUNS = 16384;

    private ScsiLunAddress() {}

    /** The eight-byte LUN for {@code lun} as a big-endian long: peripheral below 256, flat above. */
    public static long encode(int lun) {
        if (lun < 0 || lun >= MAX_LUNS) throw new IllegalArgumentException("LUN out of range: " + lun);
        if (lun < 256) return (long) lun << 48;
        return ((long) (0x40 | (lun >>> 8)) << 56) | ((long) (lun & 0xFF) << 48);
    }

    /**
     * The LUN number of an eight-byte single-level LUN (big-endian long), or -1 when it uses another
     * addressing method, a non-zero bus identifier, or has further levels.
     */
    public static int decode(long lun8) {
        if ((lun8 & 0x0000_FFFF_FFFF_FFFFL) != 0) return -1;
        return decodeFirstLevel((int) (lun8 >>> 48));
    }

    /**
     * The LUN number of a first-level two-byte address (bytes 0-1 of the LUN structure, as virtio-scsi
     * carries it in bytes 2-3 of its LUN field), or -1 for another addressing method or a bus id.
     */
    public static int decodeFirstLevel(int twoBytes) {
        int b0 = (twoBytes >>> 8) & 0xFF, b1 = twoBytes & 0xFF;
        return switch (b0 >>> 6) {
            case 0 -> (b0 & 0x3F) == 0 ? b1 : -1;
            case 1 -> ((b0 & 0x3F) << 8) | b1;
            default -> -1;
        };
    }
}
