package io.dsf.rdma.api;

import java.io.IOException;

/**
 * A control-path failure of a transport (setup, registration, connection management), typed by
 * {@link Kind}. The hot path never throws: posts return a {@link PostStatus} and failures of work
 * requests arrive as completions with a {@link CompletionStatus}. Immutable; thread safe.
 */
public final class RdmaException extends IOException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, so callers can react without parsing messages. */
    public enum Kind {
        /** The transport cannot run here: a library, the native shim or an RDMA device is missing. */
        UNAVAILABLE,
        /** A bad argument: address, options, a segment that cannot be registered. */
        INVALID_ARGUMENT,
        /** The peer refused or nobody listens at the address. */
        CONNECTION_REFUSED,
        /** Connection setup did not finish within its deadline. */
        TIMEOUT,
        /** The peer broke the wire protocol during setup (bad hello, version, checksum). */
        PROTOCOL,
        /** Out of a resource: queue capacity, registrations, native memory. */
        RESOURCE,
        /** The transport, listener or queue is closed. */
        CLOSED,
        /** A native call failed; the message carries the call and errno. */
        NATIVE,
        /** Other I/O failure during setup. */
        IO
    }

    private final Kind kind;

    public RdmaException(Kind kind, String message) {
        super(kind + ": " + message);
        this.kind = kind;
    }

    public RdmaException(Kind kind, String message, Throwable cause) {
        super(kind + ": " + message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
