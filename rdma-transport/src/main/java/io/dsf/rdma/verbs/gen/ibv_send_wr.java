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
 * {@code struct ibv_send_wr}: a send-queue work request (infiniband/verbs.h). Only the members dsf uses are named; the union {@code wr} is laid out as its {@code rdma} member ({@code rdma_remote_addr}, {@code rdma_rkey}), the rest is padding. Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_send_wr {
    private ibv_send_wr() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("wr_id"),
            ADDRESS.withName("next"),
            ADDRESS.withName("sg_list"),
            JAVA_INT.withName("num_sge"),
            JAVA_INT.withName("opcode"),
            JAVA_INT.withName("send_flags"),
            JAVA_INT.withName("imm_data"),
            JAVA_LONG.withName("rdma_remote_addr"),
            JAVA_INT.withName("rdma_rkey"),
            MemoryLayout.paddingLayout(76)).withName("ibv_send_wr");

    public static final long wr_id$OFFSET = LAYOUT.byteOffset(groupElement("wr_id"));
    public static final long next$OFFSET = LAYOUT.byteOffset(groupElement("next"));
    public static final long sg_list$OFFSET = LAYOUT.byteOffset(groupElement("sg_list"));
    public static final long num_sge$OFFSET = LAYOUT.byteOffset(groupElement("num_sge"));
    public static final long opcode$OFFSET = LAYOUT.byteOffset(groupElement("opcode"));
    public static final long send_flags$OFFSET = LAYOUT.byteOffset(groupElement("send_flags"));
    public static final long imm_data$OFFSET = LAYOUT.byteOffset(groupElement("imm_data"));
    public static final long rdma_remote_addr$OFFSET = LAYOUT.byteOffset(groupElement("rdma_remote_addr"));
    public static final long rdma_rkey$OFFSET = LAYOUT.byteOffset(groupElement("rdma_rkey"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_send_wr. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static long wr_id(MemorySegment s) { return s.get(JAVA_LONG, wr_id$OFFSET); }
    public static void wr_id(MemorySegment s, long v) { s.set(JAVA_LONG, wr_id$OFFSET, v); }
    public static MemorySegment next(MemorySegment s) { return s.get(ADDRESS, next$OFFSET); }
    public static void next(MemorySegment s, MemorySegment v) { s.set(ADDRESS, next$OFFSET, v); }
    public static MemorySegment sg_list(MemorySegment s) { return s.get(ADDRESS, sg_list$OFFSET); }
    public static void sg_list(MemorySegment s, MemorySegment v) { s.set(ADDRESS, sg_list$OFFSET, v); }
    public static int num_sge(MemorySegment s) { return s.get(JAVA_INT, num_sge$OFFSET); }
    public static void num_sge(MemorySegment s, int v) { s.set(JAVA_INT, num_sge$OFFSET, v); }
    public static int opcode(MemorySegment s) { return s.get(JAVA_INT, opcode$OFFSET); }
    public static void opcode(MemorySegment s, int v) { s.set(JAVA_INT, opcode$OFFSET, v); }
    public static int send_flags(MemorySegment s) { return s.get(JAVA_INT, send_flags$OFFSET); }
    public static void send_flags(MemorySegment s, int v) { s.set(JAVA_INT, send_flags$OFFSET, v); }
    public static int imm_data(MemorySegment s) { return s.get(JAVA_INT, imm_data$OFFSET); }
    public static void imm_data(MemorySegment s, int v) { s.set(JAVA_INT, imm_data$OFFSET, v); }
    public static long rdma_remote_addr(MemorySegment s) { return s.get(JAVA_LONG, rdma_remote_addr$OFFSET); }
    public static void rdma_remote_addr(MemorySegment s, long v) { s.set(JAVA_LONG, rdma_remote_addr$OFFSET, v); }
    public static int rdma_rkey(MemorySegment s) { return s.get(JAVA_INT, rdma_rkey$OFFSET); }
    public static void rdma_rkey(MemorySegment s, int v) { s.set(JAVA_INT, rdma_rkey$OFFSET, v); }
}
