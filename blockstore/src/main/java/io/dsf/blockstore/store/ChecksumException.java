package io.dsf.blockstore.store;

/** Data read back does not match its slice checksum: names the object, the byte offset and the device. Immutable. */
public final class ChecksumException extends StoreException {
    private static final long serialVersionUID = 1L;
    private final long objectId;
    private final long offset;
    private final String device;

    public ChecksumException(long objectId, long offset, String device) {
        super(StoreStatus.CHECKSUM.code(), "checksum mismatch: object " + objectId + " offset " + offset + " on " + device);
        this.objectId = objectId;
        this.offset = offset;
        this.device = device;
    }

    public long objectId() { return objectId; }

    /** Byte offset within the object of the first slice that failed. */
    public long offset() { return offset; }

    public String device() { return device; }
}
