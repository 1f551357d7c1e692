package io.dsf.rdma.api;

/**
 * Return codes of the {@code post*} methods of an {@link Endpoint}: {@link #OK} (accepted: it will
 * complete exactly once through the completion queue) or a negative refusal (nothing was queued,
 * nothing will complete). Constants only; thread safe.
 */
public final class PostStatus {
    private PostStatus() {}

    /** Accepted. */
    public static final int OK = 0;
    /** The send queue holds {@code sendQueueDepth} unfinished requests (or its buffer is full): poll, then retry. */
    public static final int SEND_QUEUE_FULL = -1;
    /** {@code recvQueueDepth} receives are already posted. */
    public static final int RECV_QUEUE_FULL = -2;
    /** The endpoint is closed or broken; it accepts nothing more. */
    public static final int NOT_CONNECTED = -3;
    /** The local range is outside the region, the region is closed, lacks the access needed, or belongs to another transport. */
    public static final int BAD_BUFFER = -4;
    /** Longer than the endpoint's {@code maxMessageSize} (negotiated with the peer), or not positive where a length is required. */
    public static final int BAD_LENGTH = -5;

    /** A short name for logs and messages. */
    public static String name(int status) {
        return switch (status) {
            case OK -> "OK";
            case SEND_QUEUE_FULL -> "SEND_QUEUE_FULL";
            case RECV_QUEUE_FULL -> "RECV_QUEUE_FULL";
            case NOT_CONNECTED -> "NOT_CONNECTED";
            case BAD_BUFFER -> "BAD_BUFFER";
            case BAD_LENGTH -> "BAD_LENGTH";
            default -> "status " + status;
        };
    }
}
