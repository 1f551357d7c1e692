package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** {@code struct io_uring_params} (120 bytes), passed to and filled by {@code io_uring_setup}. Thread safe: stateless. */
public final class io_uring_params {
    private io_uring_params() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("sq_entries"),
            JAVA_INT.withName("cq_entries"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("sq_thread_cpu"),
            JAVA_INT.withName("sq_thread_idle"),
            JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv"),
            io_sqring_offsets.LAYOUT.withName("sq_off"),
            io_cqring_offsets.LAYOUT.withName("cq_off")).withName("io_uring_params");

    public static final long sq_entries$OFFSET = LAYOUT.byteOffset(groupElement("sq_entries"));
    public static final long cq_entries$OFFSET = LAYOUT.byteOffset(groupElement("cq_entries"));
    public static final long flags$OFFSET = LAYOUT.byteOffset(groupElement("flags"));
    public static final long sq_thread_cpu$OFFSET = LAYOUT.byteOffset(groupElement("sq_thread_cpu"));
    public static final long sq_thread_idle$OFFSET = LAYOUT.byteOffset(groupElement("sq_thread_idle"));
    public static final long features$OFFSET = LAYOUT.byteOffset(groupElement("features"));
    public static final long wq_fd$OFFSET = LAYOUT.byteOffset(groupElement("wq_fd"));
    public static final long resv$OFFSET = LAYOUT.byteOffset(groupElement("resv"));
    public static final long sq_off$OFFSET = LAYOUT.byteOffset(groupElement("sq_off"));
    public static final long cq_off$OFFSET = LAYOUT.byteOffset(groupElement("cq_off"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static int sq_entries(MemorySegment s) { return s.get(JAVA_INT, sq_entries$OFFSET); }

    public static void sq_entries(MemorySegment s, int v) { s.set(JAVA_INT, sq_entries$OFFSET, v); }

    public static int cq_entries(MemorySegment s) { return s.get(JAVA_INT, cq_entries$OFFSET); }

    public static void cq_entries(MemorySegment s, int v) { s.set(JAVA_INT, cq_entries$OFFSET, v); }

    public static int flags(MemorySegment s) { return s.get(JAVA_INT, flags$OFFSET); }

    public static void flags(MemorySegment s, int v) { s.set(JAVA_INT, flags$OFFSET, v); }

    public static void sq_thread_cpu(MemorySegment s, int v) { s.set(JAVA_INT, sq_thread_cpu$OFFSET, v); }

    public static void sq_thread_idle(MemorySegment s, int v) { s.set(JAVA_INT, sq_thread_idle$OFFSET, v); }

    public static int features(MemorySegment s) { return s.get(JAVA_INT, features$OFFSET); }

    /** Field {@code f} (an {@code io_sqring_offsets} offset constant) of {@code sq_off}. */
    public static int sq_off(MemorySegment s, long f) { return s.get(JAVA_INT, sq_off$OFFSET + f); }

    /** Field {@code f} (an {@code io_cqring_offsets} offset constant) of {@code cq_off}. */
    public static int cq_off(MemorySegment s, long f) { return s.get(JAVA_INT, cq_off$OFFSET + f); }
}
