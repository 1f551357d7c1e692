package io.dsf.bindings.uring.gen;

import io.dsf.bindings.libc.Errno;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Header class for linux/io_uring.h (kernel UAPI; no liburing). glibc exports no
 * {@code io_uring_*} functions (bookworm's 2.36 does not), so the three system calls go through
 * libc's variadic {@code long syscall(long number, ...)}, each linked once with its own argument
 * list ({@code firstVariadicArg(1)}); every variadic argument is passed as a 64-bit value, which is
 * what {@code syscall} reads. Layout as jextract lays a header class out (see
 * {@code ../jextract-uring.args}); constants are {@code public static final} fields, checked by
 * the ABI test against {@code native/abi-probe}.
 *
 * <p>Thread safe: stateless static handles.
 */
public final class IoUring {
    private IoUring() {}

    // ---------------------------------------------------------------- x86_64 system call numbers
    public static final int __NR_io_uring_setup = 425;
    public static final int __NR_io_uring_enter = 426;
    public static final int __NR_io_uring_register = 427;

    // ---------------------------------------------------------------- io_uring_setup flags
    public static final int IORING_SETUP_IOPOLL = 1 << 0;
    public static final int IORING_SETUP_SQPOLL = 1 << 1;
    public static final int IORING_SETUP_SQ_AFF = 1 << 2;
    public static final int IORING_SETUP_CQSIZE = 1 << 3;
    public static final int IORING_SETUP_CLAMP = 1 << 4;
    public static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;
    public static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    public static final int IORING_SETUP_TASKRUN_FLAG = 1 << 9;
    public static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;
    public static final int IORING_SETUP_DEFER_TASKRUN = 1 << 13;

    // ---------------------------------------------------------------- io_uring_params.features
    public static final int IORING_FEAT_SINGLE_MMAP = 1 << 0;
    public static final int IORING_FEAT_NODROP = 1 << 1;
    public static final int IORING_FEAT_SUBMIT_STABLE = 1 << 2;
    public static final int IORING_FEAT_SQPOLL_NONFIXED = 1 << 7;
    public static final int IORING_FEAT_EXT_ARG = 1 << 8;
    public static final int IORING_FEAT_NATIVE_WORKERS = 1 << 9;

    // ---------------------------------------------------------------- mmap offsets
    public static final long IORING_OFF_SQ_RING = 0L;
    public static final long IORING_OFF_CQ_RING = 0x8000000L;
    public static final long IORING_OFF_SQES = 0x10000000L;

    // ---------------------------------------------------------------- opcodes (enum io_uring_op)
    public static final int IORING_OP_NOP = 0;
    public static final int IORING_OP_READV = 1;
    public static final int IORING_OP_WRITEV = 2;
    public static final int IORING_OP_FSYNC = 3;
    public static final int IORING_OP_READ_FIXED = 4;
    public static final int IORING_OP_WRITE_FIXED = 5;
    public static final int IORING_OP_TIMEOUT = 11;
    public static final int IORING_OP_ASYNC_CANCEL = 14;
    public static final int IORING_OP_FALLOCATE = 17;
    public static final int IORING_OP_READ = 22;
    public static final int IORING_OP_WRITE = 23;

    // ---------------------------------------------------------------- sqe->flags
    public static final int IOSQE_FIXED_FILE = 1 << 0;
    public static final int IOSQE_IO_DRAIN = 1 << 1;
    public static final int IOSQE_IO_LINK = 1 << 2;
    public static final int IOSQE_IO_HARDLINK = 1 << 3;
    public static final int IOSQE_ASYNC = 1 << 4;
    public static final int IOSQE_CQE_SKIP_SUCCESS = 1 << 6;

    // ---------------------------------------------------------------- per-op flags
    public static final int IORING_FSYNC_DATASYNC = 1 << 0;
    public static final int IORING_TIMEOUT_ABS = 1 << 0;
    public static final int IORING_ASYNC_CANCEL_ALL = 1 << 0;
    public static final int IORING_ASYNC_CANCEL_FD = 1 << 1;
    public static final int IORING_ASYNC_CANCEL_ANY = 1 << 2;
    public static final int IORING_ASYNC_CANCEL_FD_FIXED = 1 << 3;

    // ---------------------------------------------------------------- sq_ring->flags
    public static final int IORING_SQ_NEED_WAKEUP = 1 << 0;
    public static final int IORING_SQ_CQ_OVERFLOW = 1 << 1;
    public static final int IORING_SQ_TASKRUN = 1 << 2;

    // ---------------------------------------------------------------- cqe->flags
    public static final int IORING_CQE_F_BUFFER = 1 << 0;
    public static final int IORING_CQE_F_MORE = 1 << 1;

    // ---------------------------------------------------------------- io_uring_enter flags
    public static final int IORING_ENTER_GETEVENTS = 1 << 0;
    public static final int IORING_ENTER_SQ_WAKEUP = 1 << 1;
    public static final int IORING_ENTER_SQ_WAIT = 1 << 2;
    public static final int IORING_ENTER_EXT_ARG = 1 << 3;

    // ---------------------------------------------------------------- io_uring_register opcodes
    public static final int IORING_REGISTER_BUFFERS = 0;
    public static final int IORING_UNREGISTER_BUFFERS = 1;
    public static final int IORING_REGISTER_FILES = 2;
    public static final int IORING_UNREGISTER_FILES = 3;
    public static final int IORING_REGISTER_FILES_UPDATE = 6;
    public static final int IORING_REGISTER_PROBE = 8;

    private static MethodHandle syscall(FunctionDescriptor fd) {
        Linker linker = Linker.nativeLinker();
        MemorySegment addr = linker.defaultLookup().find("syscall")
                .orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: syscall"));
        return linker.downcallHandle(addr, fd, Errno.CAPTURE, Linker.Option.firstVariadicArg(1));
    }

    // int io_uring_setup(u32 entries, struct io_uring_params *p);
    /** {@code (capture, long nr, long entries, params*) -> long}. */
    public static final MethodHandle io_uring_setup$mh = syscall(
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));

    public static int io_uring_setup(int entries, MemorySegment params) {
        try {
            return (int) (long) io_uring_setup$mh.invokeExact(Errno.segment(), (long) __NR_io_uring_setup,
                    Integer.toUnsignedLong(entries), params);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // int io_uring_enter(unsigned fd, u32 to_submit, u32 min_complete, u32 flags, const void *arg, size_t argsz);
    /** {@code (capture, long nr, long fd, long toSubmit, long minComplete, long flags, arg*, long argsz) -> long}. */
    public static final MethodHandle io_uring_enter$mh = syscall(
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG));

    public static int io_uring_enter(int fd, int toSubmit, int minComplete, int flags, MemorySegment arg, long argsz) {
        try {
            return (int) (long) io_uring_enter$mh.invokeExact(Errno.segment(), (long) __NR_io_uring_enter, (long) fd,
                    Integer.toUnsignedLong(toSubmit), Integer.toUnsignedLong(minComplete), Integer.toUnsignedLong(flags), arg, argsz);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // int io_uring_register(unsigned fd, unsigned opcode, void *arg, unsigned nr_args);
    /** {@code (capture, long nr, long fd, long opcode, arg*, long nrArgs) -> long}. */
    public static final MethodHandle io_uring_register$mh = syscall(
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG));

    public static int io_uring_register(int fd, int opcode, MemorySegment arg, int nrArgs) {
        try {
            return (int) (long) io_uring_register$mh.invokeExact(Errno.segment(), (long) __NR_io_uring_register, (long) fd,
                    Integer.toUnsignedLong(opcode), arg, Integer.toUnsignedLong(nrArgs));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }
}
