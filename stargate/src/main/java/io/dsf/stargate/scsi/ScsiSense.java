package io.dsf.stargate.scsi;

/**
 * Sense keys, additional sense codes and the two sense data formats of SPC-4 §4.5 (fixed, response
 * code 70h; descriptor, 72h), written into caller-provided arrays so nothing allocates. An
 * additional sense code and its qualifier travel together as one int, {@code (ASC << 8) | ASCQ}.
 * Stateless; thread safe.
 *
 * <pre>
 * fixed format (18 bytes)                       descriptor format (8 + descriptors)
 *  0  VALID | 70h                                0  72h
 *  1  obsolete                                   1  sense key
 *  2  sense key                                  2  ASC
 *  3-6 INFORMATION                               3  ASCQ
 *  7  additional length (10)                     4-6 reserved
 *  8-11 command-specific information             7  additional length
 *  12 ASC   13 ASCQ   14 FRU                     8.. information descriptor (00h, 12 bytes),
 *  15 SKSV | sense-key-specific  16-17              sense-key-specific descriptor (02h, 8 bytes)
 * </pre>
 */
public final class ScsiSense {
    // sense keys (SPC-4 table 49)
    public static final int NO_SENSE = 0x0;
    public static final int RECOVERED_ERROR = 0x1;
    public static final int NOT_READY = 0x2;
    public static final int MEDIUM_ERROR = 0x3;
    public static final int HARDWARE_ERROR = 0x4;
    public static final int ILLEGAL_REQUEST = 0x5;
    public static final int UNIT_ATTENTION = 0x6;
    public static final int DATA_PROTECT = 0x7;
    public static final int ABORTED_COMMAND = 0xB;
    public static final int MISCOMPARE = 0xE;

    // additional sense code << 8 | qualifier (SPC-4 table D.2)
    public static final int NO_ADDITIONAL_SENSE = 0x0000;
    public static final int LOGICAL_UNIT_NOT_READY = 0x0400;
    public static final int WRITE_ERROR = 0x0C00;
    public static final int UNRECOVERED_READ_ERROR = 0x1100;
    public static final int PARAMETER_LIST_LENGTH_ERROR = 0x1A00;
    public static final int MISCOMPARE_DURING_VERIFY = 0x1D00;
    public static final int INVALID_COMMAND_OPERATION_CODE = 0x2000;
    public static final int LBA_OUT_OF_RANGE = 0x2100;
    public static final int INVALID_FIELD_IN_CDB = 0x2400;
    public static final int LOGICAL_UNIT_NOT_SUPPORTED = 0x2500;
    public static final int INVALID_FIELD_IN_PARAMETER_LIST = 0x2600;
    public static final int WRITE_PROTECTED = 0x2700;
    public static final int SPACE_ALLOCATION_FAILED_WRITE_PROTECT = 0x2707;
    public static final int POWER_ON_OR_RESET = 0x2900;
    public static final int BUS_DEVICE_RESET_FUNCTION_OCCURRED = 0x2903;
    public static final int I_T_NEXUS_LOSS_OCCURRED = 0x2907;
    public static final int CAPACITY_DATA_HAS_CHANGED = 0x2A09;
    public static final int SAVING_PARAMETERS_NOT_SUPPORTED = 0x3900;
    public static final int REPORTED_LUNS_DATA_HAS_CHANGED = 0x3F0E;
    public static final int INTERNAL_TARGET_FAILURE = 0x4400;

    /** Length of fixed-format sense data as written here (the SPC-4 minimum plus the sense-key-specific bytes). */
    public static final int FIXED_LENGTH = 18;
    /** Largest descriptor-format sense data written here: header, information and sense-key-specific descriptors. */
    public static final int DESCRIPTOR_MAX_LENGTH = 28;
    /** Room a sense buffer needs for anything this class writes. */
    public static final int MAX_LENGTH = 32;

    /** No sense-key-specific information. */
    public static final int NO_SKS = -1;

    private ScsiSense() {}

    /**
     * The sense-key-specific field pointer of SPC-4 §4.5.2.4.2 (ILLEGAL REQUEST): SKSV set, C/D
     * set when the field is in the CDB (clear: in the parameter list), BPV and the bit pointer when
     * {@code bit >= 0}.
     */
    public static int fieldPointer(boolean inCdb, int byteIndex, int bit) {
        int b0 = 0x80 | (inCdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | (bit & 7) : 0);
        return (b0 << 16) | (byteIndex & 0xFFFF);
    }

