package io.dsf.rdma.verbs;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.verbs.gen.rdma_cma_h;
import io.dsf.rdma.verbs.gen.rdma_conn_param;
import io.dsf.rdma.verbs.gen.rdma_event_channel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import static io.dsf.rdma.api.RdmaException.Kind.*;

/**
 * An {@code rdma_cm} event channel made non-blocking, with waits bounded by a deadline (epoll on
 * its fd). Control path; used by one thread at a time (the connecting or accepting thread, then
 * the endpoint's owner).
 */
final class CmEventChannel implements AutoCloseable {
    final MemorySegment channel;
    private final int epfd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment eventOut = arena.allocate(ValueLayout.ADDRESS);
    private final MemorySegment epollEvents = epoll_event.allocateArray(1, arena);
    private boolean closed;

    CmEventChannel() throws RdmaException {
        MemorySegment ch = rdma_cma_h.rdma_create_event_channel();
        if (ch.equals(MemorySegment.NULL)) {
            arena.close();
            throw native_("rdma_create_event_channel");
        }
        channel = ch.reinterpret(rdma_event_channel.sizeof());
        int fd = rdma_event_channel.fd(channel);
        int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
        int ep = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        if (flags < 0 || Libc.fcntl(fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) < 0 || ep < 0) {
            RdmaException e = native_("event channel setup");
            rdma_cma_h.rdma_destroy_event_channel(channel);
            if (ep >= 0) Libc.close(ep);
            arena.close();
            throw e;
        }
        epoll_event.events(epollEvents, 0, Libc.EPOLLIN);
        epoll_event.data(epollEvents, 0, fd);
        if (Libc.epoll_ctl(ep, Libc.EPOLL_CTL_ADD, fd, epollEvents) < 0) {
            RdmaException e = native_("epoll_ctl");
            rdma_cma_h.rdma_destroy_event_channel(channel);
            Libc.close(ep);
            arena.close();
            throw e;
        }
        epfd = ep;
    }

    static RdmaException native_(String what) {
        int errno = Errno.last();
        return new RdmaException(NATIVE, what + " failed: " + Errno.describe(errno) + " (errno " + errno + ")");
    }

    /** The next event, or {@code null} once {@code deadlineNanos} (System.nanoTime) passes. Acknowledge it with {@link #ack}. */
    MemorySegment next(long deadlineNanos) throws RdmaException {
        while (true) {
            MemorySegment e = poll();
            if (e != null) return e;
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) return null;
            int ms = (int) Math.min(Integer.MAX_VALUE, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            if (Libc.epoll_wait(epfd, epollEvents, 1, ms) < 0 && Errno.last() != Libc.EINTR) throw native_("epoll_wait");
        }
    }

    /** The next event if one is pending, else {@code null}; never blocks. */
    MemorySegment poll() throws RdmaException {
        if (rdma_cma_h.rdma_get_cm_event(channel, eventOut) == 0)
            return eventOut.get(ValueLayout.ADDRESS, 0).reinterpret(rdma_cma_h.RDMA_CM_EVENT_PARAM_OFFSET + rdma_conn_param.sizeof());
        int errno = Errno.last();
        if (errno == Libc.EAGAIN || errno == Libc.EINTR) return null;
        throw native_("rdma_get_cm_event");
    }

    static int type(MemorySegment event) {
        return event.get(ValueLayout.JAVA_INT, rdma_cma_h.RDMA_CM_EVENT_EVENT_OFFSET);
    }

    static int status(MemorySegment event) {
        return event.get(ValueLayout.JAVA_INT, rdma_cma_h.RDMA_CM_EVENT_STATUS_OFFSET);
    }

    static MemorySegment id(MemorySegment event) {
        return event.get(ValueLayout.ADDRESS, rdma_cma_h.RDMA_CM_EVENT_ID_OFFSET);
    }

    /** The peer's private data of a connection event, read as the little-endian int dsf puts first, or -1 when absent. */
    static int privateInt(MemorySegment event) {
        MemorySegment param = event.asSlice(rdma_cma_h.RDMA_CM_EVENT_PARAM_OFFSET, rdma_conn_param.sizeof());
        MemorySegment data = rdma_conn_param.private_data(param);
        int len = rdma_conn_param.private_data_len(param) & 0xff;
        if (data.equals(MemorySegment.NULL) || len < 4) return -1;
        return data.reinterpret(4).get(ValueLayout.JAVA_INT_UNALIGNED, 0);
    }

    static String name(int type) {
        return rdma_cma_h.rdma_event_str(type).reinterpret(64).getString(0);
    }

    static void ack(MemorySegment event) {
        rdma_cma_h.rdma_ack_cm_event(event);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.close(epfd);
        rdma_cma_h.rdma_destroy_event_channel(channel);
        arena.close();
    }
}
