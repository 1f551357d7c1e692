package io.dsf.bindings.libc.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct statx_timestamp} (16 bytes). Thread safe: stateless layout constants. */
public final class statx_timestamp {
    private statx_timestamp() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"),
            JAVA_INT.withName("tv_nsec"),
            JAVA_INT.withName("__reserved")).withName("statx_timestamp");

    public static final long tv_sec$OFFSET = LAYOUT.byteOffset(groupElement("tv_sec"));
    public static final long tv_nsec$OFFSET = LAYOUT.byteOffset(groupElement("tv_nsec"));

    public static long sizeof() { return LAYOUT.byteSize(); }
}
