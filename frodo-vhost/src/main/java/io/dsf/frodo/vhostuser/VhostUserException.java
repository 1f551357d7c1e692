package io.dsf.frodo.vhostuser;

/**
 * A vhost-user message the back-end refuses (malformed, out of order, or impossible to honour); the
 * connection that sent it is closed. Immutable.
 */
public final class VhostUserException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VhostUserException(String message) {
        super(message);
    }

    public VhostUserException(String message, Throwable cause) {
        super(message, cause);
    }
}
