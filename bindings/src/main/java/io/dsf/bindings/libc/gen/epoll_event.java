package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * {@code struct epoll_event}: packed on x86_64 (12 bytes, the 64-bit {@code data} at offset 4).
 * Thread safe: stateless layout constants and accessors.
 */
public final class epoll_event {
    private epoll_event() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("events"),
            JAVA_LONG_UNALIGNED.withName("data")).withName("epoll_event");

    public static final long events$OFFSET = LAYOUT.byteOffset(groupElement("events"));
    public static final long data$OFFSET = LAYOUT.byteOffset(groupElement("data"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    public static int events(MemorySegment array, long i) { return array.get(JAVA_INT, i * LAYOUT.byteSize() + events$OFFSET); }

    public static void events(MemorySegment array, long i, int v) { array.set(JAVA_INT, i * LAYOUT.byteSize() + events$OFFSET, v); }

    public static long data(MemorySegment array, long i) { return array.get(JAVA_LONG_UNALIGNED, i * LAYOUT.byteSize() + data$OFFSET); }

    public static void data(MemorySegment array, long i, long v) { array.set(JAVA_LONG_UNALIGNED, i * LAYOUT.byteSize() + data$OFFSET, v); }
}
