package io.dsf.blockstore.store;

/** The object does not exist (or was deleted). Immutable. */
public final class NoSuchObjectException extends StoreException {
    private static final long serialVersionUID = 1L;

    public NoSuchObjectException(String message) { super(StoreStatus.NO_OBJECT.code(), message); }
}
