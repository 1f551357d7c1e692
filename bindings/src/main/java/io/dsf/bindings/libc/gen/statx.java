package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct statx} (256 bytes, linux/stat.h of 6.1 with the STATX_DIOALIGN fields). Thread
 * safe: stateless layout constants and accessors.
 */
public final class statx {
    private statx() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("stx_mask"),
            JAVA_INT.withName("stx_blksize"),
            JAVA_LONG.withName("stx_attributes"),
            JAVA_INT.withName("stx_nlink"),
            JAVA_INT.withName("stx_uid"),
            JAVA_INT.withName("stx_gid"),
            JAVA_SHORT.withName("stx_mode"),
            JAVA_SHORT.withName("__spare0"),
            JAVA_LONG.withName("stx_ino"),
            JAVA_LONG.withName("stx_size"),
            JAVA_LONG.withName("stx_blocks"),
            JAVA_LONG.withName("stx_attributes_mask"),
            statx_timestamp.LAYOUT.withName("stx_atime"),
            statx_timestamp.LAYOUT.withName("stx_btime"),
            statx_timestamp.LAYOUT.withName("stx_ctime"),
            statx_timestamp.LAYOUT.withName("stx_mtime"),
            JAVA_INT.withName("stx_rdev_major"),
            JAVA_INT.withName("stx_rdev_minor"),
            JAVA_INT.withName("stx_dev_major"),
            JAVA_INT.withName("stx_dev_minor"),
            JAVA_LONG.withName("stx_mnt_id"),
            JAVA_INT.withName("stx_dio_mem_align"),
            JAVA_INT.withName("stx_dio_offset_align"),
            MemoryLayout.sequenceLayout(12, JAVA_LONG).withName("__spare3")).withName("statx");

    public static final long stx_mask$OFFSET = LAYOUT.byteOffset(groupElement("stx_mask"));
    public static final long stx_blksize$OFFSET = LAYOUT.byteOffset(groupElement("stx_blksize"));
    public static final long stx_attributes$OFFSET = LAYOUT.byteOffset(groupElement("stx_attributes"));
    public static final long stx_nlink$OFFSET = LAYOUT.byteOffset(groupElement("stx_nlink"));
    public static final long stx_uid$OFFSET = LAYOUT.byteOffset(groupElement("stx_uid"));
    public static final long stx_gid$OFFSET = LAYOUT.byteOffset(groupElement("stx_gid"));
    public static final long stx_mode$OFFSET = LAYOUT.byteOffset(groupElement("stx_mode"));
    public static final long stx_ino$OFFSET = LAYOUT.byteOffset(groupElement("stx_ino"));
    public static final long stx_size$OFFSET = LAYOUT.byteOffset(groupElement("stx_size"));
    public static final long stx_blocks$OFFSET = LAYOUT.byteOffset(groupElement("stx_blocks"));
    public static final long stx_attributes_mask$OFFSET = LAYOUT.byteOffset(groupElement("stx_attributes_mask"));
    public static final long stx_atime$OFFSET = LAYOUT.byteOffset(groupElement("stx_atime"));
    public static final long stx_btime$OFFSET = LAYOUT.byteOffset(groupElement("stx_btime"));
    public static final long stx_ctime$OFFSET = LAYOUT.byteOffset(groupElement("stx_ctime"));
    public static final long stx_mtime$OFFSET = LAYOUT.byteOffset(groupElement("stx_mtime"));
    public static final long stx_rdev_major$OFFSET = LAYOUT.byteOffset(groupElement("stx_rdev_major"));
    public static final long stx_rdev_minor$OFFSET = LAYOUT.byteOffset(groupElement("stx_rdev_minor"));
    public static final long stx_dev_major$OFFSET = LAYOUT.byteOffset(groupElement("stx_dev_major"));
    public static final long stx_dev_minor$OFFSET = LAYOUT.byteOffset(groupElement("stx_dev_minor"));
    public static final long stx_mnt_id$OFFSET = LAYOUT.byteOffset(groupElement("stx_mnt_id"));
    public static final long stx_dio_mem_align$OFFSET = LAYOUT.byteOffset(groupElement("stx_dio_mem_align"));
    public static final long stx_dio_offset_align$OFFSET = LAYOUT.byteOffset(groupElement("stx_dio_offset_align"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static int stx_mask(MemorySegment s) { return s.get(JAVA_INT, stx_mask$OFFSET); }

    public static int stx_blksize(MemorySegment s) { return s.get(JAVA_INT, stx_blksize$OFFSET); }

    public static int stx_mode(MemorySegment s) { return Short.toUnsignedInt(s.get(JAVA_SHORT, stx_mode$OFFSET)); }

    public static long stx_size(MemorySegment s) { return s.get(JAVA_LONG, stx_size$OFFSET); }

    public static int stx_dio_mem_align(MemorySegment s) { return s.get(JAVA_INT, stx_dio_mem_align$OFFSET); }

    public static int stx_dio_offset_align(MemorySegment s) { return s.get(JAVA_INT, stx_dio_offset_align$OFFSET); }
}
