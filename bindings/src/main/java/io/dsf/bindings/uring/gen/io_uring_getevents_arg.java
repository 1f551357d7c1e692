package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct io_uring_getevents_arg} (24 bytes), the {@code IORING_ENTER_EXT_ARG} argument. Thread safe: stateless. */
public final class io_uring_getevents_arg {
    private io_uring_getevents_arg() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("sigmask"),
            JAVA_INT.withName("sigmask_sz"),
            JAVA_INT.withName("pad"),
            JAVA_LONG.withName("ts")).withName("io_uring_getevents_arg");

    public static final long sigmask$OFFSET = LAYOUT.byteOffset(groupElement("sigmask"));
    public static final long sigmask_sz$OFFSET = LAYOUT.byteOffset(groupElement("sigmask_sz"));
    public static final long pad$OFFSET = LAYOUT.byteOffset(groupElement("pad"));
    public static final long ts$OFFSET = LAYOUT.byteOffset(groupElement("ts"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static void ts(MemorySegment s, long timespecAddress) { s.set(JAVA_LONG, ts$OFFSET, timespecAddress); }
}
