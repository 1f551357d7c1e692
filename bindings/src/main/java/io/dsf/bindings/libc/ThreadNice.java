package io.dsf.bindings.libc;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The calling thread's nice value ({@code setpriority(PRIO_PROCESS, gettid(), n)}: on Linux a nice
 * value belongs to a thread). Background work (a replica's drain, scrubbing) runs at a higher nice
 * value than the data path, so on a machine with few cores the scheduler gives a woken shard or
 * replica service the CPU before it (Java's thread priorities do not reach the kernel by default).
 * Stateless; thread safe.
 */
public final class ThreadNice {
    private static final int PRIO_PROCESS = 0;
    private static final MethodHandle GETTID, SETPRIORITY;

    static {
        MethodHandle g = null, s = null;
        try {
            Linker l = Linker.nativeLinker();
            g = l.defaultLookup().find("gettid").map(a -> l.downcallHandle(a, FunctionDescriptor.of(ValueLayout.JAVA_INT))).orElse(null);
            s = l.defaultLookup().find("setpriority").map(a -> l.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT))).orElse(null);
        } catch (Throwable t) {
            g = null;
            s = null;
        }
        GETTID = g;
        SETPRIORITY = s;
    }

    private ThreadNice() { }

    /** Sets the calling thread's nice value to {@code nice} (-20..19); false when the platform cannot or refuses. */
    public static boolean set(int nice) {
        if (GETTID == null || SETPRIORITY == null || nice < -20 || nice > 19) return false;
        try {
            int tid = (int) GETTID.invokeExact();
            return (int) SETPRIORITY.invokeExact(PRIO_PROCESS, tid, nice) == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
