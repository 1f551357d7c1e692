package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct iovec} (16 bytes). Thread safe: stateless layout constants and accessors. */
public final class iovec {
    private iovec() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"),
            JAVA_LONG.withName("iov_len")).withName("iovec");

    public static final long iov_base$OFFSET = LAYOUT.byteOffset(groupElement("iov_base"));
    public static final long iov_len$OFFSET = LAYOUT.byteOffset(groupElement("iov_len"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    public static MemorySegment iov_base(MemorySegment s) { return s.get(ADDRESS, iov_base$OFFSET); }

    public static void iov_base(MemorySegment s, MemorySegment v) { s.set(ADDRESS, iov_base$OFFSET, v); }

    public static long iov_len(MemorySegment s) { return s.get(JAVA_LONG, iov_len$OFFSET); }

    public static void iov_len(MemorySegment s, long v) { s.set(JAVA_LONG, iov_len$OFFSET, v); }

    /** Element {@code i} of an array of iovecs. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }
}
