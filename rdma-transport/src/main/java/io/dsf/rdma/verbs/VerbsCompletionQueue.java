package io.dsf.rdma.verbs;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.verbs.gen.ibv_comp_channel;
import io.dsf.rdma.verbs.gen.ibv_wc;
import io.dsf.rdma.verbs.gen.ibverbs_h;
import io.dsf.rdma.verbs.gen.verbs_shim_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * An {@code ibv_cq} with its completion channel: {@link #poll} calls the shim's
 * {@code dsf_ibv_poll_cq} into a preallocated {@code ibv_wc} array and translates each entry into
 * the caller's {@link Completions} (endpoint and ring slot decoded from the work request id);
 * {@link #await} arms the CQ and waits on the channel's fd. Owned by the thread that polls it; not
 * thread safe, except {@link #handOver}, {@link #reserveSlot} and {@link #releaseSlot} (control
 * path, any thread).
 */
final class VerbsCompletionQueue implements CompletionQueue {
    private static final System.Logger LOG = System.getLogger(VerbsCompletionQueue.class.getName());
    private static final int WC_BATCH = 32;
    private static final int EVENT_CHECK_INTERVAL = 64;
    private static final long WC_SIZE = ibv_wc.sizeof();

    final VerbsTransport transport;
    final MemorySegment cq;
    private final MemorySegment channel;
    private final int capacity;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment wcs;
    private final MemorySegment cqOut;
    private final MemorySegment ctxOut;
    private final MemorySegment epollEvent;
    private final int epfd;
    /** An eventfd in {@link #epfd} beside the completion channel: {@link #wakeup} ends a wait with it. */
    private final int wakeFd;
    private final MemorySegment wakeBuf, wakeValue;
    private final ConcurrentLinkedQueue<VerbsEndpoint> handoff = new ConcurrentLinkedQueue<>();
    private VerbsEndpoint[] bySlot = new VerbsEndpoint[8]; // owner thread
    private final Object slotLock = new Object();
    private boolean[] slotUsed = new boolean[8]; // under slotLock
    private int polls;
    private volatile boolean closed;

    VerbsCompletionQueue(VerbsTransport transport, int capacity) throws RdmaException {
        this.transport = transport;
        this.capacity = capacity;
        MemorySegment ch = ibverbs_h.ibv_create_comp_channel(transport.context);
        if (ch.equals(MemorySegment.NULL)) {
            arena.close();
            throw CmEventChannel.native_("ibv_create_comp_channel");
        }
        channel = ch.reinterpret(ibv_comp_channel.sizeof());
        MemorySegment c = ibverbs_h.ibv_create_cq(transport.context, capacity, MemorySegment.NULL, channel, 0);
        if (c.equals(MemorySegment.NULL)) {
            RdmaException e = CmEventChannel.native_("ibv_create_cq of " + capacity + " entries");
            ibverbs_h.ibv_destroy_comp_channel(channel);
            arena.close();
            throw e;
        }
        cq = c;
        wcs = ibv_wc.allocateArray(WC_BATCH, arena);
        cqOut = arena.allocate(ValueLayout.ADDRESS);
        ctxOut = arena.allocate(ValueLayout.ADDRESS);
        epollEvent = epoll_event.allocateArray(1, arena);
        int fd = ibv_comp_channel.fd(channel);
        int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
        Libc.fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK);
        epfd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        epoll_event.events(epollEvent, 0, Libc.EPOLLIN);
        epoll_event.data(epollEvent, 0, fd);
        wakeBuf = arena.allocate(8, 8);
        wakeValue = arena.allocate(8, 8);
        wakeValue.set(ValueLayout.JAVA_LONG, 0, 1L);
        wakeFd = epfd < 0 ? -1 : Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (epfd < 0 || Libc.epoll_ctl(epfd, Libc.EPOLL_CTL_ADD, fd, epollEvent) < 0 || wakeFd < 0) {
            RdmaException e = CmEventChannel.native_("epoll on the completion channel");
            close();
            throw e;
        }
        epoll_event.events(epollEvent, 0, Libc.EPOLLIN);
        epoll_event.data(epollEvent, 0, wakeFd);
        if (Libc.epoll_ctl(epfd, Libc.EPOLL_CTL_ADD, wakeFd, epollEvent) < 0) {
            RdmaException e = CmEventChannel.native_("epoll on the wake-up eventfd");
            close();
            throw e;
        }
    }

    @Override
    public int capacity() {
        return capacity;
    }

    int reserveSlot() {
        synchronized (slotLock) {
            for (int i = 0; i < slotUsed.length; i++) {
                if (!slotUsed[i]) {
                    slotUsed[i] = true;
                    return i;
                }
            }
            int i = slotUsed.length;
            slotUsed = Arrays.copyOf(slotUsed, i * 2);
            slotUsed[i] = true;
            return i;
        }
    }

    void releaseSlot(int slot) {
        synchronized (slotLock) {
            slotUsed[slot] = false;
        }
    }

    void handOver(VerbsEndpoint e) {
        handoff.add(e);
    }

    private void adopt() {
        VerbsEndpoint e;
        while ((e = handoff.poll()) != null) {
            if (e.slot >= bySlot.length) bySlot = Arrays.copyOf(bySlot, Math.max(bySlot.length * 2, e.slot + 1));
            bySlot[e.slot] = e;
        }
    }

    @Override
    public int poll(Completions out) {
        out.clear();
        if (closed) return 0;
        if (!handoff.isEmpty()) adopt();
        if (++polls >= EVENT_CHECK_INTERVAL) {
            polls = 0;
            housekeeping();
        }
        return drain(out);
    }

    private int drain(Completions out) {
        while (!out.isFull()) {
            int want = Math.min(WC_BATCH, out.capacity() - out.count());
            int n;
            try {
                n = (int) verbs_shim_h.dsf_ibv_poll_cq$mh.invokeExact(cq, want, wcs);
            } catch (Throwable t) {
                throw ibverbs_h.rethrow(t);
            }
            if (n < 0) {
                LOG.log(System.Logger.Level.ERROR, "ibv_poll_cq failed: " + n);
                break;
            }
            for (int i = 0; i < n; i++) translate(i * WC_SIZE, out);
            if (n < want) break;
        }
        return out.count();
    }

    /** One {@code ibv_wc} at byte {@code at} of the batch, read in place (no slice objects on the hot path). */
    private void translate(long at, Completions out) {
        MemorySegment wc = wcs;
        long id = wc.get(ValueLayout.JAVA_LONG, at + ibv_wc.wr_id$OFFSET);
        int epSlot = (int) (id >>> 32);
        int ring = (int) (id & 0x7fffffffL);
        VerbsEndpoint e = epSlot < bySlot.length ? bySlot[epSlot] : null;
        if (e == null) {
            LOG.log(System.Logger.Level.WARNING, "completion for an unknown endpoint slot " + epSlot + " dropped");
            return;
        }
        int st = wc.get(ValueLayout.JAVA_INT, at + ibv_wc.status$OFFSET);
        int status = mapStatus(st);
        if (status != CompletionStatus.SUCCESS) {
            if (status != CompletionStatus.FLUSHED)
                LOG.log(System.Logger.Level.WARNING, e + ": " + ibverbs_h.ibv_wc_status_str(st) + " (vendor error " + wc.get(ValueLayout.JAVA_INT, at + ibv_wc.vendor_err$OFFSET) + ")");
            e.markBroken();
        }
        if ((id & VerbsEndpoint.RECV_BIT) != 0) {
            long wrId = e.recvWrId[ring];
            e.recvHead = ring + 1 == e.recvDepth ? 0 : ring + 1;
            e.recvCount--;
            boolean imm = (wc.get(ValueLayout.JAVA_INT, at + ibv_wc.wc_flags$OFFSET) & ibverbs_h.IBV_WC_WITH_IMM) != 0;
            int op = wc.get(ValueLayout.JAVA_INT, at + ibv_wc.opcode$OFFSET) == ibverbs_h.IBV_WC_RECV_RDMA_WITH_IMM && status == CompletionStatus.SUCCESS
                    ? Opcode.RECV_RDMA_WITH_IMM : Opcode.RECV;
            out.add(e, wrId, op, status, status == CompletionStatus.SUCCESS ? wc.get(ValueLayout.JAVA_INT, at + ibv_wc.byte_len$OFFSET) : 0,
                    imm ? Integer.reverseBytes(wc.get(ValueLayout.JAVA_INT, at + ibv_wc.imm_data$OFFSET)) : 0, imm && status == CompletionStatus.SUCCESS);
        } else {
            long wrId = e.sendWrId[ring];
            int op = e.sendOpcode[ring];
            e.sendHead = ring + 1 == e.sendDepth ? 0 : ring + 1;
            e.sendCount--;
            out.add(e, wrId, op, status, 0, 0, false);
        }
    }

    static int mapStatus(int ibvStatus) {
        return switch (ibvStatus) {
            case ibverbs_h.IBV_WC_SUCCESS -> CompletionStatus.SUCCESS;
            case ibverbs_h.IBV_WC_WR_FLUSH_ERR -> CompletionStatus.FLUSHED;
            case ibverbs_h.IBV_WC_LOC_LEN_ERR -> CompletionStatus.LOCAL_LENGTH_ERROR;
            case ibverbs_h.IBV_WC_REM_ACCESS_ERR -> CompletionStatus.REMOTE_ACCESS_ERROR;
            case ibverbs_h.IBV_WC_REM_INV_REQ_ERR -> CompletionStatus.REMOTE_INVALID_REQUEST;
            case ibverbs_h.IBV_WC_RETRY_EXC_ERR, ibverbs_h.IBV_WC_RNR_RETRY_EXC_ERR -> CompletionStatus.TRANSPORT_ERROR;
            default -> CompletionStatus.GENERAL_ERROR;
        };
    }

    /** Disconnect events, and destruction of endpoints that are closed or broken with nothing outstanding. */
    private void housekeeping() {
        for (int i = 0; i < bySlot.length; i++) {
            VerbsEndpoint e = bySlot[i];
            if (e == null) continue;
            e.checkEvents();
            if (e.finished()) {
                bySlot[i] = null;
                e.destroyNow();
            }
        }
    }

    @Override
    public int await(Completions out, long timeoutNanos) {
        int n = poll(out);
        if (n > 0 || timeoutNanos <= 0 || closed) return n;
        housekeeping();
        int rc;
        try {
            rc = (int) verbs_shim_h.dsf_ibv_req_notify_cq$mh.invokeExact(cq, 0);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
        if (rc != 0) LOG.log(System.Logger.Level.WARNING, "ibv_req_notify_cq failed: " + rc);
        n = drain(out); // whatever completed before the CQ was armed
        if (n > 0) return n;
        int ms = (int) Math.min(Integer.MAX_VALUE, Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
        if (Libc.epoll_wait(epfd, epollEvent, 1, ms) > 0) {
            // either source may be ready (both non-blocking): take the CQ event, and clear a wake-up
            if (ibverbs_h.ibv_get_cq_event(channel, cqOut, ctxOut) == 0) ibverbs_h.ibv_ack_cq_events(cqOut.get(ValueLayout.ADDRESS, 0), 1);
            Libc.read(wakeFd, wakeBuf, 8);
        }
        return drain(out);
    }

    @Override
    public void wakeup() {
        if (closed || wakeFd < 0) return;
        try {
            Libc.write(wakeFd, wakeValue, 8);
        } catch (IllegalStateException e) {
            // closed meanwhile (its arena with it): nobody waits any more
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        adopt();
        for (VerbsEndpoint e : bySlot) {
            if (e == null) continue;
            e.close();
            e.destroyNow();
        }
        Arrays.fill(bySlot, null);
        int rc = ibverbs_h.ibv_destroy_cq(cq);
        if (rc != 0) LOG.log(System.Logger.Level.WARNING, "ibv_destroy_cq: " + Errno.describe(rc));
        ibverbs_h.ibv_destroy_comp_channel(channel);
        if (epfd >= 0) Libc.close(epfd);
        if (wakeFd >= 0) Libc.close(wakeFd);
        arena.close();
    }
}
