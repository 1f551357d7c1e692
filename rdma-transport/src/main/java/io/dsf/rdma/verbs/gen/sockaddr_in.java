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
 * {@code struct sockaddr_in}: the IPv4 socket address (netinet/in.h) as rdma_cma takes it; port and address in network byte order. Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class sockaddr_in {
    private sockaddr_in() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin_family"),
            JAVA_SHORT.withName("sin_port"),
            JAVA_INT.withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sin_zero")).withName("sockaddr_in");

    public static final long sin_family$OFFSET = LAYOUT.byteOffset(groupElement("sin_family"));
    public static final long sin_port$OFFSET = LAYOUT.byteOffset(groupElement("sin_port"));
    public static final long sin_addr$OFFSET = LAYOUT.byteOffset(groupElement("sin_addr"));
    public static final long sin_zero$OFFSET = LAYOUT.byteOffset(groupElement("sin_zero"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of sockaddr_in. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static short sin_family(MemorySegment s) { return s.get(JAVA_SHORT, sin_family$OFFSET); }
    public static void sin_family(MemorySegment s, short v) { s.set(JAVA_SHORT, sin_family$OFFSET, v); }
    public static short sin_port(MemorySegment s) { return s.get(JAVA_SHORT, sin_port$OFFSET); }
    public static void sin_port(MemorySegment s, short v) { s.set(JAVA_SHORT, sin_port$OFFSET, v); }
    public static int sin_addr(MemorySegment s) { return s.get(JAVA_INT, sin_addr$OFFSET); }
    public static void sin_addr(MemorySegment s, int v) { s.set(JAVA_INT, sin_addr$OFFSET, v); }
    public static MemorySegment sin_zero(MemorySegment s) { return s.asSlice(sin_zero$OFFSET, 8); }
}
