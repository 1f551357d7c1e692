package io.dsf.rdma.api;

import java.net.InetSocketAddress;

/**
 * One reliable connection to a peer (verbs: an RC queue pair set up by {@code rdma_cm}), bound to
 * one {@link CompletionQueue}. Owned by the thread that polls that queue; not thread safe. The
 * {@code post*} methods never block and never throw for bad requests: they return {@link
 * PostStatus#OK} or a negative {@link PostStatus}; an accepted request completes exactly once,
 * with its {@code wrId}, on the completion queue.
 *
 * <p>Ordering: requests of one endpoint are delivered to the peer in post order (sends and writes
 * share one stream), as on an RC queue pair. A send or write completes {@link
 * CompletionStatus#SUCCESS successfully} once the peer has received and placed it; until then the
 * local buffer it reads from must not change. A receive buffer belongs to the transport from
 * {@link #postRecv} until its completion.
 */
public interface Endpoint extends AutoCloseable {
    /** Sends {@code length} bytes at {@code offset} of {@code region} into the peer's next posted receive. */
    int postSend(MemoryRegion region, long offset, int length, long wrId);

    /** As {@link #postSend} and the receiver's completion carries {@code imm} (verbs: {@code SEND_WITH_IMM}). */
    int postSendWithImm(MemoryRegion region, long offset, int length, int imm, long wrId);

    /**
     * One-sided write of {@code length} bytes at {@code offset} of {@code region} to the peer's
     * memory at {@code remoteAddress} (inside a region of the peer with key {@code rkey} and remote
     * write access). The peer sees no completion.
     */
    int postWrite(MemoryRegion region, long offset, int length, long remoteAddress, int rkey, long wrId);

    /**
     * As {@link #postWrite}, then consumes the peer's next posted receive and completes it there
     * with {@link Opcode#RECV_RDMA_WITH_IMM}, {@code imm} and the length written: the data is in
     * place when the peer sees that completion.
     */
    int postWriteWithImm(MemoryRegion region, long offset, int length, long remoteAddress, int rkey, int imm, long wrId);

    /** Posts a receive buffer of {@code length} bytes at {@code offset} of {@code region} (needs {@link Access#LOCAL_WRITE}). */
    int postRecv(MemoryRegion region, long offset, int length, long wrId);

    /** Current state; an endpoint leaves {@link EndpointState#CONNECTED} once and never returns. */
    EndpointState state();

    /** Largest message this endpoint may send (the smaller of both sides' {@link EndpointOptions#maxMessageSize}). */
    int maxMessageSize();

    /** The options it was set up with. */
    EndpointOptions options();

    /** Sends and writes posted and not yet completed. */
    int sendsOutstanding();

    /** Receives posted and not yet completed. */
    int recvsOutstanding();

    /** The peer's address. */
    InetSocketAddress remoteAddress();

    /** This side's address. */
    InetSocketAddress localAddress();

    /** The completion queue its requests complete on. */
    CompletionQueue completionQueue();

    /** A caller's object carried with the endpoint (completions name the endpoint; this finds the caller's state). */
    Object attachment();

    void attach(Object attachment);

    /**
     * Disconnects. Requests still outstanding complete with {@link CompletionStatus#FLUSHED} on
     * later polls of the completion queue; the peer's outstanding requests flush too. Idempotent.
     */
    @Override
    void close();
}
