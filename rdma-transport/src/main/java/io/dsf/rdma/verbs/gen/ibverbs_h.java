package io.dsf.rdma.verbs.gen;

import io.dsf.bindings.libc.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Header class for the libibverbs subset dsf uses ({@code infiniband/verbs.h}, x86_64): constants
 * as {@code public static final} fields (checked by the ABI test), and per function a holder class
 * whose {@code HANDLE} is linked the first time it is used (jextract's shape), with a static
 * wrapper of the same name. Handles that can fail with errno are linked with
 * {@link Errno#CAPTURE}: the wrappers pass the calling thread's capture segment. The inline
 * data-path functions are in {@link verbs_shim_h}. Thread safe: stateless.
 */
public final class ibverbs_h {
    private ibverbs_h() {}

    /** The shared object loaded (Debian: {@code libibverbs1}). */
    public static final String LIBRARY = "libibverbs.so.1";

    // ---------------------------------------------------------------- enum ibv_wc_status (subset)
    public static final int IBV_WC_SUCCESS = 0;
    public static final int IBV_WC_LOC_LEN_ERR = 1;
    public static final int IBV_WC_WR_FLUSH_ERR = 5;
    public static final int IBV_WC_REM_INV_REQ_ERR = 9;
    public static final int IBV_WC_REM_ACCESS_ERR = 10;
    public static final int IBV_WC_RETRY_EXC_ERR = 12;
    public static final int IBV_WC_RNR_RETRY_EXC_ERR = 13;
    // ---------------------------------------------------------------- enum ibv_wc_opcode, ibv_wc_flags (subset)
    public static final int IBV_WC_SEND = 0;
    public static final int IBV_WC_RDMA_WRITE = 1;
    public static final int IBV_WC_RECV = 128;
    public static final int IBV_WC_RECV_RDMA_WITH_IMM = 129;
    public static final int IBV_WC_WITH_IMM = 2;
    // ---------------------------------------------------------------- enum ibv_wr_opcode, ibv_send_flags (subset)
    public static final int IBV_WR_RDMA_WRITE = 0;
    public static final int IBV_WR_RDMA_WRITE_WITH_IMM = 1;
    public static final int IBV_WR_SEND = 2;
    public static final int IBV_WR_SEND_WITH_IMM = 3;
    public static final int IBV_SEND_SIGNALED = 2;
    // ---------------------------------------------------------------- enum ibv_access_flags (subset), ibv_qp_type
    public static final int IBV_ACCESS_LOCAL_WRITE = 1;
    public static final int IBV_ACCESS_REMOTE_WRITE = 2;
    public static final int IBV_ACCESS_REMOTE_READ = 4;
    public static final int IBV_QPT_RC = 2;
    // ---------------------------------------------------------------- offsets into structs libibverbs owns
    /** {@code offsetof(struct ibv_qp, qp_num)}. */
    public static final long IBV_QP_QP_NUM_OFFSET = 52;
    /** {@code offsetof(struct ibv_context, device)}. */
    public static final long IBV_CONTEXT_DEVICE_OFFSET = 0;

    /** The library's symbols, looked up once, on first use (fails with IllegalArgumentException where it is absent). */
    static final class Lib {
        static final SymbolLookup SYMBOLS = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
    }

    static MethodHandle downcall(SymbolLookup symbols, String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment addr = symbols.find(name).orElseThrow(() -> new UnsatisfiedLinkError("symbol not found: " + name));
        return Linker.nativeLinker().downcallHandle(addr, fd, options);
    }

    public static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }

    private static final class ibv_get_device_list$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_get_device_list", FunctionDescriptor.of(ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code struct ibv_device **ibv_get_device_list(int *num_devices)}. */
    public static MemorySegment ibv_get_device_list(MemorySegment numDevices) {
        try {
            return (MemorySegment) ibv_get_device_list$.HANDLE.invokeExact(Errno.segment(), numDevices);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_free_device_list$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_free_device_list", FunctionDescriptor.ofVoid(ADDRESS));
    }

    public static void ibv_free_device_list(MemorySegment list) {
        try {
            ibv_free_device_list$.HANDLE.invokeExact(list);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_get_device_name$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_get_device_name", FunctionDescriptor.of(ADDRESS, ADDRESS));
    }

    /** {@code const char *ibv_get_device_name(struct ibv_device *device)}. */
    public static MemorySegment ibv_get_device_name(MemorySegment device) {
        try {
            return (MemorySegment) ibv_get_device_name$.HANDLE.invokeExact(device);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_alloc_pd$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_alloc_pd", FunctionDescriptor.of(ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    public static MemorySegment ibv_alloc_pd(MemorySegment context) {
        try {
            return (MemorySegment) ibv_alloc_pd$.HANDLE.invokeExact(Errno.segment(), context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_dealloc_pd$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_dealloc_pd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    /** Returns 0 or an errno value. */
    public static int ibv_dealloc_pd(MemorySegment pd) {
        try {
            return (int) ibv_dealloc_pd$.HANDLE.invokeExact(pd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_reg_mr$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_reg_mr",
                FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT), Errno.CAPTURE);
    }

    /** {@code struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length, int access)} (the exported symbol). */
    public static MemorySegment ibv_reg_mr(MemorySegment pd, MemorySegment addr, long length, int access) {
        try {
            return (MemorySegment) ibv_reg_mr$.HANDLE.invokeExact(Errno.segment(), pd, addr, length, access);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_dereg_mr$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_dereg_mr", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    public static int ibv_dereg_mr(MemorySegment mr) {
        try {
            return (int) ibv_dereg_mr$.HANDLE.invokeExact(mr);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_create_comp_channel$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_create_comp_channel", FunctionDescriptor.of(ADDRESS, ADDRESS),
                Errno.CAPTURE);
    }

    public static MemorySegment ibv_create_comp_channel(MemorySegment context) {
        try {
            return (MemorySegment) ibv_create_comp_channel$.HANDLE.invokeExact(Errno.segment(), context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_destroy_comp_channel$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_destroy_comp_channel", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    public static int ibv_destroy_comp_channel(MemorySegment channel) {
        try {
            return (int) ibv_destroy_comp_channel$.HANDLE.invokeExact(channel);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_create_cq$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_create_cq",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), Errno.CAPTURE);
    }

    /** {@code struct ibv_cq *ibv_create_cq(struct ibv_context *, int cqe, void *cq_context, struct ibv_comp_channel *, int comp_vector)}. */
    public static MemorySegment ibv_create_cq(MemorySegment context, int cqe, MemorySegment cqContext, MemorySegment channel, int compVector) {
        try {
            return (MemorySegment) ibv_create_cq$.HANDLE.invokeExact(Errno.segment(), context, cqe, cqContext, channel, compVector);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_destroy_cq$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_destroy_cq", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    public static int ibv_destroy_cq(MemorySegment cq) {
        try {
            return (int) ibv_destroy_cq$.HANDLE.invokeExact(cq);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_get_cq_event$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_get_cq_event",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), Errno.CAPTURE);
    }

    /** {@code int ibv_get_cq_event(struct ibv_comp_channel *, struct ibv_cq **cq, void **cq_context)}; blocks unless the fd is non-blocking. */
    public static int ibv_get_cq_event(MemorySegment channel, MemorySegment cqOut, MemorySegment contextOut) {
        try {
            return (int) ibv_get_cq_event$.HANDLE.invokeExact(Errno.segment(), channel, cqOut, contextOut);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_ack_cq_events$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_ack_cq_events", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
    }

    public static void ibv_ack_cq_events(MemorySegment cq, int nevents) {
        try {
            ibv_ack_cq_events$.HANDLE.invokeExact(cq, nevents);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static final class ibv_wc_status_str$ {
        static final MethodHandle HANDLE = downcall(Lib.SYMBOLS, "ibv_wc_status_str", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** The library's name for a completion status, e.g. "remote access error". */
    public static String ibv_wc_status_str(int status) {
        try {
            MemorySegment s = (MemorySegment) ibv_wc_status_str$.HANDLE.invokeExact(status);
            return s.equals(MemorySegment.NULL) ? "status " + status : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
