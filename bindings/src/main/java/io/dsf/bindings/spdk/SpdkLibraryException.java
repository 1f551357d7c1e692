package io.dsf.bindings.spdk;

/**
 * The SPDK NVMe library named by {@code DSF_SPDK_LIB} is not configured, cannot be loaded, or lacks
 * a symbol dsf needs. The message names the variable and what to install. Immutable.
 */
public final class SpdkLibraryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SpdkLibraryException(String message) {
        super(message);
    }

    public SpdkLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
