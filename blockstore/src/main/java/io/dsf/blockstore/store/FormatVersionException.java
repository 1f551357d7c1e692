package io.dsf.blockstore.store;

/** The device holds a store of another on-device format version. Immutable. */
public final class FormatVersionException extends StoreException {
    private static final long serialVersionUID = 1L;

    public FormatVersionException(String message) { super(StoreStatus.FAILED.code(), message); }
}
