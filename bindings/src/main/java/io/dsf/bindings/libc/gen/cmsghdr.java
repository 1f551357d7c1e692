package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code struct cmsghdr} (x86_64 glibc, 16 bytes; the data follows at {@code CMSG_DATA}, see
 * {@link io.dsf.bindings.libc.LibcMacros}). Thread safe: stateless layout constants and accessors.
 */
public final class cmsghdr {
    private cmsghdr() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"),
            JAVA_INT.withName("cmsg_level"),
            JAVA_INT.withName("cmsg_type")).withName("cmsghdr");

    public static final long cmsg_len$OFFSET = LAYOUT.byteOffset(groupElement("cmsg_len"));
    public static final long cmsg_level$OFFSET = LAYOUT.byteOffset(groupElement("cmsg_level"));
    public static final long cmsg_type$OFFSET = LAYOUT.byteOffset(groupElement("cmsg_type"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static long cmsg_len(MemorySegment s, long at) { return s.get(JAVA_LONG, at + cmsg_len$OFFSET); }

    public static void cmsg_len(MemorySegment s, long at, long v) { s.set(JAVA_LONG, at + cmsg_len$OFFSET, v); }

    public static int cmsg_level(MemorySegment s, long at) { return s.get(JAVA_INT, at + cmsg_level$OFFSET); }

    public static void cmsg_level(MemorySegment s, long at, int v) { s.set(JAVA_INT, at + cmsg_level$OFFSET, v); }

    public static int cmsg_type(MemorySegment s, long at) { return s.get(JAVA_INT, at + cmsg_type$OFFSET); }

    public static void cmsg_type(MemorySegment s, long at, int v) { s.set(JAVA_INT, at + cmsg_type$OFFSET, v); }
}
