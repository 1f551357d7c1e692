package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct __kernel_timespec} (16 bytes), the io_uring timeout argument. Thread safe: stateless. */
public final class __kernel_timespec {
    private __kernel_timespec() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_LONG.withName("tv_nsec")).withName("__kernel_timespec");

    public static final long tv_sec$OFFSET = LAYOUT.byteOffset(groupElement("tv_sec"));
    public static final long tv_nsec$OFFSET = LAYOUT.byteOffset(groupElement("tv_nsec"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    /** Sets the timespec to {@code nanos} nanoseconds. */
    public static void setNanos(MemorySegment s, long nanos) {
        s.set(JAVA_LONG, tv_sec$OFFSET, nanos / 1_000_000_000L);
        s.set(JAVA_LONG, tv_nsec$OFFSET, nanos % 1_000_000_000L);
    }
}
