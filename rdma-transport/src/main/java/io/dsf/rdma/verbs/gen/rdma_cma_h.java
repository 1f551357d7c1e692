package io.dsf.rdma.verbs.gen;

import io.dsf.bindings.libc.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Header class for the librdmacm subset dsf uses ({@code rdma/rdma_cma.h}, x86_64): connection
 * management (event channels, ids, address and route resolution, connect/listen/accept,
 * disconnect, events). Same shape as {@link ibverbs_h}: constants checked by the ABI test, one
 * lazily linked handle per function, errno captured where the call sets it. Thread safe: stateless.
 */
public final class rdma_cma_h {
    private rdma_cma_h() {}

    /** The shared object loaded (Debian: {@code librdmacm1}). */
    public static final String LIBRARY = "librdmacm.so.1";

    public static final int RDMA_PS_TCP = 0x0106;
    // ---------------------------------------------------------------- enum rdma_cm_event_type (subset)
    public static final int RDMA_CM_EVENT_ADDR_RESOLVED = 0;
    public static final int RDMA_CM_EVENT_ADDR_ERROR = 1;
    public static final int RDMA_CM_EVENT_ROUTE_RESOLVED = 2;
    public static final int RDMA_CM_EVENT_ROUTE_ERROR = 3;
    public static final int RDMA_CM_EVENT_CONNECT_REQUEST = 4;
    public static final int RDMA_CM_EVENT_CONNECT_ERROR = 6;
    public static final int RDMA_CM_EVENT_UNREACHABLE = 7;
    public static final int RDMA_CM_EVENT_REJECTED = 8;
    public static final int RDMA_CM_EVENT_ESTABLISHED = 9;
    public static final int RDMA_CM_EVENT_DISCONNECTED = 10;
    public static final int RDMA_CM_EVENT_DEVICE_REMOVAL = 11;
    public static final int RDMA_CM_EVENT_TIMEWAIT_EXIT = 15;
    // ---------------------------------------------------------------- address families (sys/socket.h)
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    // ---------------------------------------------------------------- offsets into structs librdmacm owns
    /** {@code offsetof(struct rdma_cm_id, verbs)}: the device context the id is bound to. */
    public static final long RDMA_CM_ID_VERBS_OFFSET = 0;
    /** {@code offsetof(struct rdma_cm_id, qp)}. */
    public static final long RDMA_CM_ID_QP_OFFSET = 24;
    /** {@code offsetof(struct rdma_cm_id, route.addr.src_storage)}: the local socket address. */
    public static final long RDMA_CM_ID_SRC_ADDR_OFFSET = 32;
    /** {@code offsetof(struct rdma_cm_id, route.addr.dst_storage)}: the peer's socket address. */
    public static final long RDMA_CM_ID_DST_ADDR_OFFSET = 160;
    public static final long RDMA_CM_EVENT_ID_OFFSET = 0;
    public static final long RDMA_CM_EVENT_LISTEN_ID_OFFSET = 8;
    public static final long RDMA_CM_EVENT_EVENT_OFFSET = 16;
    public static final long RDMA_CM_EVENT_STATUS_OFFSET = 20;
    /** {@code offsetof(struct rdma_cm_event, param)}: a {@link rdma_conn_param} for connection events. */
    public static final long RDMA_CM_EVENT_PARAM_OFFSET = 24;

    /** The library's symbols, looked up once, on first use (fails with IllegalArgumentException where it is absent). */
    static final class Lib {
        static final SymbolLookup SYMBOLS = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
    }

