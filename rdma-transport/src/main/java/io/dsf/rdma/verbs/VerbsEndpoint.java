package io.dsf.rdma.verbs;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.verbs.gen.ibv_qp_cap;
import io.dsf.rdma.verbs.gen.ibv_qp_init_attr;
import io.dsf.rdma.verbs.gen.ibv_recv_wr;
import io.dsf.rdma.verbs.gen.ibv_send_wr;
import io.dsf.rdma.verbs.gen.ibv_sge;
import io.dsf.rdma.verbs.gen.ibverbs_h;
import io.dsf.rdma.verbs.gen.rdma_cma_h;
import io.dsf.rdma.verbs.gen.rdma_conn_param;
import io.dsf.rdma.verbs.gen.verbs_shim_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

/**
 * A reliable-connected queue pair set up by {@code rdma_cm}. Posting fills one preallocated
 * {@code ibv_send_wr}/{@code ibv_recv_wr} with its {@code ibv_sge} and calls the shim's
 * {@code dsf_ibv_post_*} with {@code invokeExact}: nothing is allocated per request. The work
 * request id given to the device encodes this endpoint's slot in its completion queue and the
 * request's ring slot; the caller's {@code wrId} and opcode stay in Java rings, so even error
 * completions (whose opcode the device leaves undefined) are reported fully. Owned by the thread
 * that polls its completion queue; not thread safe.
 */
final class VerbsEndpoint implements Endpoint {
    private static final System.Logger LOG = System.getLogger(VerbsEndpoint.class.getName());
    static final long RECV_BIT = 1L << 31;
    private static final int PRIVATE_DATA_LENGTH = 8;
    private static final int ENOMEM = 12;

    private final VerbsTransport transport;
    final VerbsCompletionQueue cq;
    final int slot; // in cq's endpoint table
    private final MemorySegment id;
    private final MemorySegment qp;
    private final EndpointOptions options;
    private InetSocketAddress remote;
    private InetSocketAddress local;
    private final Arena arena = Arena.ofShared();
    private CmEventChannel events;
    private int sendMax;

    private final MemorySegment sendWr;
    private final MemorySegment sendSge;
    private final MemorySegment badSend;
    private final MemorySegment recvWr;
    private final MemorySegment recvSge;
    private final MemorySegment badRecv;
    private final MemorySegment conn;

    final int sendDepth;
    final long[] sendWrId;
    final int[] sendOpcode;
    int sendHead;
    int sendCount;
    final int recvDepth;
    final long[] recvWrId;
    int recvHead;
    int recvCount;

    private EndpointState state = EndpointState.CONNECTED;
    private boolean destroyed;
    private Object attachment;

    /** Creates the queue pair on {@code id} (control path, the connecting or accepting thread). */
    VerbsEndpoint(VerbsTransport transport, VerbsCompletionQueue cq, MemorySegment id, EndpointOptions options, InetSocketAddress remote)
            throws RdmaException {
        this.transport = transport;
        this.cq = cq;
        this.options = options;
        this.remote = remote;
        this.id = id;
        this.sendMax = options.maxMessageSize();
        this.slot = cq.reserveSlot();
        try {
            MemorySegment attr = ibv_qp_init_attr.allocate(arena);
            ibv_qp_init_attr.send_cq(attr, cq.cq);
            ibv_qp_init_attr.recv_cq(attr, cq.cq);
            MemorySegment cap = ibv_qp_init_attr.cap(attr);
            ibv_qp_cap.max_send_wr(cap, options.sendQueueDepth());
            ibv_qp_cap.max_recv_wr(cap, options.recvQueueDepth());
            ibv_qp_cap.max_send_sge(cap, 1);
            ibv_qp_cap.max_recv_sge(cap, 1);
            ibv_qp_init_attr.qp_type(attr, ibverbs_h.IBV_QPT_RC);
            ibv_qp_init_attr.sq_sig_all(attr, 0);
            if (rdma_cma_h.rdma_create_qp(id, transport.pd, attr) != 0) throw CmEventChannel.native_("rdma_create_qp");
        } catch (RdmaException e) {
            cq.releaseSlot(slot);
            arena.close();
            throw e;
        }
        this.qp = id.reinterpret(rdma_cma_h.RDMA_CM_ID_QP_OFFSET + 8).get(ValueLayout.ADDRESS, rdma_cma_h.RDMA_CM_ID_QP_OFFSET)
                .reinterpret(ibverbs_h.IBV_QP_QP_NUM_OFFSET + 4);
        sendWr = ibv_send_wr.allocate(arena);
        sendSge = ibv_sge.allocate(arena);
        badSend = arena.allocate(ValueLayout.ADDRESS);
        ibv_send_wr.sg_list(sendWr, sendSge);
        ibv_send_wr.next(sendWr, MemorySegment.NULL);
        ibv_send_wr.send_flags(sendWr, ibverbs_h.IBV_SEND_SIGNALED);
        recvWr = ibv_recv_wr.allocate(arena);
        recvSge = ibv_sge.allocate(arena);
        badRecv = arena.allocate(ValueLayout.ADDRESS);
        ibv_recv_wr.sg_list(recvWr, recvSge);
        ibv_recv_wr.next(recvWr, MemorySegment.NULL);
        conn = rdma_conn_param.allocate(arena);
        MemorySegment priv = arena.allocate(PRIVATE_DATA_LENGTH);
        priv.set(ValueLayout.JAVA_INT_UNALIGNED, 0, options.maxMessageSize());
        rdma_conn_param.private_data(conn, priv);
        rdma_conn_param.private_data_len(conn, (byte) PRIVATE_DATA_LENGTH);
        rdma_conn_param.responder_resources(conn, (byte) 1);
        rdma_conn_param.initiator_depth(conn, (byte) 1);
        rdma_conn_param.retry_count(conn, (byte) 7);
        rdma_conn_param.rnr_retry_count(conn, (byte) 7); // 7: retry forever while the receiver has no receive posted
        sendDepth = options.sendQueueDepth();
        sendWrId = new long[sendDepth];
        sendOpcode = new int[sendDepth];
        recvDepth = options.recvQueueDepth();
        recvWrId = new long[recvDepth];
    }

