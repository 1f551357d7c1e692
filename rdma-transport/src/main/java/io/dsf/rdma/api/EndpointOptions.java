package io.dsf.rdma.api;

/**
 * Sizes of one connection, fixed at setup (verbs: {@code ibv_qp_cap}). {@code maxMessageSize}
 * bounds every send and write on the connection; both sides announce theirs and each side uses
 * the smaller for what it sends. Immutable; thread safe.
 *
 * @param sendQueueDepth  unfinished sends and writes at most (posts beyond answer {@link PostStatus#SEND_QUEUE_FULL})
 * @param recvQueueDepth  posted receives at most
 * @param maxMessageSize  largest send or write in bytes
 */
public record EndpointOptions(int sendQueueDepth, int recvQueueDepth, int maxMessageSize) {
    /** Largest message size the transports accept (a frame must fit in an int with its header). */
    public static final int MAX_MESSAGE_SIZE_LIMIT = 1 << 30;

    public static final EndpointOptions DEFAULT = new EndpointOptions(64, 64, 1 << 20);

    public EndpointOptions {
        if (sendQueueDepth < 1 || sendQueueDepth > 1 << 16)
            throw new IllegalArgumentException("sendQueueDepth must be in [1, 65536]: " + sendQueueDepth);
        if (recvQueueDepth < 1 || recvQueueDepth > 1 << 16)
            throw new IllegalArgumentException("recvQueueDepth must be in [1, 65536]: " + recvQueueDepth);
        if (maxMessageSize < 1 || maxMessageSize > MAX_MESSAGE_SIZE_LIMIT)
            throw new IllegalArgumentException("maxMessageSize must be in [1, 2^30]: " + maxMessageSize);
    }

    /** Completion queue entries one such endpoint can need at once. */
    public int completionsNeeded() {
        return sendQueueDepth + recvQueueDepth;
    }
}
