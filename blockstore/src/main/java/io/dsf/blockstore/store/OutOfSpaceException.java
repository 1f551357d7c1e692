package io.dsf.blockstore.store;

/** No free allocation unit (or object table entry) is left; the store is unchanged by the failed request. Immutable. */
public final class OutOfSpaceException extends StoreException {
    private static final long serialVersionUID = 1L;

    public OutOfSpaceException(String message) { super(StoreStatus.NO_SPACE.code(), message); }
}
