package io.dsf.bindings.spdk;

import io.dsf.bindings.spdk.gen.spdk_nvme_cpl;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * Decodes the 16-bit status of a {@code struct spdk_nvme_cpl} (SPDK's {@code spdk_nvme_cpl_is_error}
 * and friends are macros): bit 0 phase, bits 1-8 status code (SC), bits 9-11 status code type (SCT),
 * 12-13 command retry delay, 14 more, 15 do not retry. Allocation free; thread safe.
 */
public final class SpdkCpl {
    private SpdkCpl() {}

    /** Status code types. */
    public static final int SCT_GENERIC = 0x0;
    public static final int SCT_COMMAND_SPECIFIC = 0x1;
    public static final int SCT_MEDIA_ERROR = 0x2;
    public static final int SCT_PATH = 0x3;
    public static final int SCT_VENDOR_SPECIFIC = 0x7;

    /** Generic command status codes (SCT 0). */
    public static final int SC_SUCCESS = 0x00;
    public static final int SC_INVALID_OPCODE = 0x01;
    public static final int SC_INVALID_FIELD = 0x02;
    public static final int SC_DATA_TRANSFER_ERROR = 0x04;
    public static final int SC_ABORTED_POWER_LOSS = 0x05;
    public static final int SC_INTERNAL_DEVICE_ERROR = 0x06;
    public static final int SC_ABORTED_BY_REQUEST = 0x07;
    public static final int SC_ABORTED_SQ_DELETION = 0x08;
    public static final int SC_INVALID_NAMESPACE_OR_FORMAT = 0x0b;
    public static final int SC_LBA_OUT_OF_RANGE = 0x80;
    public static final int SC_CAPACITY_EXCEEDED = 0x81;
    public static final int SC_NAMESPACE_NOT_READY = 0x82;

    /** Media and data integrity errors (SCT 2). */
    public static final int SC_WRITE_FAULTS = 0x80;
    public static final int SC_UNRECOVERED_READ_ERROR = 0x81;

    /** All of memory: reads a completion entry from the raw address SPDK passes to the callback. */
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** The raw status word of the completion entry at {@code cplAddress} (0..0xffff). */
    public static int statusAt(long cplAddress) {
        return Short.toUnsignedInt(ALL.get(JAVA_SHORT_UNALIGNED, cplAddress + spdk_nvme_cpl.status$OFFSET));
    }

    public static int phase(int status) { return status & 1; }

    public static int sc(int status) { return (status >>> 1) & 0xff; }

    public static int sct(int status) { return (status >>> 9) & 0x7; }

    public static boolean more(int status) { return (status & 0x4000) != 0; }

    public static boolean dnr(int status) { return (status & 0x8000) != 0; }

    /** {@code spdk_nvme_cpl_is_error}: SC or SCT non-zero. */
    public static boolean isError(int status) { return (status & 0x0ffe) != 0; }

    /** Encodes an SCT/SC pair the way a controller does (phase 0), for tests and emulation. */
    public static int status(int sct, int sc) { return ((sct & 0x7) << 9) | ((sc & 0xff) << 1); }

    /** For logs: "SCT 0x0 SC 0x80 (LBA out of range)". Allocates; control path only. */
    public static String describe(int status) {
        int sct = sct(status), sc = sc(status);
        String name = switch (sct) {
            case SCT_GENERIC -> switch (sc) {
                case SC_SUCCESS -> "success";
                case SC_INVALID_OPCODE -> "invalid opcode";
                case SC_INVALID_FIELD -> "invalid field";
                case SC_DATA_TRANSFER_ERROR -> "data transfer error";
                case SC_ABORTED_POWER_LOSS -> "aborted: power loss";
                case SC_INTERNAL_DEVICE_ERROR -> "internal device error";
                case SC_ABORTED_BY_REQUEST -> "aborted by request";
                case SC_ABORTED_SQ_DELETION -> "aborted: SQ deletion";
                case SC_INVALID_NAMESPACE_OR_FORMAT -> "invalid namespace or format";
                case SC_LBA_OUT_OF_RANGE -> "LBA out of range";
                case SC_CAPACITY_EXCEEDED -> "capacity exceeded";
                case SC_NAMESPACE_NOT_READY -> "namespace not ready";
                default -> "generic";
            };
            case SCT_COMMAND_SPECIFIC -> "command specific";
            case SCT_MEDIA_ERROR -> switch (sc) {
                case SC_WRITE_FAULTS -> "write fault";
                case SC_UNRECOVERED_READ_ERROR -> "unrecovered read error";
                default -> "media error";
            };
            case SCT_PATH -> "path error";
            case SCT_VENDOR_SPECIFIC -> "vendor specific";
            default -> "reserved";
        };
        return String.format("SCT 0x%x SC 0x%02x (%s)", sct, sc, name);
    }
}
