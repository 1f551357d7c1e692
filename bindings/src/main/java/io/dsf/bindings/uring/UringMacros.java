package io.dsf.bindings.uring;

import io.dsf.bindings.uring.gen.IoUring;
import io.dsf.bindings.uring.gen.io_uring_sqe;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The SQE "prep" helpers liburing keeps as inline functions, over an SQE at byte offset
 * {@code at} of the mapped SQE array. Each prep writes all 64 bytes, so a recycled SQE never
 * carries a field from its previous use. Allocation free. Thread safe: stateless (the SQE memory
 * itself belongs to the ring's owner thread).
 */
public final class UringMacros {
    private UringMacros() {}

    /** {@code io_uring_prep_rw}: the common fill of every opcode. */
    public static void prepRw(MemorySegment sqes, long at, int op, int fd, long addr, int len, long offset, long userData) {
        sqes.set(JAVA_BYTE, at + io_uring_sqe.opcode$OFFSET, (byte) op);
        sqes.set(JAVA_BYTE, at + io_uring_sqe.flags$OFFSET, (byte) 0);
        sqes.set(JAVA_SHORT, at + io_uring_sqe.ioprio$OFFSET, (short) 0);
        sqes.set(JAVA_INT, at + io_uring_sqe.fd$OFFSET, fd);
        sqes.set(JAVA_LONG, at + io_uring_sqe.off$OFFSET, offset);
        sqes.set(JAVA_LONG, at + io_uring_sqe.addr$OFFSET, addr);
        sqes.set(JAVA_INT, at + io_uring_sqe.len$OFFSET, len);
        sqes.set(JAVA_INT, at + io_uring_sqe.rw_flags$OFFSET, 0);
        sqes.set(JAVA_LONG, at + io_uring_sqe.user_data$OFFSET, userData);
        // buf_index (2), personality (2), file_index (4)
        sqes.set(JAVA_LONG, at + io_uring_sqe.buf_index$OFFSET, 0L);
        sqes.set(JAVA_LONG, at + io_uring_sqe.addr3$OFFSET, 0L);
        sqes.set(JAVA_LONG, at + io_uring_sqe.addr3$OFFSET + 8, 0L);
    }

    public static void prepNop(MemorySegment sqes, long at, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_NOP, -1, 0L, 0, 0L, userData);
    }

    public static void prepRead(MemorySegment sqes, long at, int fd, long bufAddr, int len, long offset, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_READ, fd, bufAddr, len, offset, userData);
    }

    public static void prepWrite(MemorySegment sqes, long at, int fd, long bufAddr, int len, long offset, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_WRITE, fd, bufAddr, len, offset, userData);
    }

    /** READ_FIXED: {@code bufAddr} must lie inside registered buffer {@code bufIndex}. */
    public static void prepReadFixed(MemorySegment sqes, long at, int fd, long bufAddr, int len, long offset, int bufIndex, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_READ_FIXED, fd, bufAddr, len, offset, userData);
        sqes.set(JAVA_SHORT, at + io_uring_sqe.buf_index$OFFSET, (short) bufIndex);
    }

    /** WRITE_FIXED: {@code bufAddr} must lie inside registered buffer {@code bufIndex}. */
    public static void prepWriteFixed(MemorySegment sqes, long at, int fd, long bufAddr, int len, long offset, int bufIndex, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_WRITE_FIXED, fd, bufAddr, len, offset, userData);
        sqes.set(JAVA_SHORT, at + io_uring_sqe.buf_index$OFFSET, (short) bufIndex);
    }

    /** FSYNC; {@code fsyncFlags} = {@link IoUring#IORING_FSYNC_DATASYNC} for fdatasync semantics. */
    public static void prepFsync(MemorySegment sqes, long at, int fd, int fsyncFlags, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_FSYNC, fd, 0L, 0, 0L, userData);
        sqes.set(JAVA_INT, at + io_uring_sqe.fsync_flags$OFFSET, fsyncFlags);
    }

    /** FALLOCATE: the mode travels in {@code len}, the length in {@code addr} (as liburing does). */
    public static void prepFallocate(MemorySegment sqes, long at, int fd, int mode, long offset, long length, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_FALLOCATE, fd, length, mode, offset, userData);
    }

    /** ASYNC_CANCEL of the request whose user_data is {@code target} (or all, with {@code IORING_ASYNC_CANCEL_ANY}). */
    public static void prepCancel(MemorySegment sqes, long at, long target, int cancelFlags, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_ASYNC_CANCEL, -1, target, 0, 0L, userData);
        sqes.set(JAVA_INT, at + io_uring_sqe.cancel_flags$OFFSET, cancelFlags);
    }

    /** TIMEOUT: completes after {@code count} other completions or when the timespec at {@code tsAddr} elapses. */
    public static void prepTimeout(MemorySegment sqes, long at, long tsAddr, int count, int timeoutFlags, long userData) {
        prepRw(sqes, at, IoUring.IORING_OP_TIMEOUT, -1, tsAddr, 1, count, userData);
        sqes.set(JAVA_INT, at + io_uring_sqe.timeout_flags$OFFSET, timeoutFlags);
    }

    /** ORs {@code IOSQE_*} flags into a prepared SQE. */
    public static void addFlags(MemorySegment sqes, long at, int sqeFlags) {
        long o = at + io_uring_sqe.flags$OFFSET;
        sqes.set(JAVA_BYTE, o, (byte) (sqes.get(JAVA_BYTE, o) | sqeFlags));
    }
}
