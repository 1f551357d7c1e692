package io.dsf.rdma.testing;

import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.api.RdmaTransport;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two connected endpoints of one transport, each on its own completion queue, both stepped by the
 * test thread (so a test is deterministic: no second thread polls). Test fixture; not thread safe.
 */
public final class Pair implements AutoCloseable {
    public static final long SETUP_TIMEOUT = TimeUnit.SECONDS.toNanos(10);

    /** One polled completion, copied out of the batch. */
    public record Done(Endpoint endpoint, long wrId, int opcode, int status, int byteLength, int imm, boolean hasImm) {}

    public final RdmaTransport transport;
    public final CompletionQueue clientCq;
    public final CompletionQueue serverCq;
    public final Endpoint client;
    public final Endpoint server;
    public final RdmaListener listener;
    public final List<Done> clientDone = new ArrayList<>();
    public final List<Done> serverDone = new ArrayList<>();
    private final Completions batch = new Completions(16);

    public Pair(RdmaTransport transport, InetSocketAddress bindAt, EndpointOptions clientOptions, EndpointOptions serverOptions)
            throws Exception {
        this.transport = transport;
        this.clientCq = transport.createCompletionQueue(Math.max(256, clientOptions.completionsNeeded()));
        this.serverCq = transport.createCompletionQueue(Math.max(256, serverOptions.completionsNeeded()));
        this.listener = transport.listen(bindAt);
        CompletableFuture<Endpoint> c = CompletableFuture.supplyAsync(() -> {
            try {
                return transport.connect(listener.localAddress(), clientCq, clientOptions, SETUP_TIMEOUT);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        this.server = listener.accept(serverCq, serverOptions, SETUP_TIMEOUT);
        assertNotNull(server, "no connection accepted");
        this.client = c.get(20, TimeUnit.SECONDS);
    }

    /** Polls both queues once, recording completions; returns how many arrived. */
    public int pollOnce() {
        int n = 0;
        n += drain(clientCq, clientDone);
        n += drain(serverCq, serverDone);
        return n;
    }

    private int drain(CompletionQueue cq, List<Done> into) {
        int n = cq.poll(batch);
        for (int i = 0; i < n; i++)
            into.add(new Done(batch.endpoint(i), batch.wrId(i), batch.opcode(i), batch.status(i), batch.byteLength(i),
                    batch.imm(i), batch.hasImm(i)));
        return n;
    }

    /** Polls both queues until {@code until} holds; fails after {@code seconds}. */
    public void pollUntil(BooleanSupplier until, double seconds, String what) {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (!until.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0)
                fail("timed out waiting for " + what + "; client saw " + clientDone + ", server saw " + serverDone);
            pollOnce();
        }
    }

    /** Polls both queues for a while (a bounded number of rounds) to show that nothing arrives. */
    public int pollRounds(int rounds) {
        int n = 0;
        for (int i = 0; i < rounds; i++) n += pollOnce();
        return n;
    }

    @Override
    public void close() {
        client.close();
        server.close();
        clientCq.close();
        serverCq.close();
        listener.close();
    }
}
