package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@code struct ibv_qp_init_attr}: queue pair creation attributes (infiniband/verbs.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_qp_init_attr {
    private ibv_qp_init_attr() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            ADDRESS.withName("qp_context"),
            ADDRESS.withName("send_cq"),
            ADDRESS.withName("recv_cq"),
            ADDRESS.withName("srq"),
            ibv_qp_cap.LAYOUT.withName("cap"),
            JAVA_INT.withName("qp_type"),
            JAVA_INT.withName("sq_sig_all"),
            MemoryLayout.paddingLayout(4)).withName("ibv_qp_init_attr");

    public static final long qp_context$OFFSET = LAYOUT.byteOffset(groupElement("qp_context"));
    public static final long send_cq$OFFSET = LAYOUT.byteOffset(groupElement("send_cq"));
    public static final long recv_cq$OFFSET = LAYOUT.byteOffset(groupElement("recv_cq"));
    public static final long srq$OFFSET = LAYOUT.byteOffset(groupElement("srq"));
    public static final long cap$OFFSET = LAYOUT.byteOffset(groupElement("cap"));
    public static final long qp_type$OFFSET = LAYOUT.byteOffset(groupElement("qp_type"));
    public static final long sq_sig_all$OFFSET = LAYOUT.byteOffset(groupElement("sq_sig_all"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_qp_init_attr. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static MemorySegment qp_context(MemorySegment s) { return s.get(ADDRESS, qp_context$OFFSET); }
    public static void qp_context(MemorySegment s, MemorySegment v) { s.set(ADDRESS, qp_context$OFFSET, v); }
    public static MemorySegment send_cq(MemorySegment s) { return s.get(ADDRESS, send_cq$OFFSET); }
    public static void send_cq(MemorySegment s, MemorySegment v) { s.set(ADDRESS, send_cq$OFFSET, v); }
    public static MemorySegment recv_cq(MemorySegment s) { return s.get(ADDRESS, recv_cq$OFFSET); }
    public static void recv_cq(MemorySegment s, MemorySegment v) { s.set(ADDRESS, recv_cq$OFFSET, v); }
    public static MemorySegment srq(MemorySegment s) { return s.get(ADDRESS, srq$OFFSET); }
    public static void srq(MemorySegment s, MemorySegment v) { s.set(ADDRESS, srq$OFFSET, v); }
    public static MemorySegment cap(MemorySegment s) { return s.asSlice(cap$OFFSET, ibv_qp_cap.LAYOUT.byteSize()); }
    public static int qp_type(MemorySegment s) { return s.get(JAVA_INT, qp_type$OFFSET); }
    public static void qp_type(MemorySegment s, int v) { s.set(JAVA_INT, qp_type$OFFSET, v); }
    public static int sq_sig_all(MemorySegment s) { return s.get(JAVA_INT, sq_sig_all$OFFSET); }
    public static void sq_sig_all(MemorySegment s, int v) { s.set(JAVA_INT, sq_sig_all$OFFSET, v); }
}
