package io.dsf.bindings.libc;

/**
 * A failed libc call on the control path: what was attempted, the errno and its text. The hot
 * path returns negative errno values instead of throwing. Immutable; thread safe.
 */
public final class ErrnoException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public ErrnoException(String what, int errno) {
        super(what + ": " + Errno.describe(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    /** The positive errno value. */
    public int errno() { return errno; }
}
