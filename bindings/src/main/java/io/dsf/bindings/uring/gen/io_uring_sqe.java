package io.dsf.bindings.uring.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * {@code struct io_uring_sqe} (64 bytes). The C anonymous unions are {@code $anonN} union layouts
 * here, as jextract names them; the {@code $OFFSET} constants name each member directly. Filled
 * by {@link io.dsf.bindings.uring.UringMacros}. Thread safe: stateless.
 */
public final class io_uring_sqe {
    private io_uring_sqe() {}

    public static final GroupLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_BYTE.withName("opcode"),
            JAVA_BYTE.withName("flags"),
            JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"),
            MemoryLayout.unionLayout(
                    JAVA_LONG.withName("off"),
                    JAVA_LONG.withName("addr2")).withName("$anon0"),
            MemoryLayout.unionLayout(
                    JAVA_LONG.withName("addr"),
                    JAVA_LONG.withName("splice_off_in")).withName("$anon1"),
            JAVA_INT.withName("len"),
            MemoryLayout.unionLayout(
                    JAVA_INT.withName("rw_flags"),
                    JAVA_INT.withName("fsync_flags"),
                    JAVA_INT.withName("timeout_flags"),
                    JAVA_INT.withName("cancel_flags")).withName("$anon2"),
            JAVA_LONG.withName("user_data"),
            MemoryLayout.unionLayout(
                    JAVA_SHORT.withName("buf_index"),
                    JAVA_SHORT.withName("buf_group")).withName("$anon3"),
            JAVA_SHORT.withName("personality"),
            MemoryLayout.unionLayout(
                    JAVA_INT.withName("splice_fd_in"),
                    JAVA_INT.withName("file_index")).withName("$anon4"),
            JAVA_LONG.withName("addr3"),
            MemoryLayout.sequenceLayout(1, JAVA_LONG).withName("__pad2")).withName("io_uring_sqe");

    public static final long opcode$OFFSET = LAYOUT.byteOffset(groupElement("opcode"));
    public static final long flags$OFFSET = LAYOUT.byteOffset(groupElement("flags"));
    public static final long ioprio$OFFSET = LAYOUT.byteOffset(groupElement("ioprio"));
    public static final long fd$OFFSET = LAYOUT.byteOffset(groupElement("fd"));
    public static final long off$OFFSET = LAYOUT.byteOffset(groupElement("$anon0"), groupElement("off"));
    public static final long addr2$OFFSET = LAYOUT.byteOffset(groupElement("$anon0"), groupElement("addr2"));
    public static final long addr$OFFSET = LAYOUT.byteOffset(groupElement("$anon1"), groupElement("addr"));
    public static final long len$OFFSET = LAYOUT.byteOffset(groupElement("len"));
    public static final long rw_flags$OFFSET = LAYOUT.byteOffset(groupElement("$anon2"), groupElement("rw_flags"));
    public static final long fsync_flags$OFFSET = LAYOUT.byteOffset(groupElement("$anon2"), groupElement("fsync_flags"));
    public static final long timeout_flags$OFFSET = LAYOUT.byteOffset(groupElement("$anon2"), groupElement("timeout_flags"));
    public static final long cancel_flags$OFFSET = LAYOUT.byteOffset(groupElement("$anon2"), groupElement("cancel_flags"));
    public static final long user_data$OFFSET = LAYOUT.byteOffset(groupElement("user_data"));
    public static final long buf_index$OFFSET = LAYOUT.byteOffset(groupElement("$anon3"), groupElement("buf_index"));
    public static final long personality$OFFSET = LAYOUT.byteOffset(groupElement("personality"));
    public static final long splice_fd_in$OFFSET = LAYOUT.byteOffset(groupElement("$anon4"), groupElement("splice_fd_in"));
    public static final long file_index$OFFSET = LAYOUT.byteOffset(groupElement("$anon4"), groupElement("file_index"));
    public static final long addr3$OFFSET = LAYOUT.byteOffset(groupElement("addr3"));

    public static long sizeof() { return LAYOUT.byteSize(); }
}
