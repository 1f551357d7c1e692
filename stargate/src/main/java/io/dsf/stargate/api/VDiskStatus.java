package io.dsf.stargate.api;

/**
 * Outcomes of {@link VDisk} requests as int codes (0 or negative), so the hot path never
 * allocates; {@link #describe(int)} turns one into words. Immutable constants.
 */
public final class VDiskStatus {
    /** Accepted at submission, or done at completion. */
    public static final int OK = 0;
    /** Offset or length not a multiple of the block size, zero or negative length, length above the maximum transfer, or a null buffer/callback. Nothing was done. */
    public static final int INVALID = -1;
    /** The range ends past the vDisk's size. Nothing was done. */
    public static final int OUT_OF_RANGE = -2;
    /** The storage pool is full: nothing of this request was written, earlier data is intact. */
    public static final int NO_SPACE = -3;
    /** Stored data failed its checksum and no good copy could be read. */
    public static final int MEDIUM_ERROR = -4;
    /** The device failed the request. */
    public static final int IO_ERROR = -5;
    /** The vDisk is closed or being closed. */
    public static final int CLOSED = -6;
    /** A write to an immutable vDisk (a snapshot base). */
    public static final int READ_ONLY = -7;
    /** Too many requests in flight at the submitter's door; retry after a completion. */
    public static final int BUSY = -8;
    /** The request was aborted before it reached storage (task management). */
    public static final int ABORTED = -9;

    private static final String[] WORDS = {
        "ok", "invalid request (alignment, length or argument)", "range past the end of the vDisk",
        "no space left in the storage pool", "medium error (checksum mismatch, no good copy)",
        "device I/O error", "vDisk closed", "vDisk is read-only", "busy, retry", "aborted"
    };

    private VDiskStatus() {}

    /** Words for a status code; unknown codes are named by number. */
    public static String describe(int status) {
        int i = -status;
        return i >= 0 && i < WORDS.length ? WORDS[i] : "status " + status;
    }
}
