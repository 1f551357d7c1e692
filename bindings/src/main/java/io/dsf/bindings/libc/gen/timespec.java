package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct timespec} (x86_64). Thread safe: stateless layout constants and accessors. */
public final class timespec {
    private timespec() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_LONG.withName("tv_nsec")).withName("timespec");

    public static final long tv_sec$OFFSET = LAYOUT.byteOffset(groupElement("tv_sec"));
    public static final long tv_nsec$OFFSET = LAYOUT.byteOffset(groupElement("tv_nsec"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static long tv_sec(MemorySegment s) { return s.get(JAVA_LONG, tv_sec$OFFSET); }

    public static void tv_sec(MemorySegment s, long v) { s.set(JAVA_LONG, tv_sec$OFFSET, v); }

    public static long tv_nsec(MemorySegment s) { return s.get(JAVA_LONG, tv_nsec$OFFSET); }

    public static void tv_nsec(MemorySegment s, long v) { s.set(JAVA_LONG, tv_nsec$OFFSET, v); }
}
