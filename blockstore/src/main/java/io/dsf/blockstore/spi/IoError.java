package io.dsf.blockstore.spi;

/**
 * Typed outcome of a failed submission or completion. On the hot path an error travels as
 * its negative {@link #code()} (an {@code int}); {@link #of(int)} maps it back without
 * allocating. Thread safe (immutable).
 */
public enum IoError {
    /** The queue already holds {@code depth} requests: retry after {@code poll}. Submission only. */
    QUEUE_FULL(-1, "queue full"),
    /** Offset or length is not a multiple of the device block size. */
    UNALIGNED(-2, "offset or length not aligned to the block size"),
    /** The request reaches beyond the device capacity (or overflows). */
    OUT_OF_RANGE(-3, "request beyond device capacity"),
    /** Length is zero. */
    ZERO_LENGTH(-4, "zero-length request"),
    /** The queue or device is closed, or was closed while the request was in flight. */
    CLOSED(-5, "device or queue closed"),
    /** Buffer smaller than the length, misaligned in memory, or not DMA memory the backend can use. */
    BAD_BUFFER(-6, "buffer too small, misaligned or not DMA-capable"),
    /** The device reported an I/O error (EIO or an NVMe media / generic error). */
    IO_ERROR(-7, "device I/O error"),
    /** The device or file is out of space (ENOSPC). */
    NO_SPACE(-8, "no space left on device"),
    /** The backend does not support this operation (see {@link Geometry}). */
    UNSUPPORTED(-9, "operation not supported by this device"),
    /** The device stopped answering (controller lost, keep-alive expired, target gone). */
    DEVICE_LOST(-10, "device lost"),
    /** Longer than {@link Geometry#maxTransfer()}: split the request. */
    TOO_LARGE(-11, "request longer than the device's maximum transfer"),
    /** Any other device failure; the backend logs the detail. */
    OTHER(-12, "device failure");

    private static final IoError[] BY_CODE;
    static {
        IoError[] v = values();
        BY_CODE = new IoError[v.length + 1];
        for (IoError e : v) BY_CODE[-e.code] = e;
    }

    private final int code;
    private final String description;

    IoError(int code, String description) {
        this.code = code;
        this.description = description;
    }

    /** The negative status code carried on the hot path. */
    public int code() { return code; }

    public String description() { return description; }

    /** Maps a negative status back to its error; {@code null} for a status {@code >= 0}. */
    public static IoError of(int status) {
        if (status >= 0) return null;
        int i = -status;
        return i < BY_CODE.length ? BY_CODE[i] : OTHER;
    }

    /** Maps a positive Linux errno to the closest error. */
    public static IoError fromErrno(int errno) {
        return switch (errno) {
            case 5 /* EIO */, 61 /* ENODATA */ -> IO_ERROR;
            case 28 /* ENOSPC */, 122 /* EDQUOT */ -> NO_SPACE;
            case 22 /* EINVAL */ -> UNALIGNED;
            case 14 /* EFAULT */ -> BAD_BUFFER;
            case 95 /* EOPNOTSUPP */, 38 /* ENOSYS */ -> UNSUPPORTED;
            case 6 /* ENXIO */, 19 /* ENODEV */, 107 /* ENOTCONN */, 104 /* ECONNRESET */ -> DEVICE_LOST;
            case 9 /* EBADF */, 125 /* ECANCELED */ -> CLOSED;
            default -> OTHER;
        };
    }

    /** Human-readable text for any status: "ok" for {@code >= 0}. */
    public static String describe(int status) {
        IoError e = of(status);
        return e == null ? "ok" : e.name() + " (" + e.description + ")";
    }
}