    static MemorySegment verbsOf(MemorySegment id) {
        return id.reinterpret(rdma_cma_h.RDMA_CM_ID_VERBS_OFFSET + 8).get(ValueLayout.ADDRESS, rdma_cma_h.RDMA_CM_ID_VERBS_OFFSET);
    }

    /** Connection parameters with this side's private data (its max message size). */
    MemorySegment connParam() {
        return conn;
    }

    /** Connected: {@code events} is this endpoint's own cm channel from now on; {@code peerMax} what the peer accepts (-1: unknown). */
    void established(CmEventChannel events, int peerMax) {
        this.events = events;
        if (peerMax > 0) sendMax = Math.min(sendMax, peerMax);
        local = Sockaddrs.read(id, rdma_cma_h.RDMA_CM_ID_SRC_ADDR_OFFSET);
        InetSocketAddress peer = Sockaddrs.read(id, rdma_cma_h.RDMA_CM_ID_DST_ADDR_OFFSET);
        if (peer != null) remote = peer;
    }

    // ================================================================== posting (owner thread)

    @Override
    public int postSend(MemoryRegion region, long offset, int length, long wrId) {
        return post(ibverbs_h.IBV_WR_SEND, Opcode.SEND, region, offset, length, 0L, 0, 0, wrId);
    }

    @Override
    public int postSendWithImm(MemoryRegion region, long offset, int length, int imm, long wrId) {
        return post(ibverbs_h.IBV_WR_SEND_WITH_IMM, Opcode.SEND, region, offset, length, 0L, 0, imm, wrId);
    }

    @Override
    public int postWrite(MemoryRegion region, long offset, int length, long remoteAddress, int rkey, long wrId) {
        if (length <= 0) return PostStatus.BAD_LENGTH;
        return post(ibverbs_h.IBV_WR_RDMA_WRITE, Opcode.RDMA_WRITE, region, offset, length, remoteAddress, rkey, 0, wrId);
    }

    @Override
    public int postWriteWithImm(MemoryRegion region, long offset, int length, long remoteAddress, int rkey, int imm, long wrId) {
        if (length <= 0) return PostStatus.BAD_LENGTH;
        return post(ibverbs_h.IBV_WR_RDMA_WRITE_WITH_IMM, Opcode.RDMA_WRITE, region, offset, length, remoteAddress, rkey, imm, wrId);
    }

