package io.dsf.rdma.api;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * A transport instance (verbs: one device context and protection domain; tcp: the emulation's
 * registration table). Thread safe; every method is control path. Open one with
 * {@code io.dsf.rdma.Transports.open}.
 */
public interface RdmaTransport extends AutoCloseable {
    /** {@code "tcp"} or {@code "verbs"}. */
    String kind();

    /**
     * Registers native memory with the {@link Access} flags (verbs: pins it and gives keys). Done
     * once per buffer pool, never per I/O.
     */
    MemoryRegion register(MemorySegment segment, int access) throws RdmaException;

    /** A completion queue for {@code capacity} outstanding requests, owned by the thread that will poll it. */
    CompletionQueue createCompletionQueue(int capacity) throws RdmaException;

    /** Starts listening at {@code address} (port 0: any free port). */
    RdmaListener listen(InetSocketAddress address) throws RdmaException;

    /**
     * Connects to a listener, within {@code timeoutNanos}, and returns an endpoint bound to
     * {@code cq}. May run on any thread; the endpoint then belongs to the thread polling {@code cq}
     * (hand it over through a safe publication, e.g. a queue).
     */
    Endpoint connect(InetSocketAddress remote, CompletionQueue cq, EndpointOptions options, long timeoutNanos) throws RdmaException;

    /** Closes listeners and deregisters regions still registered; queues and endpoints should be closed by their owners first. */
    @Override
    void close();
}
