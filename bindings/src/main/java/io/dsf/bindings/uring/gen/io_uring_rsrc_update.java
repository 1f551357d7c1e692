package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct io_uring_rsrc_update} (16 bytes), the {@code IORING_REGISTER_FILES_UPDATE} argument. Thread safe: stateless. */
public final class io_uring_rsrc_update {
    private io_uring_rsrc_update() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("offset"),
            JAVA_INT.withName("resv"),
            JAVA_LONG.withName("data")).withName("io_uring_rsrc_update");

    public static final long offset$OFFSET = LAYOUT.byteOffset(groupElement("offset"));
    public static final long resv$OFFSET = LAYOUT.byteOffset(groupElement("resv"));
    public static final long data$OFFSET = LAYOUT.byteOffset(groupElement("data"));

    public static long sizeof() { return LAYOUT.byteSize(); }
}
