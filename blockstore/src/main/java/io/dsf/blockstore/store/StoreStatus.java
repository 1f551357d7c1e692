package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.IoError;

/**
 * Typed outcomes of store operations on the data path. A status travels as a negative
 * {@code int}: device failures keep their {@link IoError#code()} (-1..-99), store failures use
 * the codes below. {@link #describe(int)} names any status without allocating for known codes.
 * Thread safe (immutable).
 */
public enum StoreStatus {
    /** A slice read back does not match its checksum: named by the channel's last-error fields. */
    CHECKSUM(-101, "slice checksum mismatch"),
    /** No free allocation unit is left. */
    NO_SPACE(-102, "store out of space: no free allocation unit"),
    /** The object was deleted. */
    NO_OBJECT(-103, "no such object (deleted)"),
    /** The range reaches beyond the object's size. */
    OUT_OF_RANGE(-104, "range beyond the object's size"),
    /** Offset or length is not a multiple of the slice size. */
    UNALIGNED(-105, "offset or length not aligned to the slice size"),
    /** The buffer is too small, misaligned in memory, or not native memory. */
    BAD_BUFFER(-106, "buffer too small, misaligned or not native"),
    /** Longer than the channel's largest request. */
    TOO_LARGE(-107, "request longer than the channel's maximum"),
    /** The channel's record ring is full until the journal drains it: poll and retry. */
    BACK_PRESSURE(-108, "journal records backed up: poll and retry"),
    /** The channel already has {@code depth} requests in flight: poll and retry. */
    QUEUE_FULL(-109, "channel queue full"),
    /** The channel or store is closed. */
    CLOSED(-110, "channel or store closed"),
    /** The store stopped after a journal or checkpoint write failed; reopen it. */
    FAILED(-111, "store failed (journal write error): reopen it"),
    /** Zero-length request. */
    ZERO_LENGTH(-112, "zero-length request"),
    /** An object with that id already exists. */
    EXISTS(-113, "object id already in use");

    private final int code;
    private final String description;

    StoreStatus(int code, String description) {
        this.code = code;
        this.description = description;
    }

    public int code() { return code; }

    public String description() { return description; }

    /** The store status for {@code status}, or null for success or a device error. */
    public static StoreStatus of(int status) {
        for (StoreStatus s : values()) if (s.code == status) return s;
        return null;
    }

    public static String describe(int status) {
        if (status >= 0) return "ok";
        StoreStatus s = of(status);
        return s != null ? s.name() + " (" + s.description + ")" : "device " + IoError.describe(status);
    }
}
