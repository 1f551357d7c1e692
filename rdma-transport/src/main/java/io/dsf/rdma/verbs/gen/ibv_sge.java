package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code struct ibv_sge}: one scatter/gather element (infiniband/verbs.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_sge {
    private ibv_sge() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("addr"),
            JAVA_INT.withName("length"),
            JAVA_INT.withName("lkey")).withName("ibv_sge");

    public static final long addr$OFFSET = LAYOUT.byteOffset(groupElement("addr"));
    public static final long length$OFFSET = LAYOUT.byteOffset(groupElement("length"));
    public static final long lkey$OFFSET = LAYOUT.byteOffset(groupElement("lkey"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_sge. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static long addr(MemorySegment s) { return s.get(JAVA_LONG, addr$OFFSET); }
    public static void addr(MemorySegment s, long v) { s.set(JAVA_LONG, addr$OFFSET, v); }
    public static int length(MemorySegment s) { return s.get(JAVA_INT, length$OFFSET); }
    public static void length(MemorySegment s, int v) { s.set(JAVA_INT, length$OFFSET, v); }
    public static int lkey(MemorySegment s) { return s.get(JAVA_INT, lkey$OFFSET); }
    public static void lkey(MemorySegment s, int v) { s.set(JAVA_INT, lkey$OFFSET, v); }
}
