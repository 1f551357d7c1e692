package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@code struct rdma_conn_param}: connection parameters for rdma_connect/rdma_accept (rdma/rdma_cma.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class rdma_conn_param {
    private rdma_conn_param() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            ADDRESS.withName("private_data"),
            JAVA_BYTE.withName("private_data_len"),
            JAVA_BYTE.withName("responder_resources"),
            JAVA_BYTE.withName("initiator_depth"),
            JAVA_BYTE.withName("flow_control"),
            JAVA_BYTE.withName("retry_count"),
            JAVA_BYTE.withName("rnr_retry_count"),
            JAVA_BYTE.withName("srq"),
            MemoryLayout.paddingLayout(1),
            JAVA_INT.withName("qp_num"),
            MemoryLayout.paddingLayout(4)).withName("rdma_conn_param");

    public static final long private_data$OFFSET = LAYOUT.byteOffset(groupElement("private_data"));
    public static final long private_data_len$OFFSET = LAYOUT.byteOffset(groupElement("private_data_len"));
    public static final long responder_resources$OFFSET = LAYOUT.byteOffset(groupElement("responder_resources"));
    public static final long initiator_depth$OFFSET = LAYOUT.byteOffset(groupElement("initiator_depth"));
    public static final long flow_control$OFFSET = LAYOUT.byteOffset(groupElement("flow_control"));
    public static final long retry_count$OFFSET = LAYOUT.byteOffset(groupElement("retry_count"));
    public static final long rnr_retry_count$OFFSET = LAYOUT.byteOffset(groupElement("rnr_retry_count"));
    public static final long srq$OFFSET = LAYOUT.byteOffset(groupElement("srq"));
    public static final long qp_num$OFFSET = LAYOUT.byteOffset(groupElement("qp_num"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of rdma_conn_param. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static MemorySegment private_data(MemorySegment s) { return s.get(ADDRESS, private_data$OFFSET); }
    public static void private_data(MemorySegment s, MemorySegment v) { s.set(ADDRESS, private_data$OFFSET, v); }
    public static byte private_data_len(MemorySegment s) { return s.get(JAVA_BYTE, private_data_len$OFFSET); }
    public static void private_data_len(MemorySegment s, byte v) { s.set(JAVA_BYTE, private_data_len$OFFSET, v); }
    public static byte responder_resources(MemorySegment s) { return s.get(JAVA_BYTE, responder_resources$OFFSET); }
    public static void responder_resources(MemorySegment s, byte v) { s.set(JAVA_BYTE, responder_resources$OFFSET, v); }
    public static byte initiator_depth(MemorySegment s) { return s.get(JAVA_BYTE, initiator_depth$OFFSET); }
    public static void initiator_depth(MemorySegment s, byte v) { s.set(JAVA_BYTE, initiator_depth$OFFSET, v); }
    public static byte flow_control(MemorySegment s) { return s.get(JAVA_BYTE, flow_control$OFFSET); }
    public static void flow_control(MemorySegment s, byte v) { s.set(JAVA_BYTE, flow_control$OFFSET, v); }
    public static byte retry_count(MemorySegment s) { return s.get(JAVA_BYTE, retry_count$OFFSET); }
    public static void retry_count(MemorySegment s, byte v) { s.set(JAVA_BYTE, retry_count$OFFSET, v); }
    public static byte rnr_retry_count(MemorySegment s) { return s.get(JAVA_BYTE, rnr_retry_count$OFFSET); }
    public static void rnr_retry_count(MemorySegment s, byte v) { s.set(JAVA_BYTE, rnr_retry_count$OFFSET, v); }
    public static byte srq(MemorySegment s) { return s.get(JAVA_BYTE, srq$OFFSET); }
    public static void srq(MemorySegment s, byte v) { s.set(JAVA_BYTE, srq$OFFSET, v); }
    public static int qp_num(MemorySegment s) { return s.get(JAVA_INT, qp_num$OFFSET); }
    public static void qp_num(MemorySegment s, int v) { s.set(JAVA_INT, qp_num$OFFSET, v); }
}
