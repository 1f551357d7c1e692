package io.dsf.bench;

/**
 * A run that cannot start or finish, with a message fit for one line on stderr. {@link #usage()}
 * tells a bad argument (the CLI exits 2) from a failure of the target (exit 1). Immutable.
 */
public final class BenchException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean usage;

    private BenchException(String message, boolean usage, Throwable cause) {
        super(message, cause);
        this.usage = usage;
    }

    /** An argument that does not fit (bad target spec, --bs not a multiple of the device block size). */
    public static BenchException usage(String message) { return new BenchException(message, true, null); }

    /** The target failed (cannot open, queue refused, I/O stuck). */
    public static BenchException failure(String message, Throwable cause) { return new BenchException(message, false, cause); }

    public boolean usage() { return usage; }
}
