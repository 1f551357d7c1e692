package io.dsf.blockstore.store;

/**
 * A typed store failure on the control path or from a blocking data-path helper; {@link #status()}
 * is the {@link StoreStatus} or device {@code IoError} code. Immutable.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public StoreException(int status, String message) {
        super(message);
        this.status = status;
    }

    public StoreException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public int status() { return status; }
}
