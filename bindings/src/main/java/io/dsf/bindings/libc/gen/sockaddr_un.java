package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** {@code struct sockaddr_un} (110 bytes; a path of at most 107 bytes plus NUL). Thread safe: stateless layout constants. */
public final class sockaddr_un {
    private sockaddr_un() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"),
            MemoryLayout.sequenceLayout(108, JAVA_BYTE).withName("sun_path")).withName("sockaddr_un");

    public static final long sun_family$OFFSET = LAYOUT.byteOffset(groupElement("sun_family"));
    public static final long sun_path$OFFSET = LAYOUT.byteOffset(groupElement("sun_path"));
    /** Capacity of {@code sun_path} including the terminating NUL. */
    public static final int SUN_PATH_CAPACITY = 108;

    public static long sizeof() { return LAYOUT.byteSize(); }

    public static MemorySegment allocate(SegmentAllocator a) { return a.allocate(LAYOUT); }

    public static void sun_family(MemorySegment s, short v) { s.set(JAVA_SHORT, sun_family$OFFSET, v); }

    public static short sun_family(MemorySegment s) { return s.get(JAVA_SHORT, sun_family$OFFSET); }
}
