package io.dsf.blockstore.spi;

/**
 * A typed device failure for the control path (open, geometry, synchronous helpers). The hot
 * path never throws: it returns or completes with {@link IoError#code()}. Immutable.
 */
public final class DeviceException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final IoError error;
    private final String device;
    private final long offset;

    public DeviceException(IoError error, String device, long offset, String detail) {
        super(device + (offset >= 0 ? " @" + offset : "") + ": " + error.name() + " (" + error.description() + ")"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.error = error;
        this.device = device;
        this.offset = offset;
    }

    public DeviceException(IoError error, String device, String detail) {
        this(error, device, -1, detail);
    }

    public IoError error() { return error; }

    public String device() { return device; }

    /** Byte offset of the failed request, or -1 when not request-specific. */
    public long offset() { return offset; }
}