    private static final class rdma_create_event_channel$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_create_event_channel", FunctionDescriptor.of(ADDRESS), Errno.CAPTURE);
    }

    /** {@code struct rdma_event_channel *rdma_create_event_channel(void)} (errno captured: {@link Errno#last()}). */
    public static MemorySegment rdma_create_event_channel() {
        try {
            return (MemorySegment) rdma_create_event_channel$.HANDLE.invokeExact(Errno.segment());
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_destroy_event_channel$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_destroy_event_channel", FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** {@code void rdma_destroy_event_channel(struct rdma_event_channel *)}. */
    public static void rdma_destroy_event_channel(MemorySegment channel) {
        try {
            rdma_destroy_event_channel$.HANDLE.invokeExact(channel);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_create_id$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_create_id", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    /** {@code int rdma_create_id(struct rdma_event_channel *, struct rdma_cm_id **id, void *context, enum rdma_port_space ps)} (errno captured: {@link Errno#last()}). */
    public static int rdma_create_id(MemorySegment channel, MemorySegment idOut, MemorySegment context, int ps) {
        try {
            return (int) rdma_create_id$.HANDLE.invokeExact(Errno.segment(), channel, idOut, context, ps);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_destroy_id$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_destroy_id", FunctionDescriptor.of(JAVA_INT, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_destroy_id(struct rdma_cm_id *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_destroy_id(MemorySegment id) {
        try {
            return (int) rdma_destroy_id$.HANDLE.invokeExact(Errno.segment(), id);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_bind_addr$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_bind_addr", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_bind_addr(struct rdma_cm_id *, struct sockaddr *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_bind_addr(MemorySegment id, MemorySegment addr) {
        try {
            return (int) rdma_bind_addr$.HANDLE.invokeExact(Errno.segment(), id, addr);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_listen$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_listen", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    /** {@code int rdma_listen(struct rdma_cm_id *, int backlog)} (errno captured: {@link Errno#last()}). */
    public static int rdma_listen(MemorySegment id, int backlog) {
        try {
            return (int) rdma_listen$.HANDLE.invokeExact(Errno.segment(), id, backlog);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_resolve_addr$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_resolve_addr", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    /** {@code int rdma_resolve_addr(struct rdma_cm_id *, struct sockaddr *src, struct sockaddr *dst, int timeout_ms)} (errno captured: {@link Errno#last()}). */
    public static int rdma_resolve_addr(MemorySegment id, MemorySegment src, MemorySegment dst, int timeoutMs) {
        try {
            return (int) rdma_resolve_addr$.HANDLE.invokeExact(Errno.segment(), id, src, dst, timeoutMs);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_resolve_route$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_resolve_route", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    /** {@code int rdma_resolve_route(struct rdma_cm_id *, int timeout_ms)} (errno captured: {@link Errno#last()}). */
    public static int rdma_resolve_route(MemorySegment id, int timeoutMs) {
        try {
            return (int) rdma_resolve_route$.HANDLE.invokeExact(Errno.segment(), id, timeoutMs);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_create_qp$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_create_qp", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_create_qp(struct rdma_cm_id *, struct ibv_pd *, struct ibv_qp_init_attr *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_create_qp(MemorySegment id, MemorySegment pd, MemorySegment initAttr) {
        try {
            return (int) rdma_create_qp$.HANDLE.invokeExact(Errno.segment(), id, pd, initAttr);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_destroy_qp$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_destroy_qp", FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** {@code void rdma_destroy_qp(struct rdma_cm_id *)}. */
    public static void rdma_destroy_qp(MemorySegment id) {
        try {
            rdma_destroy_qp$.HANDLE.invokeExact(id);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_connect$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_connect", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_connect(struct rdma_cm_id *, struct rdma_conn_param *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_connect(MemorySegment id, MemorySegment param) {
        try {
            return (int) rdma_connect$.HANDLE.invokeExact(Errno.segment(), id, param);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_accept$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_accept", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_accept(struct rdma_cm_id *, struct rdma_conn_param *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_accept(MemorySegment id, MemorySegment param) {
        try {
            return (int) rdma_accept$.HANDLE.invokeExact(Errno.segment(), id, param);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_reject$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_reject", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_BYTE), Errno.CAPTURE);
    }

    /** {@code int rdma_reject(struct rdma_cm_id *, const void *private_data, uint8_t private_data_len)} (errno captured: {@link Errno#last()}). */
    public static int rdma_reject(MemorySegment id, MemorySegment privateData, byte privateDataLen) {
        try {
            return (int) rdma_reject$.HANDLE.invokeExact(Errno.segment(), id, privateData, privateDataLen);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_disconnect$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_disconnect", FunctionDescriptor.of(JAVA_INT, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_disconnect(struct rdma_cm_id *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_disconnect(MemorySegment id) {
        try {
            return (int) rdma_disconnect$.HANDLE.invokeExact(Errno.segment(), id);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_get_cm_event$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_get_cm_event", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_get_cm_event(struct rdma_event_channel *, struct rdma_cm_event **event); blocks unless the channel fd is non-blocking} (errno captured: {@link Errno#last()}). */
    public static int rdma_get_cm_event(MemorySegment channel, MemorySegment eventOut) {
        try {
            return (int) rdma_get_cm_event$.HANDLE.invokeExact(Errno.segment(), channel, eventOut);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_ack_cm_event$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_ack_cm_event", FunctionDescriptor.of(JAVA_INT, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int rdma_ack_cm_event(struct rdma_cm_event *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_ack_cm_event(MemorySegment event) {
        try {
            return (int) rdma_ack_cm_event$.HANDLE.invokeExact(Errno.segment(), event);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_get_devices$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_get_devices", FunctionDescriptor.of(ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code struct ibv_context **rdma_get_devices(int *num_devices): the device contexts librdmacm opened} (errno captured: {@link Errno#last()}). */
    public static MemorySegment rdma_get_devices(MemorySegment numDevices) {
        try {
            return (MemorySegment) rdma_get_devices$.HANDLE.invokeExact(Errno.segment(), numDevices);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_free_devices$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_free_devices", FunctionDescriptor.ofVoid(ADDRESS));
    }

    /** {@code void rdma_free_devices(struct ibv_context **)}. */
    public static void rdma_free_devices(MemorySegment list) {
        try {
            rdma_free_devices$.HANDLE.invokeExact(list);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_event_str$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_event_str", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** {@code const char *rdma_event_str(enum rdma_cm_event_type)}. */
    public static MemorySegment rdma_event_str(int event) {
        try {
            return (MemorySegment) rdma_event_str$.HANDLE.invokeExact(event);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }
    private static final class rdma_get_src_port$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_get_src_port", FunctionDescriptor.of(JAVA_SHORT, ADDRESS));
    }

    /** {@code __be16 rdma_get_src_port(struct rdma_cm_id *)}: the bound port, in network byte order. */
    public static short rdma_get_src_port(MemorySegment id) {
        try {
            return (short) rdma_get_src_port$.HANDLE.invokeExact(id);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }

    private static final class rdma_migrate_id$ {
        static final MethodHandle HANDLE = ibverbs_h.downcall(Lib.SYMBOLS, "rdma_migrate_id", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS),
                Errno.CAPTURE);
    }

    /** {@code int rdma_migrate_id(struct rdma_cm_id *, struct rdma_event_channel *)} (errno captured: {@link Errno#last()}). */
    public static int rdma_migrate_id(MemorySegment id, MemorySegment channel) {
        try {
            return (int) rdma_migrate_id$.HANDLE.invokeExact(Errno.segment(), id, channel);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }
}
