package io.dsf.rdma.verbs;

import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.verbs.gen.rdma_cma_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

import static io.dsf.rdma.api.RdmaException.Kind.*;

/**
 * A listening {@code rdma_cm} id on its own event channel. {@link #accept} takes the next
 * connection request, creates the queue pair on the new id, accepts, waits until established and
 * moves the id to the endpoint's own channel. Control path: one accepting thread at a time.
 */
final class VerbsListener implements RdmaListener {
    private static final System.Logger LOG = System.getLogger(VerbsListener.class.getName());

    private final VerbsTransport transport;
    private final CmEventChannel events;
    private final MemorySegment id;
    private final InetSocketAddress local;
    private boolean closed;

    VerbsListener(VerbsTransport transport, InetSocketAddress address) throws RdmaException {
        this.transport = transport;
        this.events = new CmEventChannel();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment idOut = a.allocate(ValueLayout.ADDRESS);
            if (rdma_cma_h.rdma_create_id(events.channel, idOut, MemorySegment.NULL, rdma_cma_h.RDMA_PS_TCP) != 0) {
                RdmaException e = CmEventChannel.native_("rdma_create_id");
                events.close();
                throw e;
            }
            id = idOut.get(ValueLayout.ADDRESS, 0);
            if (rdma_cma_h.rdma_bind_addr(id, Sockaddrs.of(address, a)) != 0 || rdma_cma_h.rdma_listen(id, 64) != 0) {
                RdmaException e = CmEventChannel.native_("listen on " + address);
                rdma_cma_h.rdma_destroy_id(id);
                events.close();
                throw e;
            }
            int port = Short.toUnsignedInt(Short.reverseBytes(rdma_cma_h.rdma_get_src_port(id)));
            local = new InetSocketAddress(address.getAddress(), port);
        }
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public synchronized Endpoint accept(CompletionQueue cq, EndpointOptions options, long timeoutNanos) throws RdmaException {
        if (closed) throw new RdmaException(CLOSED, "listener closed");
        VerbsCompletionQueue q = transport.checkQueue(cq, options);
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            MemorySegment ev = events.next(deadline);
            if (ev == null) return null;
            int type = CmEventChannel.type(ev);
            MemorySegment child = CmEventChannel.id(ev);
            int peerMax = CmEventChannel.privateInt(ev);
            CmEventChannel.ack(ev);
            if (type != rdma_cma_h.RDMA_CM_EVENT_CONNECT_REQUEST) {
                LOG.log(System.Logger.Level.DEBUG, "listener " + local + ": ignoring " + CmEventChannel.name(type));
                continue;
            }
            if (VerbsEndpoint.verbsOf(child).address() != transport.context.address()) {
                LOG.log(System.Logger.Level.WARNING, "listener " + local + ": request on another device than " + transport.deviceName + ", rejected");
                rdma_cma_h.rdma_reject(child, MemorySegment.NULL, (byte) 0);
                rdma_cma_h.rdma_destroy_id(child);
                continue;
            }
            VerbsEndpoint ep;
            try {
                ep = new VerbsEndpoint(transport, q, child, options, null);
            } catch (RdmaException e) {
                LOG.log(System.Logger.Level.WARNING, "listener " + local + ": " + e.getMessage() + "; request rejected");
                rdma_cma_h.rdma_reject(child, MemorySegment.NULL, (byte) 0);
                rdma_cma_h.rdma_destroy_id(child);
                continue;
            }
            if (rdma_cma_h.rdma_accept(child, ep.connParam()) != 0) {
                LOG.log(System.Logger.Level.WARNING, "listener " + local + ": " + CmEventChannel.native_("rdma_accept").getMessage());
                ep.destroyNow();
                continue;
            }
            MemorySegment est = events.next(deadline);
            if (est == null || CmEventChannel.type(est) != rdma_cma_h.RDMA_CM_EVENT_ESTABLISHED || CmEventChannel.id(est).address() != child.address()) {
                String what = est == null ? "timeout" : CmEventChannel.name(CmEventChannel.type(est));
                if (est != null) CmEventChannel.ack(est);
                LOG.log(System.Logger.Level.WARNING, "listener " + local + ": connection not established (" + what + ")");
                ep.destroyNow();
                if (est == null) return null;
                continue;
            }
            CmEventChannel.ack(est);
            CmEventChannel own = new CmEventChannel();
            if (rdma_cma_h.rdma_migrate_id(child, own.channel) != 0) {
                RdmaException e = CmEventChannel.native_("rdma_migrate_id");
                own.close();
                ep.destroyNow();
                throw e;
            }
            ep.established(own, peerMax);
            q.handOver(ep);
            return ep;
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        rdma_cma_h.rdma_destroy_id(id);
        events.close();
    }
}
