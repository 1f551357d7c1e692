package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.SpdkCpl;
import io.dsf.bindings.spdk.SpdkErrno;
import io.dsf.blockstore.spi.IoError;

/**
 * Maps NVMe completion statuses and SPDK's negated errno returns to {@link IoError} codes.
 * Allocation free; thread safe.
 */
final class SpdkStatus {
    private SpdkStatus() {}

    /**
     * @param raw     the completion's 16-bit status word
     * @param closing whether the queue is being closed (aborts then mean CLOSED, not a lost device)
     * @return 0 or a negative {@link IoError} code
     */
    static int ofCompletion(int raw, boolean closing) {
        if (!SpdkCpl.isError(raw)) return 0;
        int sc = SpdkCpl.sc(raw);
        return switch (SpdkCpl.sct(raw)) {
            case SpdkCpl.SCT_GENERIC -> switch (sc) {
                case SpdkCpl.SC_LBA_OUT_OF_RANGE -> IoError.OUT_OF_RANGE.code();
                case SpdkCpl.SC_CAPACITY_EXCEEDED -> IoError.NO_SPACE.code();
                case SpdkCpl.SC_ABORTED_SQ_DELETION -> closing ? IoError.CLOSED.code() : IoError.DEVICE_LOST.code();
                case SpdkCpl.SC_ABORTED_BY_REQUEST -> IoError.CLOSED.code();
                case SpdkCpl.SC_INVALID_OPCODE -> IoError.UNSUPPORTED.code();
                case SpdkCpl.SC_INVALID_FIELD, SpdkCpl.SC_INVALID_NAMESPACE_OR_FORMAT -> IoError.OTHER.code();
                default -> IoError.IO_ERROR.code();
            };
            case SpdkCpl.SCT_PATH -> IoError.DEVICE_LOST.code();
            default -> IoError.IO_ERROR.code(); // media errors, command specific, vendor specific
        };
    }

    /** Maps a negative return of a submission call. */
    static int ofSubmission(int rc) {
        return switch (-rc) {
            case SpdkErrno.ENOMEM -> IoError.QUEUE_FULL.code();
            case SpdkErrno.ENXIO -> IoError.DEVICE_LOST.code();
            case SpdkErrno.EFAULT -> IoError.BAD_BUFFER.code();
            default -> IoError.OTHER.code();
        };
    }
}
