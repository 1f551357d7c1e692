package io.dsf.rdma.verbs;

import io.dsf.bindings.libc.Errno;
import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.rdma.verbs.gen.ibverbs_h;
import io.dsf.rdma.verbs.gen.rdma_cma_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static io.dsf.rdma.api.RdmaException.Kind.*;

/**
 * The RDMA SPI on rdma-core: one device context (as {@code rdma_get_devices} opened it) and one
 * protection domain; {@code rdma_cm} sets up reliable-connected queue pairs; the data path goes
 * through the native shim. Thread safe (control path); endpoints and queues belong to their
 * polling thread.
 */
public final class VerbsTransport implements RdmaTransport {
    final MemorySegment context;
    final MemorySegment pd;
    final String deviceName;
    private final MemorySegment deviceList;
    private final List<VerbsMemoryRegion> regions = new ArrayList<>(); // under this
    private boolean closed; // under this

    private VerbsTransport(MemorySegment deviceList, MemorySegment context, MemorySegment pd, String deviceName) {
        this.deviceList = deviceList;
        this.context = context;
        this.pd = pd;
        this.deviceName = deviceName;
    }

    /**
     * Opens the device named {@code device} ({@code null}: the first one), or fails with {@link
     * RdmaException.Kind#UNAVAILABLE} saying what is missing (libraries, shim, device).
     */
    public static RdmaTransport open(String device) throws RdmaException {
        String reason = VerbsLibrary.noDeviceReason();
        if (reason != null) throw new RdmaException(UNAVAILABLE, "verbs transport: " + reason);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment num = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment list = rdma_cma_h.rdma_get_devices(num);
            if (list.equals(MemorySegment.NULL)) throw CmEventChannel.native_("rdma_get_devices");
            int n = num.get(ValueLayout.JAVA_INT, 0);
            MemorySegment arr = list.reinterpret((long) n * ValueLayout.ADDRESS.byteSize());
            List<String> seen = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                MemorySegment ctx = arr.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(ibverbs_h.IBV_CONTEXT_DEVICE_OFFSET + 8);
                MemorySegment dev = ctx.get(ValueLayout.ADDRESS, ibverbs_h.IBV_CONTEXT_DEVICE_OFFSET);
                String name = ibverbs_h.ibv_get_device_name(dev).reinterpret(256).getString(0);
                seen.add(name);
                if (device != null && !device.equals(name)) continue;
                MemorySegment pd = ibverbs_h.ibv_alloc_pd(ctx);
                if (pd.equals(MemorySegment.NULL)) {
                    RdmaException e = CmEventChannel.native_("ibv_alloc_pd on " + name);
                    rdma_cma_h.rdma_free_devices(list);
                    throw e;
                }
                return new VerbsTransport(list, ctx, pd, name);
            }
            rdma_cma_h.rdma_free_devices(list);
            throw new RdmaException(UNAVAILABLE, "no RDMA device " + (device == null ? "" : "named " + device + " ") + "(rdma_cm sees " + seen + ")");
        }
    }

    @Override
    public String kind() {
        return "verbs";
    }

    @Override
    public MemoryRegion register(MemorySegment segment, int access) throws RdmaException {
        if (!segment.isNative()) throw new RdmaException(INVALID_ARGUMENT, "only native segments can be registered");
        if (segment.byteSize() == 0) throw new RdmaException(INVALID_ARGUMENT, "empty segment");
        if ((access & ~Access.ALL) != 0) throw new RdmaException(INVALID_ARGUMENT, "unknown access flags " + Integer.toHexString(access));
        synchronized (this) {
            if (closed) throw new RdmaException(CLOSED, "transport closed");
            MemorySegment mr = ibverbs_h.ibv_reg_mr(pd, segment, segment.byteSize(), access); // the Access values are ibv_access_flags
            if (mr.equals(MemorySegment.NULL)) throw CmEventChannel.native_("ibv_reg_mr of " + segment.byteSize() + " bytes");
            VerbsMemoryRegion r = new VerbsMemoryRegion(this, segment, mr.reinterpret(io.dsf.rdma.verbs.gen.ibv_mr.sizeof()), access);
            regions.add(r);
            return r;
        }
    }

    @Override
    public CompletionQueue createCompletionQueue(int capacity) throws RdmaException {
        synchronized (this) {
            if (closed) throw new RdmaException(CLOSED, "transport closed");
        }
        if (capacity < 1) throw new RdmaException(INVALID_ARGUMENT, "capacity must be positive: " + capacity);
        return new VerbsCompletionQueue(this, capacity);
    }

    @Override
    public RdmaListener listen(InetSocketAddress address) throws RdmaException {
        synchronized (this) {
            if (closed) throw new RdmaException(CLOSED, "transport closed");
        }
        return new VerbsListener(this, address);
    }

    VerbsCompletionQueue checkQueue(CompletionQueue cq, EndpointOptions options) throws RdmaException {
        if (!(cq instanceof VerbsCompletionQueue q) || q.transport != this)
            throw new RdmaException(INVALID_ARGUMENT, "completion queue of another transport");
        if (q.capacity() < options.completionsNeeded())
            throw new RdmaException(RESOURCE, "completion queue capacity " + q.capacity() + " < send + receive depth " + options.completionsNeeded());
        return q;
    }

    @Override
    public Endpoint connect(InetSocketAddress remote, CompletionQueue cq, EndpointOptions options, long timeoutNanos) throws RdmaException {
        VerbsCompletionQueue q = checkQueue(cq, options);
        long deadline = System.nanoTime() + timeoutNanos;
        int timeoutMs = (int) Math.max(100, Math.min(Integer.MAX_VALUE, timeoutNanos / 1_000_000));
        CmEventChannel ch = new CmEventChannel();
        MemorySegment id = MemorySegment.NULL;
        VerbsEndpoint ep = null;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment idOut = a.allocate(ValueLayout.ADDRESS);
            if (rdma_cma_h.rdma_create_id(ch.channel, idOut, MemorySegment.NULL, rdma_cma_h.RDMA_PS_TCP) != 0)
                throw CmEventChannel.native_("rdma_create_id");
            id = idOut.get(ValueLayout.ADDRESS, 0);
            if (rdma_cma_h.rdma_resolve_addr(id, MemorySegment.NULL, Sockaddrs.of(remote, a), timeoutMs) != 0)
                throw CmEventChannel.native_("rdma_resolve_addr " + remote);
            expect(ch, rdma_cma_h.RDMA_CM_EVENT_ADDR_RESOLVED, deadline, remote);
            if (VerbsEndpoint.verbsOf(id).address() != context.address())
                throw new RdmaException(INVALID_ARGUMENT, remote + " is reached through another RDMA device than " + deviceName);
            if (rdma_cma_h.rdma_resolve_route(id, timeoutMs) != 0) throw CmEventChannel.native_("rdma_resolve_route " + remote);
            expect(ch, rdma_cma_h.RDMA_CM_EVENT_ROUTE_RESOLVED, deadline, remote);
            ep = new VerbsEndpoint(this, q, id, options, remote);
            if (rdma_cma_h.rdma_connect(id, ep.connParam()) != 0) throw CmEventChannel.native_("rdma_connect " + remote);
            MemorySegment ev = ch.next(deadline);
            if (ev == null) throw new RdmaException(TIMEOUT, "connect to " + remote + " timed out");
            int type = CmEventChannel.type(ev);
            int peerMax = CmEventChannel.privateInt(ev);
            int status = CmEventChannel.status(ev);
            CmEventChannel.ack(ev);
            if (type != rdma_cma_h.RDMA_CM_EVENT_ESTABLISHED)
                throw new RdmaException(type == rdma_cma_h.RDMA_CM_EVENT_REJECTED ? CONNECTION_REFUSED : IO,
                        "connect to " + remote + ": " + CmEventChannel.name(type) + " (status " + status + ")");
            ep.established(ch, peerMax);
            q.handOver(ep);
            return ep;
        } catch (RdmaException e) {
            if (ep != null) ep.destroyNow();
            else if (!id.equals(MemorySegment.NULL)) rdma_cma_h.rdma_destroy_id(id);
            ch.close();
            throw e;
        }
    }

    private static void expect(CmEventChannel ch, int want, long deadline, InetSocketAddress remote) throws RdmaException {
        MemorySegment ev = ch.next(deadline);
        if (ev == null) throw new RdmaException(TIMEOUT, "waiting for " + CmEventChannel.name(want) + " from " + remote);
        int type = CmEventChannel.type(ev);
        int status = CmEventChannel.status(ev);
        CmEventChannel.ack(ev);
        if (type != want)
            throw new RdmaException(type == rdma_cma_h.RDMA_CM_EVENT_ADDR_ERROR || type == rdma_cma_h.RDMA_CM_EVENT_UNREACHABLE
                    ? CONNECTION_REFUSED : IO, remote + ": " + CmEventChannel.name(type) + " (status " + status + ") instead of "
                    + CmEventChannel.name(want));
    }

    @Override
    public void close() {
        List<VerbsMemoryRegion> rs;
        synchronized (this) {
            if (closed) return;
            closed = true;
            rs = new ArrayList<>(regions);
            regions.clear();
        }
        for (VerbsMemoryRegion r : rs) r.close();
        int rc = ibverbs_h.ibv_dealloc_pd(pd);
        if (rc != 0) System.getLogger(VerbsTransport.class.getName()).log(System.Logger.Level.WARNING,
                "ibv_dealloc_pd: " + Errno.describe(rc) + " (resources still hold the protection domain)");
        rdma_cma_h.rdma_free_devices(deviceList);
    }

    @Override
    public String toString() {
        return "VerbsTransport[" + deviceName + "]";
    }
}
