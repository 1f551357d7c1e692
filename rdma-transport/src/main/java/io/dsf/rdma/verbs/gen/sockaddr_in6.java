package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct sockaddr_in6}: the IPv6 socket address (netinet/in.h) as rdma_cma takes it; port and address in network byte order. Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class sockaddr_in6 {
    private sockaddr_in6() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin6_family"),
            JAVA_SHORT.withName("sin6_port"),
            JAVA_INT.withName("sin6_flowinfo"),
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("sin6_addr"),
            JAVA_INT.withName("sin6_scope_id")).withName("sockaddr_in6");

    public static final long sin6_family$OFFSET = LAYOUT.byteOffset(groupElement("sin6_family"));
    public static final long sin6_port$OFFSET = LAYOUT.byteOffset(groupElement("sin6_port"));
    public static final long sin6_flowinfo$OFFSET = LAYOUT.byteOffset(groupElement("sin6_flowinfo"));
    public static final long sin6_addr$OFFSET = LAYOUT.byteOffset(groupElement("sin6_addr"));
    public static final long sin6_scope_id$OFFSET = LAYOUT.byteOffset(groupElement("sin6_scope_id"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of sockaddr_in6. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static short sin6_family(MemorySegment s) { return s.get(JAVA_SHORT, sin6_family$OFFSET); }
    public static void sin6_family(MemorySegment s, short v) { s.set(JAVA_SHORT, sin6_family$OFFSET, v); }
    public static short sin6_port(MemorySegment s) { return s.get(JAVA_SHORT, sin6_port$OFFSET); }
    public static void sin6_port(MemorySegment s, short v) { s.set(JAVA_SHORT, sin6_port$OFFSET, v); }
    public static int sin6_flowinfo(MemorySegment s) { return s.get(JAVA_INT, sin6_flowinfo$OFFSET); }
    public static void sin6_flowinfo(MemorySegment s, int v) { s.set(JAVA_INT, sin6_flowinfo$OFFSET, v); }
    public static MemorySegment sin6_addr(MemorySegment s) { return s.asSlice(sin6_addr$OFFSET, 16); }
    public static int sin6_scope_id(MemorySegment s) { return s.get(JAVA_INT, sin6_scope_id$OFFSET); }
    public static void sin6_scope_id(MemorySegment s, int v) { s.set(JAVA_INT, sin6_scope_id$OFFSET, v); }
}
