package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code struct ibv_recv_wr}: a receive-queue work request (infiniband/verbs.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_recv_wr {
    private ibv_recv_wr() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("wr_id"),
            ADDRESS.withName("next"),
            ADDRESS.withName("sg_list"),
            JAVA_INT.withName("num_sge"),
            MemoryLayout.paddingLayout(4)).withName("ibv_recv_wr");

    public static final long wr_id$OFFSET = LAYOUT.byteOffset(groupElement("wr_id"));
    public static final long next$OFFSET = LAYOUT.byteOffset(groupElement("next"));
    public static final long sg_list$OFFSET = LAYOUT.byteOffset(groupElement("sg_list"));
    public static final long num_sge$OFFSET = LAYOUT.byteOffset(groupElement("num_sge"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_recv_wr. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static long wr_id(MemorySegment s) { return s.get(JAVA_LONG, wr_id$OFFSET); }
    public static void wr_id(MemorySegment s, long v) { s.set(JAVA_LONG, wr_id$OFFSET, v); }
    public static MemorySegment next(MemorySegment s) { return s.get(ADDRESS, next$OFFSET); }
    public static void next(MemorySegment s, MemorySegment v) { s.set(ADDRESS, next$OFFSET, v); }
    public static MemorySegment sg_list(MemorySegment s) { return s.get(ADDRESS, sg_list$OFFSET); }
    public static void sg_list(MemorySegment s, MemorySegment v) { s.set(ADDRESS, sg_list$OFFSET, v); }
    public static int num_sge(MemorySegment s) { return s.get(JAVA_INT, num_sge$OFFSET); }
    public static void num_sge(MemorySegment s, int v) { s.set(JAVA_INT, num_sge$OFFSET, v); }
}
