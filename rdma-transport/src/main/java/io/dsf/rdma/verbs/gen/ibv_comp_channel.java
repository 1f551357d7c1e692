package io.dsf.rdma.verbs.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@code struct ibv_comp_channel}: a completion event channel, owned by libibverbs (infiniband/verbs.h). Laid out as jextract would (see
 * {@code jextract-verbs.args}); sizes and offsets are checked against the installed headers by
 * {@code VerbsAbiTest}. Thread safe: stateless layout constants and accessors.
 */
public final class ibv_comp_channel {
    private ibv_comp_channel() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            ADDRESS.withName("context"),
            JAVA_INT.withName("fd"),
            JAVA_INT.withName("refcnt")).withName("ibv_comp_channel");

    public static final long context$OFFSET = LAYOUT.byteOffset(groupElement("context"));
    public static final long fd$OFFSET = LAYOUT.byteOffset(groupElement("fd"));
    public static final long refcnt$OFFSET = LAYOUT.byteOffset(groupElement("refcnt"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static MemorySegment allocateArray(long count, SegmentAllocator a) { return a.allocate(LAYOUT, count); }

    /** Element {@code i} of an array of ibv_comp_channel. */
    public static MemorySegment asSlice(MemorySegment array, long i) { return array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize()); }

    public static MemorySegment context(MemorySegment s) { return s.get(ADDRESS, context$OFFSET); }
    public static void context(MemorySegment s, MemorySegment v) { s.set(ADDRESS, context$OFFSET, v); }
    public static int fd(MemorySegment s) { return s.get(JAVA_INT, fd$OFFSET); }
    public static void fd(MemorySegment s, int v) { s.set(JAVA_INT, fd$OFFSET, v); }
    public static int refcnt(MemorySegment s) { return s.get(JAVA_INT, refcnt$OFFSET); }
    public static void refcnt(MemorySegment s, int v) { s.set(JAVA_INT, refcnt$OFFSET, v); }
}
