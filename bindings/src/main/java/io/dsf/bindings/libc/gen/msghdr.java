package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct msghdr} (x86_64 glibc, 56 bytes). Thread safe: stateless layout constants and accessors. */
public final class msghdr {
    private msghdr() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"),
            JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"),
            JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4)).withName("msghdr");

    public static final long msg_name$OFFSET = LAYOUT.byteOffset(groupElement("msg_name"));
    public static final long msg_namelen$OFFSET = LAYOUT.byteOffset(groupElement("msg_namelen"));
    public static final long msg_iov$OFFSET = LAYOUT.byteOffset(groupElement("msg_iov"));
    public static final long msg_iovlen$OFFSET = LAYOUT.byteOffset(groupElement("msg_iovlen"));
    public static final long msg_control$OFFSET = LAYOUT.byteOffset(groupElement("msg_control"));
    public static final long msg_controllen$OFFSET = LAYOUT.byteOffset(groupElement("msg_controllen"));
    public static final long msg_flags$OFFSET = LAYOUT.byteOffset(groupElement("msg_flags"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static void msg_name(MemorySegment s, MemorySegment v) { s.set(ADDRESS, msg_name$OFFSET, v); }

    public static void msg_namelen(MemorySegment s, int v) { s.set(JAVA_INT, msg_namelen$OFFSET, v); }

    public static void msg_iov(MemorySegment s, MemorySegment v) { s.set(ADDRESS, msg_iov$OFFSET, v); }

    public static void msg_iovlen(MemorySegment s, long v) { s.set(JAVA_LONG, msg_iovlen$OFFSET, v); }

    public static void msg_control(MemorySegment s, MemorySegment v) { s.set(ADDRESS, msg_control$OFFSET, v); }

    public static long msg_controllen(MemorySegment s) { return s.get(JAVA_LONG, msg_controllen$OFFSET); }

    public static void msg_controllen(MemorySegment s, long v) { s.set(JAVA_LONG, msg_controllen$OFFSET, v); }

    public static int msg_flags(MemorySegment s) { return s.get(JAVA_INT, msg_flags$OFFSET); }

    public static void msg_flags(MemorySegment s, int v) { s.set(JAVA_INT, msg_flags$OFFSET, v); }
}
