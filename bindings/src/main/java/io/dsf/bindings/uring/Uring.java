package io.dsf.bindings.uring;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.uring.gen.IoUring;
import io.dsf.bindings.uring.gen.__kernel_timespec;
import io.dsf.bindings.uring.gen.io_cqring_offsets;
import io.dsf.bindings.uring.gen.io_sqring_offsets;
import io.dsf.bindings.uring.gen.io_uring_cqe;
import io.dsf.bindings.uring.gen.io_uring_getevents_arg;
import io.dsf.bindings.uring.gen.io_uring_params;
import io.dsf.bindings.uring.gen.io_uring_sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One io_uring instance driven through the raw system calls: the SQ ring, CQ ring and SQE array
 * are mapped once; SQEs are filled in place ({@link UringMacros}), published with a release store
 * of the SQ tail and pushed with one {@code io_uring_enter} per batch; completions are reaped from
 * the CQ ring without a system call (acquire load of the CQ tail, release store of the head).
 *
 * <p>Memory ordering, as the kernel's io_uring.h documents it: the SQ tail is written with
 * release (the kernel must see filled SQEs before the new tail) and the SQ head read with acquire
 * (an SQE the kernel consumed may be reused); the CQ tail is read with acquire (CQE contents are
 * visible before the tail that covers them) and the CQ head written with release (the kernel may
 * reuse a CQE only after we read it). With SQPOLL a full fence separates the tail store from the
 * read of the wake-up flag.
 *
 * <p>Hot-path methods return a count or a negative errno and never allocate. Control-path
 * failures ({@link #open}) throw {@link ErrnoException}. Owned by one thread (the one that submits
 * and reaps); not thread safe. {@link #close()} may run on another thread once the owner stopped.
 */
public final class Uring implements AutoCloseable {
    /** Receives one completion; called on the owner thread from {@link #reap}. */
    @FunctionalInterface
    public interface CqeHandler {
        void onCqe(long userData, int res, int flags);
    }

    private static final VarHandle INT = JAVA_INT.varHandle(); // (MemorySegment, long offset)
    private static final long SQE_SIZE = io_uring_sqe.LAYOUT.byteSize();
    private static final long CQE_SIZE = io_uring_cqe.LAYOUT.byteSize();

    private final Arena arena = Arena.ofShared();
    private final MemorySegment errno;
    private final MemorySegment timespec;
    private final MemorySegment geteventsArg;
    private final int ringFd;
    private final int setupFlags;
    private final int features;
    private final boolean sqpoll;

    private final long sqRingAddr, sqRingSize, cqRingAddr, cqRingSize, sqesAddr, sqesSize;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;

    private final long sqHeadOff, sqTailOff, sqFlagsOff, sqDroppedOff;
    private final int sqMask, sqEntries;
    private final long cqHeadOff, cqTailOff, cqOverflowOff, cqesOff;
    private final int cqMask, cqEntries;

    private int sqTail;      // next SQE to hand out (free running); published to the ring by flushSq
    private int sqHeadCache; // last SQ head read from the ring
    private int cqHead;      // next CQE to reap (free running); mirrors the ring's head
    private boolean closed;

    private Uring(int entries, int cqEntriesWanted, int flags, int sqThreadIdleMillis) {
        this.errno = Errno.allocate(arena);
        this.timespec = __kernel_timespec.allocate(arena);
        this.geteventsArg = io_uring_getevents_arg.allocate(arena);
        MemorySegment p = io_uring_params.allocate(arena);
        int f = flags;
        if (cqEntriesWanted > 0) {
            f |= IoUring.IORING_SETUP_CQSIZE;
            io_uring_params.cq_entries(p, cqEntriesWanted);
        }
        io_uring_params.flags(p, f);
        if ((f & IoUring.IORING_SETUP_SQPOLL) != 0) io_uring_params.sq_thread_idle(p, sqThreadIdleMillis);
        int fd;
        try {
            fd = (int) (long) IoUring.io_uring_setup$mh.invokeExact(errno, (long) IoUring.__NR_io_uring_setup,
                    Integer.toUnsignedLong(entries), p);
        } catch (Throwable t) {
            arena.close();
            throw rethrow(t);
        }
        if (fd < 0) {
            int e = Errno.get(errno);
            arena.close();
            throw new ErrnoException("io_uring_setup(entries=" + entries + ", flags=0x" + Integer.toHexString(f) + ")" + hint(e), e);
        }
        this.ringFd = fd;
        this.setupFlags = f;
        this.features = io_uring_params.features(p);
        this.sqpoll = (f & IoUring.IORING_SETUP_SQPOLL) != 0;
        this.sqEntries = io_uring_params.sq_entries(p);
        this.cqEntries = io_uring_params.cq_entries(p);

        long sqArrayOff = io_uring_params.sq_off(p, io_sqring_offsets.array$OFFSET);
        long cqesOffset = io_uring_params.cq_off(p, io_cqring_offsets.cqes$OFFSET);
        long sqSize = sqArrayOff + (long) sqEntries * Integer.BYTES;
        long cqSize = cqesOffset + (long) cqEntries * CQE_SIZE;
        boolean single = (features & IoUring.IORING_FEAT_SINGLE_MMAP) != 0;
        if (single) sqSize = cqSize = Math.max(sqSize, cqSize);
        long sqA = 0, cqA = 0, sqeA = 0;
        try {
            sqA = map(fd, sqSize, IoUring.IORING_OFF_SQ_RING, "SQ ring");
            cqA = single ? sqA : map(fd, cqSize, IoUring.IORING_OFF_CQ_RING, "CQ ring");
            long sqesBytes = (long) sqEntries * SQE_SIZE;
            sqeA = map(fd, sqesBytes, IoUring.IORING_OFF_SQES, "SQE array");
            this.sqesSize = sqesBytes;
        } catch (RuntimeException e) {
            if (sqA != 0) unmap(sqA, sqSize);
            if (cqA != 0 && !single) unmap(cqA, cqSize);
            closeFd(fd);
            arena.close();
            throw e;
        }
        this.sqRingAddr = sqA;
        this.sqRingSize = sqSize;
        this.cqRingAddr = cqA;
        this.cqRingSize = single ? 0 : cqSize; // 0: shares the SQ mapping
        this.sqesAddr = sqeA;
        this.sqRing = MemorySegment.ofAddress(sqA).reinterpret(sqSize, arena, null);
        this.cqRing = single ? sqRing : MemorySegment.ofAddress(cqA).reinterpret(cqSize, arena, null);
        this.sqes = MemorySegment.ofAddress(sqeA).reinterpret(sqesSize, arena, null);

        this.sqHeadOff = io_uring_params.sq_off(p, io_sqring_offsets.head$OFFSET);
        this.sqTailOff = io_uring_params.sq_off(p, io_sqring_offsets.tail$OFFSET);
        this.sqFlagsOff = io_uring_params.sq_off(p, io_sqring_offsets.flags$OFFSET);
        this.sqDroppedOff = io_uring_params.sq_off(p, io_sqring_offsets.dropped$OFFSET);
        this.sqMask = sqRing.get(JAVA_INT, io_uring_params.sq_off(p, io_sqring_offsets.ring_mask$OFFSET));
        this.cqHeadOff = io_uring_params.cq_off(p, io_cqring_offsets.head$OFFSET);
        this.cqTailOff = io_uring_params.cq_off(p, io_cqring_offsets.tail$OFFSET);
        this.cqOverflowOff = io_uring_params.cq_off(p, io_cqring_offsets.overflow$OFFSET);
        this.cqesOff = cqesOffset;
        this.cqMask = cqRing.get(JAVA_INT, io_uring_params.cq_off(p, io_cqring_offsets.ring_mask$OFFSET));

        // SQEs are handed out in ring order, so the indirection array is the identity, set once
        for (int i = 0; i < sqEntries; i++) sqRing.set(JAVA_INT, sqArrayOff + 4L * i, i);
        this.sqTail = (int) INT.getAcquire(sqRing, sqTailOff);
        this.sqHeadCache = (int) INT.getAcquire(sqRing, sqHeadOff);
        this.cqHead = (int) INT.getAcquire(cqRing, cqHeadOff);
    }

    /**
     * Sets up a ring.
     *
     * @param entries            SQ size (rounded up to a power of two by the kernel)
     * @param cqEntries          CQ size, or 0 for the kernel's default (twice the SQ)
     * @param setupFlags         {@code IORING_SETUP_*} ({@code SQPOLL}, {@code IOPOLL}, ...)
     * @param sqThreadIdleMillis SQPOLL thread idle time before it sleeps (ignored without SQPOLL)
     * @throws ErrnoException when the kernel refuses (the message says why when it can tell)
     */
    public static Uring open(int entries, int cqEntries, int setupFlags, int sqThreadIdleMillis) {
        if (entries < 1) throw new IllegalArgumentException("ring entries must be >= 1: " + entries);
        return new Uring(entries, cqEntries, setupFlags, sqThreadIdleMillis);
    }

    public static Uring open(int entries) {
        return open(entries, 0, 0, 0);
    }

    private static String hint(int e) {
        return switch (e) {
            case Libc.ENOSYS -> " (kernel built without io_uring)";
            case Libc.EPERM -> " (io_uring disabled: see sysctl kernel.io_uring_disabled, or SQPOLL needs privileges)";
            case Libc.ENOMEM -> " (locked-memory limit too low: raise ulimit -l)";
            case Libc.EINVAL -> " (flag or size not supported by this kernel)";
            default -> "";
        };
    }

    private long map(int fd, long size, long offset, String what) {
        MemorySegment m;
        try {
            m = (MemorySegment) Libc.mmap$mh.invokeExact(errno, MemorySegment.NULL, size,
                    Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (m.address() == Libc.MAP_FAILED.address()) throw new ErrnoException("mmap of io_uring " + what, Errno.get(errno));
        return m.address();
    }

    private void unmap(long addr, long size) {
        try {
            int rc = (int) Libc.munmap$mh.invokeExact(errno, MemorySegment.ofAddress(addr), size);
            assert rc == 0 : "munmap failed";
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void closeFd(int fd) {
        try {
            int rc = (int) Libc.close$mh.invokeExact(errno, fd);
            assert rc == 0 || rc == -1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ------------------------------------------------------------------------------------ queries

    public int fd() { return ringFd; }

    public int features() { return features; }

    public boolean hasFeature(int feature) { return (features & feature) == feature; }

    public int setupFlags() { return setupFlags; }

    public int sqEntries() { return sqEntries; }

    public int cqEntries() { return cqEntries; }

    /** The mapped SQE array: SQE {@code i} of {@link #nextSqe()} starts at the returned byte offset. */
    public MemorySegment sqes() { return sqes; }

    /** SQEs that can be handed out before the SQ is full. */
    public int sqSpaceLeft() {
        sqHeadCache = (int) INT.getAcquire(sqRing, sqHeadOff);
        return sqEntries - (sqTail - sqHeadCache);
    }

    /** SQEs handed out and not yet consumed by the kernel. */
    public int sqPending() {
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOff);
    }

    /** CQEs ready to reap. */
    public int cqReady() {
        return (int) INT.getAcquire(cqRing, cqTailOff) - cqHead;
    }

    /** The kernel's count of completions it had to drop (0 with {@code IORING_FEAT_NODROP}). */
    public int cqOverflowCount() { return (int) INT.getAcquire(cqRing, cqOverflowOff); }

    /** The SQ flags word ({@code IORING_SQ_NEED_WAKEUP}, {@code IORING_SQ_CQ_OVERFLOW}, ...). */
    public int sqFlags() { return (int) INT.getAcquire(sqRing, sqFlagsOff); }

    /** Invalid SQEs the kernel dropped. */
    public int sqDropped() { return (int) INT.getAcquire(sqRing, sqDroppedOff); }

    // ------------------------------------------------------------------------------------ submission

    /**
     * Hands out the next free SQE: returns its byte offset in {@link #sqes()}, or -1 when the SQ
     * is full (submit, then retry). The caller must fill it completely (every {@link UringMacros}
     * prep does).
     */
    public long nextSqe() {
        if (sqTail - sqHeadCache >= sqEntries) {
            sqHeadCache = (int) INT.getAcquire(sqRing, sqHeadOff);
            if (sqTail - sqHeadCache >= sqEntries) return -1;
        }
        long at = (long) (sqTail & sqMask) * SQE_SIZE;
        sqTail++;
        return at;
    }

    public boolean prepNop(long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepNop(sqes, at, userData);
        return true;
    }

    public boolean prepRead(int fd, long bufAddr, int len, long offset, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepRead(sqes, at, fd, bufAddr, len, offset, userData);
        return true;
    }

    public boolean prepWrite(int fd, long bufAddr, int len, long offset, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepWrite(sqes, at, fd, bufAddr, len, offset, userData);
        return true;
    }

    public boolean prepReadFixed(int fd, long bufAddr, int len, long offset, int bufIndex, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepReadFixed(sqes, at, fd, bufAddr, len, offset, bufIndex, userData);
        return true;
    }

    public boolean prepWriteFixed(int fd, long bufAddr, int len, long offset, int bufIndex, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepWriteFixed(sqes, at, fd, bufAddr, len, offset, bufIndex, userData);
        return true;
    }

    public boolean prepFsync(int fd, int fsyncFlags, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepFsync(sqes, at, fd, fsyncFlags, userData);
        return true;
    }

    public boolean prepFallocate(int fd, int mode, long offset, long length, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepFallocate(sqes, at, fd, mode, offset, length, userData);
        return true;
    }

    public boolean prepCancel(long targetUserData, int cancelFlags, long userData) {
        long at = nextSqe();
        if (at < 0) return false;
        UringMacros.prepCancel(sqes, at, targetUserData, cancelFlags, userData);
        return true;
    }

    /** ORs {@code IOSQE_*} flags into the SQE handed out last. */
    public void flagLast(int sqeFlags) {
        UringMacros.addFlags(sqes, (long) ((sqTail - 1) & sqMask) * SQE_SIZE, sqeFlags);
    }

    /** Publishes the SQEs handed out so far (release store of the tail); returns how many the kernel has yet to consume. */
    public int flushSq() {
        INT.setRelease(sqRing, sqTailOff, sqTail);
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOff);
    }

    /**
     * Publishes and submits the pending SQEs with one {@code io_uring_enter} (with SQPOLL: wakes
     * the poller only if it sleeps). Returns the number submitted, or a negative errno
     * ({@code -EAGAIN}/{@code -EBUSY}: reap completions, then retry).
     */
    public int submit() {
        int toSubmit = flushSq();
        if (sqpoll) {
            VarHandle.fullFence();
            if ((sqFlags() & IoUring.IORING_SQ_NEED_WAKEUP) != 0) {
                int rc = enter(0, 0, IoUring.IORING_ENTER_SQ_WAKEUP, MemorySegment.NULL, 0);
                if (rc < 0) return rc;
            }
            return toSubmit;
        }
        if (toSubmit == 0) return 0;
        return enter(toSubmit, 0, 0, MemorySegment.NULL, 0);
    }

    /**
     * Submits pending SQEs (if any) and, in the same system call, runs completion work the kernel
     * deferred to this thread ({@code IORING_SETUP_DEFER_TASKRUN}), without waiting. Enters the
     * kernel only when there is something to submit or the {@code IORING_SQ_TASKRUN} flag is set.
     */
    public int submitAndRunTaskWork() {
        int toSubmit = flushSq();
        if (toSubmit == 0 && (sqFlags() & IoUring.IORING_SQ_TASKRUN) == 0) return 0;
        return enter(toSubmit, 0, IoUring.IORING_ENTER_GETEVENTS, MemorySegment.NULL, 0);
    }

    /** Submits pending SQEs and blocks until {@code minComplete} completions are ready. */
    public int submitAndWait(int minComplete) {
        int toSubmit = flushSq();
        int flags = IoUring.IORING_ENTER_GETEVENTS;
        if (sqpoll) {
            VarHandle.fullFence();
            if ((sqFlags() & IoUring.IORING_SQ_NEED_WAKEUP) != 0) flags |= IoUring.IORING_ENTER_SQ_WAKEUP;
            toSubmit = 0;
        }
        return enter(toSubmit, minComplete, flags, MemorySegment.NULL, 0);
    }

    /**
     * Submits pending SQEs and waits up to {@code timeoutNanos} for {@code minComplete}
     * completions ({@code IORING_ENTER_EXT_ARG}, kernel 5.11+). Returns what
     * {@code io_uring_enter} returns: submitted count, {@code -ETIME} on timeout, {@code -EINTR}.
     * Without EXT_ARG support it only submits (never blocks).
     */
    public int submitAndWait(int minComplete, long timeoutNanos) {
        if (!hasFeature(IoUring.IORING_FEAT_EXT_ARG)) return submit();
        int toSubmit = flushSq();
        int flags = IoUring.IORING_ENTER_GETEVENTS | IoUring.IORING_ENTER_EXT_ARG;
        if (sqpoll) {
            VarHandle.fullFence();
            if ((sqFlags() & IoUring.IORING_SQ_NEED_WAKEUP) != 0) flags |= IoUring.IORING_ENTER_SQ_WAKEUP;
            toSubmit = 0;
        }
        __kernel_timespec.setNanos(timespec, Math.max(0, timeoutNanos));
        geteventsArg.set(JAVA_LONG, io_uring_getevents_arg.sigmask$OFFSET, 0L);
        geteventsArg.set(JAVA_INT, io_uring_getevents_arg.sigmask_sz$OFFSET, 0);
        geteventsArg.set(JAVA_INT, io_uring_getevents_arg.pad$OFFSET, 0);
        io_uring_getevents_arg.ts(geteventsArg, timespec.address());
        return enter(toSubmit, minComplete, flags, geteventsArg, io_uring_getevents_arg.LAYOUT.byteSize());
    }

    /**
     * Asks the kernel to post completions without waiting ({@code GETEVENTS} with
     * {@code min_complete} 0): needed with IOPOLL, where completions are found only by polling,
     * and to flush a CQ overflow backlog.
     */
    public int getEvents() {
        return enter(0, 0, IoUring.IORING_ENTER_GETEVENTS, MemorySegment.NULL, 0);
    }

    /** Raw {@code io_uring_enter}: returns its result or a negative errno. */
    public int enter(int toSubmit, int minComplete, int flags, MemorySegment arg, long argSize) {
        long rc;
        try {
            rc = (long) IoUring.io_uring_enter$mh.invokeExact(errno, (long) IoUring.__NR_io_uring_enter, (long) ringFd,
                    Integer.toUnsignedLong(toSubmit), Integer.toUnsignedLong(minComplete), Integer.toUnsignedLong(flags), arg, argSize);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return rc < 0 ? -Errno.get(errno) : (int) rc;
    }

    // ------------------------------------------------------------------------------------ completion

    /**
     * Hands up to {@code max} ready completions to {@code handler}, in order, without blocking.
     * The CQ head is released before each callback, so the handler may submit (or reap) again.
     * When the CQ is empty but the kernel holds an overflow backlog, it is flushed into the CQ first.
     */
    public int reap(CqeHandler handler, int max) {
        int n = 0;
        boolean flushed = false;
        while (n < max) {
            int tail = (int) INT.getAcquire(cqRing, cqTailOff);
            if (tail == cqHead) {
                if (!flushed && (sqFlags() & IoUring.IORING_SQ_CQ_OVERFLOW) != 0) {
                    flushed = true;
                    getEvents();
                    continue;
                }
                break;
            }
            while (cqHead != tail && n < max) {
                long at = cqesOff + (long) (cqHead & cqMask) * CQE_SIZE;
                long ud = cqRing.get(JAVA_LONG, at + io_uring_cqe.user_data$OFFSET);
                int res = cqRing.get(JAVA_INT, at + io_uring_cqe.res$OFFSET);
                int fl = cqRing.get(JAVA_INT, at + io_uring_cqe.flags$OFFSET);
                cqHead++;
                INT.setRelease(cqRing, cqHeadOff, cqHead);
                n++;
                handler.onCqe(ud, res, fl);
            }
        }
        return n;
    }

    // ------------------------------------------------------------------------------------ registration

    /** {@code IORING_REGISTER_BUFFERS} with {@code count} iovecs at {@code iovecs}; 0 or a negative errno. */
    public int registerBuffers(MemorySegment iovecs, int count) {
        return register(IoUring.IORING_REGISTER_BUFFERS, iovecs, count);
    }

    public int unregisterBuffers() {
        return register(IoUring.IORING_UNREGISTER_BUFFERS, MemorySegment.NULL, 0);
    }

    /** {@code IORING_REGISTER_FILES} with {@code count} ints at {@code fds}; 0 or a negative errno. */
    public int registerFiles(MemorySegment fds, int count) {
        return register(IoUring.IORING_REGISTER_FILES, fds, count);
    }

    public int unregisterFiles() {
        return register(IoUring.IORING_UNREGISTER_FILES, MemorySegment.NULL, 0);
    }

    /** Raw {@code io_uring_register}: 0 (or a positive result) or a negative errno. */
    public int register(int opcode, MemorySegment arg, int nrArgs) {
        long rc;
        try {
            rc = (long) IoUring.io_uring_register$mh.invokeExact(errno, (long) IoUring.__NR_io_uring_register, (long) ringFd,
                    Integer.toUnsignedLong(opcode), arg, Integer.toUnsignedLong(nrArgs));
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return rc < 0 ? -Errno.get(errno) : (int) rc;
    }

    /** Unmaps the rings and closes the ring fd; the kernel finishes or cancels what is still in flight. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        unmap(sqesAddr, sqesSize);
        if (cqRingSize != 0) unmap(cqRingAddr, cqRingSize);
        unmap(sqRingAddr, sqRingSize);
        closeFd(ringFd);
        arena.close(); // from here on any use of this ring's segments throws instead of touching unmapped memory
    }

    public boolean isClosed() { return closed; }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }
}
