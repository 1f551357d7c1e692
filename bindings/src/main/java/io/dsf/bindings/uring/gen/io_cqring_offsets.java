package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** {@code struct io_cqring_offsets} (40 bytes): where the CQ ring fields sit in its mapping. Thread safe: stateless. */
public final class io_cqring_offsets {
    private io_cqring_offsets() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_INT.withName("head"),
            JAVA_INT.withName("tail"),
            JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"),
            JAVA_INT.withName("overflow"),
            JAVA_INT.withName("cqes"),
            JAVA_INT.withName("flags"),
            JAVA_INT.withName("resv1"),
            JAVA_LONG.withName("resv2")).withName("io_cqring_offsets");

    public static final long head$OFFSET = LAYOUT.byteOffset(groupElement("head"));
    public static final long tail$OFFSET = LAYOUT.byteOffset(groupElement("tail"));
    public static final long ring_mask$OFFSET = LAYOUT.byteOffset(groupElement("ring_mask"));
    public static final long ring_entries$OFFSET = LAYOUT.byteOffset(groupElement("ring_entries"));
    public static final long overflow$OFFSET = LAYOUT.byteOffset(groupElement("overflow"));
    public static final long cqes$OFFSET = LAYOUT.byteOffset(groupElement("cqes"));
    public static final long flags$OFFSET = LAYOUT.byteOffset(groupElement("flags"));
    public static final long resv1$OFFSET = LAYOUT.byteOffset(groupElement("resv1"));
    public static final long resv2$OFFSET = LAYOUT.byteOffset(groupElement("resv2"));

    public static long sizeof() { return LAYOUT.byteSize(); }
}
