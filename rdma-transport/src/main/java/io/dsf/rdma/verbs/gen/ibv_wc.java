package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct ibv_wc}: a work completion (infiniband/verbs.h); {@code imm_data} is in network byte order. Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_wc {
    private ibv_wc() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("wr_id"),
            JAVA_INT.withName("status"),
            JAVA_INT.withName("opcode"),
            JAVA_INT.withName("vendor_err"),
            JAVA_INT.withName("byte_len"),
            JAVA_INT.withName("imm_data"),
            JAVA_INT.withName("qp_num"),
            JAVA_INT.withName("src_qp"),
            JAVA_INT.withName("wc_flags"),
            JAVA_SHORT.withName("pkey_index"),
            JAVA_SHORT.withName("slid"),
            JAVA_BYTE.withName("sl"),
            JAVA_BYTE.withName("dlid_path_bits"),
            MemoryLayout.paddingLayout(2)).withName("ibv_wc");

    public static final long wr_id$OFFSET = LAYOUT.byteOffset(groupElement("wr_id"));
    public static final long status$OFFSET = LAYOUT.byteOffset(groupElement("status"));
    public static final long opcode$OFFSET = LAYOUT.byteOffset(groupElement("opcode"));
    public static final long vendor_err$OFFSET = LAYOUT.byteOffset(groupElement("vendor_err"));
    public static final long byte_len$OFFSET = LAYOUT.byteOffset(groupElement("byte_len"));
    public static final long imm_data$OFFSET = LAYOUT.byteOffset(groupElement("imm_data"));
    public static final long qp_num$OFFSET = LAYOUT.byteOffset(groupElement("qp_num"));
    public static final long src_qp$OFFSET = LAYOUT.byteOffset(groupElement("src_qp"));
    public static final long wc_flags$OFFSET = LAYOUT.byteOffset(groupElement("wc_flags"));
    public static final long pkey_index$OFFSET = LAYOUT.byteOffset(groupElement("pkey_index"));
    public static final long slid$OFFSET = LAYOUT.byteOffset(groupElement("slid"));
    public static final long sl$OFFSET = LAYOUT.byteOffset(groupElement("sl"));
    public static final long dlid_path_bits$OFFSET = LAYOUT.byteOffset(groupElement("dlid_path_bits"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_wc. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static long wr_id(MemorySegment s) { return s.get(JAVA_LONG, wr_id$OFFSET); }
    public static void wr_id(MemorySegment s, long v) { s.set(JAVA_LONG, wr_id$OFFSET, v); }
    public static int status(MemorySegment s) { return s.get(JAVA_INT, status$OFFSET); }
    public static void status(MemorySegment s, int v) { s.set(JAVA_INT, status$OFFSET, v); }
    public static int opcode(MemorySegment s) { return s.get(JAVA_INT, opcode$OFFSET); }
    public static void opcode(MemorySegment s, int v) { s.set(JAVA_INT, opcode$OFFSET, v); }
    public static int vendor_err(MemorySegment s) { return s.get(JAVA_INT, vendor_err$OFFSET); }
    public static void vendor_err(MemorySegment s, int v) { s.set(JAVA_INT, vendor_err$OFFSET, v); }
    public static int byte_len(MemorySegment s) { return s.get(JAVA_INT, byte_len$OFFSET); }
    public static void byte_len(MemorySegment s, int v) { s.set(JAVA_INT, byte_len$OFFSET, v); }
    public static int imm_data(MemorySegment s) { return s.get(JAVA_INT, imm_data$OFFSET); }
    public static void imm_data(MemorySegment s, int v) { s.set(JAVA_INT, imm_data$OFFSET, v); }
    public static int qp_num(MemorySegment s) { return s.get(JAVA_INT, qp_num$OFFSET); }
    public static void qp_num(MemorySegment s, int v) { s.set(JAVA_INT, qp_num$OFFSET, v); }
    public static int src_qp(MemorySegment s) { return s.get(JAVA_INT, src_qp$OFFSET); }
    public static void src_qp(MemorySegment s, int v) { s.set(JAVA_INT, src_qp$OFFSET, v); }
    public static int wc_flags(MemorySegment s) { return s.get(JAVA_INT, wc_flags$OFFSET); }
    public static void wc_flags(MemorySegment s, int v) { s.set(JAVA_INT, wc_flags$OFFSET, v); }
    public static short pkey_index(MemorySegment s) { return s.get(JAVA_SHORT, pkey_index$OFFSET); }
    public static void pkey_index(MemorySegment s, short v) { s.set(JAVA_SHORT, pkey_index$OFFSET, v); }
    public static short slid(MemorySegment s) { return s.get(JAVA_SHORT, slid$OFFSET); }
    public static void slid(MemorySegment s, short v) { s.set(JAVA_SHORT, slid$OFFSET, v); }
    public static byte sl(MemorySegment s) { return s.get(JAVA_BYTE, sl$OFFSET); }
    public static void sl(MemorySegment s, byte v) { s.set(JAVA_BYTE, sl$OFFSET, v); }
    public static byte dlid_path_bits(MemorySegment s) { return s.get(JAVA_BYTE, dlid_path_bits$OFFSET); }
    public static void dlid_path_bits(MemorySegment s, byte v) { s.set(JAVA_BYTE, dlid_path_bits$OFFSET, v); }
}
