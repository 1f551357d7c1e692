package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct io_uring_cqe} (16 bytes; rings are set up without CQE32). Thread safe: stateless. */
public final class io_uring_cqe {
    private io_uring_cqe() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("user_data"),
            JAVA_INT.withName("res"),
            JAVA_INT.withName("flags")).withName("io_uring_cqe");

    public static final long user_data$OFFSET = LAYOUT.byteOffset(groupElement("user_data"));
    public static final long res$OFFSET = LAYOUT.byteOffset(groupElement("res"));
    public static final long flags$OFFSET = LAYOUT.byteOffset(groupElement("flags"));

    public static long sizeof() { return LAYOUT.byteSize(); }
}
