package io.dsf.rdma.protocol;

/**
 * Payload of the {@link FrameDescriptor#HELLO} frame each side sends once, first (connector, then
 * acceptor), little-endian:
 *
 * <pre>
 *  0                4                8                12               16
 *  +----------------+----------------+----------------+----------------+
 *  | maxMessageSize | sendQueueDepth | recvQueueDepth | reserved (0)   |
 *  +----------------+----------------+----------------+----------------+
 * </pre>
 *
 * {@code maxMessageSize} is what the sender of the hello accepts in one SEND or WRITE (its peer
 * sends at most that); the depths are informative. Version history: 1 — first version.
 * Thread safe: constants only.
 */
public final class HelloDescriptor {
    private HelloDescriptor() {}

    public static final int LENGTH = 16;
    public static final int MAX_MESSAGE_SIZE_OFFSET = 0;
    public static final int SEND_QUEUE_DEPTH_OFFSET = 4;
    public static final int RECV_QUEUE_DEPTH_OFFSET = 8;
    public static final int RESERVED_OFFSET = 12;
}
