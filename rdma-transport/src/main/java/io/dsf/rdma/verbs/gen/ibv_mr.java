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
 * {@code struct ibv_mr}: a registered memory region, owned by libibverbs (infiniband/verbs.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_mr {
    private ibv_mr() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            ADDRESS.withName("context"),
            ADDRESS.withName("pd"),
            ADDRESS.withName("addr"),
            JAVA_LONG.withName("length"),
            JAVA_INT.withName("handle"),
            JAVA_INT.withName("lkey"),
            JAVA_INT.withName("rkey"),
            MemoryLayout.paddingLayout(4)).withName("ibv_mr");

    public static final long context$OFFSET = LAYOUT.byteOffset(groupElement("context"));
    public static final long pd$OFFSET = LAYOUT.byteOffset(groupElement("pd"));
    public static final long addr$OFFSET = LAYOUT.byteOffset(groupElement("addr"));
    public static final long length$OFFSET = LAYOUT.byteOffset(groupElement("length"));
    public static final long handle$OFFSET = LAYOUT.byteOffset(groupElement("handle"));
    public static final long lkey$OFFSET = LAYOUT.byteOffset(groupElement("lkey"));
    public static final long rkey$OFFSET = LAYOUT.byteOffset(groupElement("rkey"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_mr. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static MemorySegment context(MemorySegment s) { return s.get(ADDRESS, context$OFFSET); }
    public static void context(MemorySegment s, MemorySegment v) { s.set(ADDRESS, context$OFFSET, v); }
    public static MemorySegment pd(MemorySegment s) { return s.get(ADDRESS, pd$OFFSET); }
    public static void pd(MemorySegment s, MemorySegment v) { s.set(ADDRESS, pd$OFFSET, v); }
    public static MemorySegment addr(MemorySegment s) { return s.get(ADDRESS, addr$OFFSET); }
    public static void addr(MemorySegment s, MemorySegment v) { s.set(ADDRESS, addr$OFFSET, v); }
    public static long length(MemorySegment s) { return s.get(JAVA_LONG, length$OFFSET); }
    public static void length(MemorySegment s, long v) { s.set(JAVA_LONG, length$OFFSET, v); }
    public static int handle(MemorySegment s) { return s.get(JAVA_INT, handle$OFFSET); }
    public static void handle(MemorySegment s, int v) { s.set(JAVA_INT, handle$OFFSET, v); }
    public static int lkey(MemorySegment s) { return s.get(JAVA_INT, lkey$OFFSET); }
    public static void lkey(MemorySegment s, int v) { s.set(JAVA_INT, lkey$OFFSET, v); }
    public static int rkey(MemorySegment s) { return s.get(JAVA_INT, rkey$OFFSET); }
    public static void rkey(MemorySegment s, int v) { s.set(JAVA_INT, rkey$OFFSET, v); }
}
