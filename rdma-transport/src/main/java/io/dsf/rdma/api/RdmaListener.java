package io.dsf.rdma.api;

import java.net.InetSocketAddress;

/**
 * A passive endpoint listening for connections ({@code rdma_listen}). Control path: thread safe
 * for one accepting thread at a time; the endpoints it returns belong to the thread that polls
 * their completion queue.
 */
public interface RdmaListener extends AutoCloseable {
    /** The bound address (the port is the real one when 0 was asked for). */
    InetSocketAddress localAddress();

    /**
     * Waits up to {@code timeoutNanos} for a peer, completes the connection handshake and returns
     * an endpoint bound to {@code cq}, or {@code null} on timeout. A peer that fails the handshake
     * is logged and dropped, and waiting goes on.
     */
    Endpoint accept(CompletionQueue cq, EndpointOptions options, long timeoutNanos) throws RdmaException;

    @Override
    void close();
}