    private int post(int wrOpcode, int opcode, MemoryRegion region, long offset, int length, long remoteAddress, int rkey, int imm,
                     long wrId) {
        if (state != EndpointState.CONNECTED) return PostStatus.NOT_CONNECTED;
        if (length < 0 || length > sendMax) return PostStatus.BAD_LENGTH;
        if (!(region instanceof VerbsMemoryRegion r) || r.transport != transport || !r.isOpen()) return PostStatus.BAD_BUFFER;
        if (offset < 0 || offset > r.length - length) return PostStatus.BAD_BUFFER;
        if (sendCount == sendDepth) return PostStatus.SEND_QUEUE_FULL;
        int s = sendHead + sendCount;
        if (s >= sendDepth) s -= sendDepth;
        ibv_sge.addr(sendSge, r.address + offset);
        ibv_sge.length(sendSge, length);
        ibv_sge.lkey(sendSge, r.lkey);
        ibv_send_wr.wr_id(sendWr, ((long) slot << 32) | s);
        ibv_send_wr.num_sge(sendWr, length > 0 ? 1 : 0);
        ibv_send_wr.opcode(sendWr, wrOpcode);
        ibv_send_wr.imm_data(sendWr, Integer.reverseBytes(imm)); // network byte order on the wire
        ibv_send_wr.rdma_remote_addr(sendWr, remoteAddress);
        ibv_send_wr.rdma_rkey(sendWr, rkey);
        int rc;
        try {
            rc = (int) verbs_shim_h.dsf_ibv_post_send$mh.invokeExact(qp, sendWr, badSend);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
        if (rc != 0) return postFailed(rc, "ibv_post_send");
        sendWrId[s] = wrId;
        sendOpcode[s] = opcode;
        sendCount++;
        return PostStatus.OK;
    }

    @Override
    public int postRecv(MemoryRegion region, long offset, int length, long wrId) {
        if (state != EndpointState.CONNECTED) return PostStatus.NOT_CONNECTED;
        if (length < 0) return PostStatus.BAD_LENGTH;
        if (!(region instanceof VerbsMemoryRegion r) || r.transport != transport || !r.isOpen()
                || (r.access & Access.LOCAL_WRITE) == 0) return PostStatus.BAD_BUFFER;
        if (offset < 0 || offset > r.length - length) return PostStatus.BAD_BUFFER;
        if (recvCount == recvDepth) return PostStatus.RECV_QUEUE_FULL;
        int s = recvHead + recvCount;
        if (s >= recvDepth) s -= recvDepth;
        ibv_sge.addr(recvSge, r.address + offset);
        ibv_sge.length(recvSge, length);
        ibv_sge.lkey(recvSge, r.lkey);
        ibv_recv_wr.wr_id(recvWr, ((long) slot << 32) | RECV_BIT | s);
        ibv_recv_wr.num_sge(recvWr, 1);
        int rc;
        try {
            rc = (int) verbs_shim_h.dsf_ibv_post_recv$mh.invokeExact(qp, recvWr, badRecv);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
        if (rc != 0) return postFailed(rc, "ibv_post_recv");
        recvWrId[s] = wrId;
        recvCount++;
        return PostStatus.OK;
    }

    private int postFailed(int rc, String what) {
        if (rc == ENOMEM) return what.endsWith("send") ? PostStatus.SEND_QUEUE_FULL : PostStatus.RECV_QUEUE_FULL;
        LOG.log(System.Logger.Level.WARNING, this + ": " + what + " failed with errno " + rc + "; endpoint broken");
        markBroken();
        return PostStatus.NOT_CONNECTED;
    }

    // ================================================================== completion side (owner thread, called by the queue)

    /** The device reported an error completion, or the peer disconnected: no more posts; the queue pair flushes the rest. */
    void markBroken() {
        if (state == EndpointState.CONNECTED) {
            state = EndpointState.ERROR;
            rdma_cma_h.rdma_disconnect(id); // moves the queue pair to the error state: outstanding requests flush
        }
    }

    /** Handles pending connection-manager events (disconnection by the peer). */
    void checkEvents() {
        if (events == null || destroyed) return;
        try {
            MemorySegment ev;
            while ((ev = events.poll()) != null) {
                int type = CmEventChannel.type(ev);
                CmEventChannel.ack(ev);
                if (type == rdma_cma_h.RDMA_CM_EVENT_DISCONNECTED || type == rdma_cma_h.RDMA_CM_EVENT_DEVICE_REMOVAL) markBroken();
            }
        } catch (RdmaException e) {
            LOG.log(System.Logger.Level.WARNING, this + ": " + e.getMessage());
            markBroken();
        }
    }

    /** Whether it is closed or broken with nothing outstanding (the queue then destroys it). */
    boolean finished() {
        return state != EndpointState.CONNECTED && sendCount == 0 && recvCount == 0;
    }

    /** Destroys the queue pair, the id and the channel (owner thread, or setup failure). */
    void destroyNow() {
        if (destroyed) return;
        destroyed = true;
        rdma_cma_h.rdma_destroy_qp(id);
        rdma_cma_h.rdma_destroy_id(id);
        if (events != null) events.close();
        cq.releaseSlot(slot);
        arena.close();
    }

    // ================================================================== state

    @Override public EndpointState state() { return state; }
    @Override public int maxMessageSize() { return sendMax; }
    @Override public EndpointOptions options() { return options; }
    @Override public int sendsOutstanding() { return sendCount; }
    @Override public int recvsOutstanding() { return recvCount; }
    @Override public InetSocketAddress remoteAddress() { return remote; }
    @Override public InetSocketAddress localAddress() { return local; }
    @Override public CompletionQueue completionQueue() { return cq; }
    @Override public Object attachment() { return attachment; }
    @Override public void attach(Object attachment) { this.attachment = attachment; }

    int qpNum() {
        return qp.get(ValueLayout.JAVA_INT, ibverbs_h.IBV_QP_QP_NUM_OFFSET);
    }

    @Override
    public void close() {
        if (state == EndpointState.CONNECTED) {
            state = EndpointState.CLOSED;
            rdma_cma_h.rdma_disconnect(id);
        }
    }

    @Override
    public String toString() {
        return "VerbsEndpoint[" + transport.deviceName + " qp " + qpNum() + " -> " + remote + ", " + state + "]";
    }
}
