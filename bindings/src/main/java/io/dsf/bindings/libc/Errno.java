package io.dsf.bindings.libc;

import io.dsf.bindings.libc.gen.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * errno as captured by {@link Linker.Option#captureCallState}: every libc and syscall handle in
 * these bindings takes a capture segment as its first argument and the JVM stores {@code errno}
 * there right after the call. Each thread has its own segment ({@link #segment()}); a hot loop
 * that owns a thread may also keep one it allocated itself ({@link #allocate}). Thread safe: the
 * per-thread segments are never shared.
 */
public final class Errno {
    /** The layout the linker writes call state into (holds {@code errno} on Linux). */
    public static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    /** The call-state option every errno-setting handle is linked with. */
    public static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final ThreadLocal<MemorySegment> PER_THREAD =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private Errno() {}

    /** The calling thread's capture segment (allocated once per thread, then reused). */
    public static MemorySegment segment() {
        return PER_THREAD.get();
    }

    /** A capture segment owned by the caller, for a thread that wants to skip the thread-local lookup. */
    public static MemorySegment allocate(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The errno stored in {@code capture} by the last call that used it. */
    public static int get(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** The errno of the calling thread's last call made through a wrapper in these bindings. */
    public static int last() {
        return get(PER_THREAD.get());
    }

    /** {@code strerror(errno)} as a Java string, e.g. "Invalid argument". */
    public static String describe(int errno) {
        MemorySegment s = Libc.strerror(errno);
        if (s.equals(MemorySegment.NULL)) return "errno " + errno;
        return s.reinterpret(1024).getString(0);
    }

    /** Returns {@code rc} when it is {@code >= 0}, else throws the calling thread's last errno. */
    public static int check(int rc, String what) {
        if (rc < 0) throw new ErrnoException(what, last());
        return rc;
    }

    /** Returns {@code rc} when it is {@code >= 0}, else throws the calling thread's last errno. */
    public static long check(long rc, String what) {
        if (rc < 0) throw new ErrnoException(what, last());
        return rc;
    }
}
