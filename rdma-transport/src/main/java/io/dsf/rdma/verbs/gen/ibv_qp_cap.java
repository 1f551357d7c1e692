package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@code struct ibv_qp_cap}: queue pair capacities (infiniband/verbs.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_qp_cap {
    private ibv_qp_cap() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("max_send_wr"),
            JAVA_INT.withName("max_recv_wr"),
            JAVA_INT.withName("max_send_sge"),
            JAVA_INT.withName("max_recv_sge"),
            JAVA_INT.withName("max_inline_data")).withName("ibv_qp_cap");

    public static final long max_send_wr$OFFSET = LAYOUT.byteOffset(groupElement("max_send_wr"));
    public static final long max_recv_wr$OFFSET = LAYOUT.byteOffset(groupElement("max_recv_wr"));
    public static final long max_send_sge$OFFSET = LAYOUT.byteOffset(groupElement("max_send_sge"));
    public static final long max_recv_sge$OFFSET = LAYOUT.byteOffset(groupElement("max_recv_sge"));
    public static final long max_inline_data$OFFSET = LAYOUT.byteOffset(groupElement("max_inline_data"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_qp_cap. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static int max_send_wr(MemorySegment s) { return s.get(JAVA_INT, max_send_wr$OFFSET); }
    public static void max_send_wr(MemorySegment s, int v) { s.set(JAVA_INT, max_send_wr$OFFSET, v); }
    public static int max_recv_wr(MemorySegment s) { return s.get(JAVA_INT, max_recv_wr$OFFSET); }
    public static void max_recv_wr(MemorySegment s, int v) { s.set(JAVA_INT, max_recv_wr$OFFSET, v); }
    public static int max_send_sge(MemorySegment s) { return s.get(JAVA_INT, max_send_sge$OFFSET); }
    public static void max_send_sge(MemorySegment s, int v) { s.set(JAVA_INT, max_send_sge$OFFSET, v); }
    public static int max_recv_sge(MemorySegment s) { return s.get(JAVA_INT, max_recv_sge$OFFSET); }
    public static void max_recv_sge(MemorySegment s, int v) { s.set(JAVA_INT, max_recv_sge$OFFSET, v); }
    public static int max_inline_data(MemorySegment s) { return s.get(JAVA_INT, max_inline_data$OFFSET); }
    public static void max_inline_data(MemorySegment s, int v) { s.set(JAVA_INT, max_inline_data$OFFSET, v); }
}
