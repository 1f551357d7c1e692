package io.dsf.rdma.api;

/**
 * What a completion completes (the subset of {@code enum ibv_wc_opcode} the SPI posts). Constants
 * only; thread safe.
 */
public final class Opcode {
    private Opcode() {}

    /** A {@link Endpoint#postSend send} finished. */
    public static final int SEND = 1;
    /** A {@link Endpoint#postWrite write} (with or without immediate) finished. */
    public static final int RDMA_WRITE = 2;
    /** A posted receive holds a message that the peer sent. */
    public static final int RECV = 3;
    /** A posted receive was consumed by the peer's write with immediate; the data is in the written region. */
    public static final int RECV_RDMA_WITH_IMM = 4;

    /** A short name for logs and messages. */
    public static String name(int opcode) {
        return switch (opcode) {
            case SEND -> "SEND";
            case RDMA_WRITE -> "RDMA_WRITE";
            case RECV -> "RECV";
            case RECV_RDMA_WITH_IMM -> "RECV_RDMA_WITH_IMM";
            default -> "opcode " + opcode;
        };
    }
}