    /**
     * Writes fixed-format sense data ({@value #FIXED_LENGTH} bytes) at {@code dst[0]}. The
     * information field is marked valid only when {@code infoValid} and the value fits 32 bits.
     * {@code sks} is a 24-bit sense-key-specific value with SKSV set, or {@link #NO_SKS}.
     * @return the number of bytes written
     */
    public static int writeFixed(byte[] dst, int key, int ascAscq, boolean infoValid, long info, int sks) {
        java.util.Arrays.fill(dst, 0, FIXED_LENGTH, (byte) 0);
        boolean valid = infoValid && info >= 0 && info <= 0xFFFF_FFFFL;
        dst[0] = (byte) (0x70 | (valid ? 0x80 : 0));
        dst[2] = (byte) (key & 0x0F);
        if (valid) putInt(dst, 3, (int) info);
        dst[7] = (byte) (FIXED_LENGTH - 8);
        dst[12] = (byte) (ascAscq >>> 8);
        dst[13] = (byte) ascAscq;
        if (sks != NO_SKS) {
            dst[15] = (byte) (sks >>> 16);
            dst[16] = (byte) (sks >>> 8);
            dst[17] = (byte) sks;
        }
        return FIXED_LENGTH;
    }

    /**
     * Writes descriptor-format sense data at {@code dst[0]}: the header, an information
     * descriptor when {@code infoValid}, a sense-key-specific descriptor when {@code sks} is given.
     * @return the number of bytes written (8 to {@value #DESCRIPTOR_MAX_LENGTH})
     */
    public static int writeDescriptor(byte[] dst, int key, int ascAscq, boolean infoValid, long info, int sks) {
        java.util.Arrays.fill(dst, 0, DESCRIPTOR_MAX_LENGTH, (byte) 0);
        dst[0] = 0x72;
        dst[1] = (byte) (key & 0x0F);
        dst[2] = (byte) (ascAscq >>> 8);
        dst[3] = (byte) ascAscq;
        int p = 8;
        if (infoValid) {
            dst[p] = 0x00;            // information descriptor
            dst[p + 1] = 0x0A;
            dst[p + 2] = (byte) 0x80; // VALID
            putLong(dst, p + 4, info);
            p += 12;
        }
        if (sks != NO_SKS) {
            dst[p] = 0x02;            // sense key specific descriptor
            dst[p + 1] = 0x06;
            dst[p + 4] = (byte) (sks >>> 16);
            dst[p + 5] = (byte) (sks >>> 8);
            dst[p + 6] = (byte) sks;
            p += 8;
        }
        dst[7] = (byte) (p - 8);
        return p;
    }

    /** The sense key of fixed or descriptor sense data, or -1 when the response code is neither. */
    public static int senseKey(byte[] sense, int length) {
        if (length < 3) return -1;
        int rc = sense[0] & 0x7F;
        if (rc == 0x70 || rc == 0x71) return sense[2] & 0x0F;
        if (rc == 0x72 || rc == 0x73) return sense[1] & 0x0F;
        return -1;
    }

    /** {@code (ASC << 8) | ASCQ} of fixed or descriptor sense data, or -1 when absent. */
    public static int ascAscq(byte[] sense, int length) {
        int rc = length > 0 ? sense[0] & 0x7F : 0;
        if ((rc == 0x70 || rc == 0x71) && length >= 14) return ((sense[12] & 0xFF) << 8) | (sense[13] & 0xFF);
        if ((rc == 0x72 || rc == 0x73) && length >= 4) return ((sense[2] & 0xFF) << 8) | (sense[3] & 0xFF);
        return -1;
    }

    /** Words for a sense key, ASC and ASCQ (as far as this target uses them). */
    public static String describe(int key, int ascAscq) {
        String k = switch (key) {
            case NO_SENSE -> "NO SENSE";
            case RECOVERED_ERROR -> "RECOVERED ERROR";
            case NOT_READY -> "NOT READY";
            case MEDIUM_ERROR -> "MEDIUM ERROR";
            case HARDWARE_ERROR -> "HARDWARE ERROR";
            case ILLEGAL_REQUEST -> "ILLEGAL REQUEST";
            case UNIT_ATTENTION -> "UNIT ATTENTION";
            case DATA_PROTECT -> "DATA PROTECT";
            case ABORTED_COMMAND -> "ABORTED COMMAND";
            case MISCOMPARE -> "MISCOMPARE";
            default -> "sense key " + key;
        };
        return String.format("%s %02X/%02X", k, ascAscq >>> 8, ascAscq & 0xFF);
    }

    static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    static void putLong(byte[] b, int off, long v) {
        putInt(b, off, (int) (v >>> 32));
        putInt(b, off + 4, (int) v);
    }
}
