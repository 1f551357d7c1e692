package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct stat} (x86_64 glibc, 144 bytes). Thread safe: stateless layout constants and accessors. */
public final class stat {
    private stat() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("st_dev"),
            JAVA_LONG.withName("st_ino"),
            JAVA_LONG.withName("st_nlink"),
            JAVA_INT.withName("st_mode"),
            JAVA_INT.withName("st_uid"),
            JAVA_INT.withName("st_gid"),
            JAVA_INT.withName("__pad0"),
            JAVA_LONG.withName("st_rdev"),
            JAVA_LONG.withName("st_size"),
            JAVA_LONG.withName("st_blksize"),
            JAVA_LONG.withName("st_blocks"),
            timespec.LAYOUT.withName("st_atim"),
            timespec.LAYOUT.withName("st_mtim"),
            timespec.LAYOUT.withName("st_ctim"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("__glibc_reserved")).withName("stat");

    public static final long st_dev$OFFSET = LAYOUT.byteOffset(groupElement("st_dev"));
    public static final long st_ino$OFFSET = LAYOUT.byteOffset(groupElement("st_ino"));
    public static final long st_nlink$OFFSET = LAYOUT.byteOffset(groupElement("st_nlink"));
    public static final long st_mode$OFFSET = LAYOUT.byteOffset(groupElement("st_mode"));
    public static final long st_uid$OFFSET = LAYOUT.byteOffset(groupElement("st_uid"));
    public static final long st_gid$OFFSET = LAYOUT.byteOffset(groupElement("st_gid"));
    public static final long st_rdev$OFFSET = LAYOUT.byteOffset(groupElement("st_rdev"));
    public static final long st_size$OFFSET = LAYOUT.byteOffset(groupElement("st_size"));
    public static final long st_blksize$OFFSET = LAYOUT.byteOffset(groupElement("st_blksize"));
    public static final long st_blocks$OFFSET = LAYOUT.byteOffset(groupElement("st_blocks"));
    public static final long st_atim$OFFSET = LAYOUT.byteOffset(groupElement("st_atim"));
    public static final long st_mtim$OFFSET = LAYOUT.byteOffset(groupElement("st_mtim"));
    public static final long st_ctim$OFFSET = LAYOUT.byteOffset(groupElement("st_ctim"));

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static int st_mode(MemorySegment s) { return s.get(JAVA_INT, st_mode$OFFSET); }

    public static long st_size(MemorySegment s) { return s.get(JAVA_LONG, st_size$OFFSET); }

    public static long st_blksize(MemorySegment s) { return s.get(JAVA_LONG, st_blksize$OFFSET); }

    public static long st_blocks(MemorySegment s) { return s.get(JAVA_LONG, st_blocks$OFFSET); }

    public static long st_rdev(MemorySegment s) { return s.get(JAVA_LONG, st_rdev$OFFSET); }

    public static long st_ino(MemorySegment s) { return s.get(JAVA_LONG, st_ino$OFFSET); }

    public static long st_dev(MemorySegment s) { return s.get(JAVA_LONG, st_dev$OFFSET); }
}
