package io.dsf.blockstore.backend.uring;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.iovec;
import io.dsf.bindings.uring.Uring;
import io.dsf.bindings.uring.gen.IoUring;
import io.dsf.blockstore.io.RequestChecks;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.LockSupport;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One {@code uring:} queue: its own io_uring ring, created on and owned by the thread that opened
 * it. Requests live in a preallocated slot table (the SQE's {@code user_data} is the slot index;
 * the slot carries the caller's userData), so steady-state I/O allocates nothing. Submissions
 * batch in the SQ and reach the kernel with one {@code io_uring_enter} per {@link #submit()} /
 * {@link #poll}; {@link #poll} reaps the CQ without a system call. Buffers inside a region given to
 * {@link #registerBuffers} go as READ_FIXED / WRITE_FIXED; the device fd is a registered file.
 * Short transfers are resubmitted for the remainder. Owned by one thread; not thread safe.
 */
final class UringQueue implements DeviceQueue {
    private static final System.Logger LOG = System.getLogger(UringQueue.class.getName());

    /** Most queue depth one ring takes (the kernel's SQ limit is 32768 entries, one is kept for cancel). */
    static final int MAX_DEPTH = 16384;
    private static final long CANCEL_USER_DATA = -1L;
    private static final int MAX_REGIONS = 64;
    private static final long MAX_REGISTERED_CHUNK = 1L << 30; // the kernel's limit for one fixed buffer
    private static final long CLOSE_DRAIN_NANOS = 10_000_000_000L;

    private static final byte OP_READ = 1, OP_WRITE = 2, OP_FLUSH = 3, OP_TRIM = 4;

    private final UringBlockDevice device;
    private final Geometry geometry;
    private final CompletionHandler handler;
    private final int depth;
    private final Uring ring;
    /** The ring runs completion work only when this (owner) thread enters the kernel. */
    private final boolean deferredTaskRun;
    private static final int DEFERRED_TASKRUN_FLAGS = IoUring.IORING_SETUP_SINGLE_ISSUER | IoUring.IORING_SETUP_DEFER_TASKRUN
            | IoUring.IORING_SETUP_COOP_TASKRUN | IoUring.IORING_SETUP_TASKRUN_FLAG;
    private final Arena arena = Arena.ofShared();
    private final Uring.CqeHandler onCqe = this::onCqe;

    // I/O target: index 0 of the registered files, or the raw fd when registration failed
    private final int fileArg;
    private final int fileFlags;

    // slot table (index = user_data)
    private final long[] slotUserData;
    private final byte[] slotOp;
    private final long[] slotOffset;
    private final long[] slotAddr;
    private final long[] slotLength;
    private final long[] slotDone;
    private final int[] freeSlots;
    private int freeTop;
    private int inRing;           // slots whose SQE went to the ring and whose CQE has not been seen

    // completions produced without the ring (synchronous trim/flush, UNSUPPORTED)
    private final int[] localSlot;
    private final int[] localStatus;
    private int localHead, localCount; // a FIFO of at most depth entries (every entry holds a slot)

    // registered buffer regions: [base, end) -> fixed buffer index
    private final long[] regBase = new long[MAX_REGIONS];
    private final long[] regEnd = new long[MAX_REGIONS];
    private int regCount;
    private final MemorySegment discardRange;

    private boolean closing;
    private boolean closed;
    private boolean resubmitted;
    private int delivered;

    UringQueue(UringBlockDevice device, int depth, CompletionHandler handler) {
        if (depth > MAX_DEPTH) throw new IllegalArgumentException("uring: queue depth at most " + MAX_DEPTH + ": " + depth);
        this.device = device;
        this.geometry = device.geometry();
        this.handler = handler;
        this.depth = depth;
        int entries = Integer.highestOneBit(depth) << 1; // > depth: one SQE always left for cancel at close
        int flags = (device.sqpoll ? IoUring.IORING_SETUP_SQPOLL : 0) | (device.iopoll ? IoUring.IORING_SETUP_IOPOLL : 0);
        Uring r = null;
        boolean deferred = false;
        if (flags == 0) {
            // One owner thread per queue: completion work runs only when that thread enters the kernel
            // (no IPIs, batched task work, as fio sets up its rings); the TASKRUN flag tells poll() when.
            try {
                r = Uring.open(entries, 0, DEFERRED_TASKRUN_FLAGS, device.sqpollIdleMillis);
                deferred = true;
            } catch (ErrnoException e) {
                if (e.errno() != Libc.EINVAL) {
                    arena.close();
                    throw new DeviceException(IoError.fromErrno(e.errno()), device.uri(), "cannot create an io_uring for a queue of depth "
                            + depth + ": " + e.getMessage());
                }
                // kernel before 6.1: plain ring below
            }
        }
        if (r == null) {
            try {
                r = Uring.open(entries, 0, flags, device.sqpollIdleMillis);
            } catch (ErrnoException e) {
                arena.close();
                throw new DeviceException(IoError.fromErrno(e.errno()), device.uri(), "cannot create an io_uring for a queue of depth "
                        + depth + ": " + e.getMessage());
            }
        }
        this.ring = r;
        this.deferredTaskRun = deferred;
        MemorySegment fds = arena.allocate(JAVA_INT, 1);
        fds.set(JAVA_INT, 0, device.fd);
        if (ring.registerFiles(fds, 1) == 0) {
            fileArg = 0;
            fileFlags = IoUring.IOSQE_FIXED_FILE;
        } else {
            fileArg = device.fd;
            fileFlags = 0;
        }
        slotUserData = new long[depth];
        slotOp = new byte[depth];
        slotOffset = new long[depth];
        slotAddr = new long[depth];
        slotLength = new long[depth];
        slotDone = new long[depth];
        freeSlots = new int[depth];
        for (int i = 0; i < depth; i++) freeSlots[i] = depth - 1 - i;
        freeTop = depth;
        localSlot = new int[depth];
        localStatus = new int[depth];
        discardRange = arena.allocate(JAVA_LONG, 2);
    }

    // ------------------------------------------------------------------------------------ submission

    private int admit() {
        if (closing || device.isClosed()) return IoError.CLOSED.code();
        if (freeTop == 0) return IoError.QUEUE_FULL.code();
        return ACCEPTED;
    }

    private int takeSlot(byte op, long offset, long addr, long length, long userData) {
        int s = freeSlots[--freeTop];
        slotOp[s] = op;
        slotOffset[s] = offset;
        slotAddr[s] = addr;
        slotLength[s] = length;
        slotDone[s] = 0;
        slotUserData[s] = userData;
        return s;
    }

    private void returnSlot(int s) {
        freeSlots[freeTop++] = s;
    }

    @Override
    public int read(long offset, MemorySegment buffer, int length, long userData) {
        return rw(OP_READ, offset, buffer, length, userData);
    }

    @Override
    public int write(long offset, MemorySegment buffer, int length, long userData) {
        return rw(OP_WRITE, offset, buffer, length, userData);
    }

    private int rw(byte op, long offset, MemorySegment buffer, int length, long userData) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkRw(geometry, offset, buffer, length);
        if (st != ACCEPTED) return st;
        int s = takeSlot(op, offset, buffer.address(), length, userData);
        if (!prepRw(s)) {
            returnSlot(s);
            return IoError.QUEUE_FULL.code();
        }
        inRing++;
        return ACCEPTED;
    }

    /** Puts the (remaining part of the) transfer of slot {@code s} in an SQE; false when the SQ is full. */
    private boolean prepRw(int s) {
        long done = slotDone[s];
        long addr = slotAddr[s] + done;
        int len = (int) (slotLength[s] - done);
        long off = slotOffset[s] + done;
        int idx = fixedIndex(addr, len);
        boolean ok;
        if (slotOp[s] == OP_READ) {
            ok = idx >= 0 ? ring.prepReadFixed(fileArg, addr, len, off, idx, s) : ring.prepRead(fileArg, addr, len, off, s);
        } else {
            ok = idx >= 0 ? ring.prepWriteFixed(fileArg, addr, len, off, idx, s) : ring.prepWrite(fileArg, addr, len, off, s);
        }
        if (ok && fileFlags != 0) ring.flagLast(fileFlags);
        return ok;
    }

    /** The registered buffer holding [addr, addr+len), or -1. */
    private int fixedIndex(long addr, int len) {
        for (int i = 0; i < regCount; i++) {
            if (addr >= regBase[i] && addr <= regEnd[i] - len) return i;
        }
        return -1;
    }

    @Override
    public int flush(long userData) {
        int st = admit();
        if (st != ACCEPTED) return st;
        int s = takeSlot(OP_FLUSH, 0, 0, 0, userData);
        if (device.iopoll) { // the kernel cannot poll an fsync: run it here
            completeLocally(s, Libc.fdatasync(device.fd) == 0 ? 0 : errnoStatus(Errno.last()));
            return ACCEPTED;
        }
        if (!ring.prepFsync(fileArg, IoUring.IORING_FSYNC_DATASYNC, s)) {
            returnSlot(s);
            return IoError.QUEUE_FULL.code();
        }
        if (fileFlags != 0) ring.flagLast(fileFlags);
        inRing++;
        return ACCEPTED;
    }

    @Override
    public int trim(long offset, long length, long userData) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkTrim(geometry, offset, length);
        if (st != ACCEPTED) return st;
        int s = takeSlot(OP_TRIM, offset, 0, length, userData);
        if (!geometry.trimSupported()) {
            completeLocally(s, IoError.UNSUPPORTED.code());
        } else if (device.blockDevice) {
            discardRange.set(JAVA_LONG, 0, offset);
            discardRange.set(JAVA_LONG, 8, length);
            completeLocally(s, Libc.ioctl(device.fd, Libc.BLKDISCARD, discardRange) == 0 ? 0 : errnoStatus(Errno.last()));
        } else if (device.iopoll) {
            int rc = Libc.fallocate(device.fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, length);
            completeLocally(s, rc == 0 ? 0 : errnoStatus(Errno.last()));
        } else {
            if (!ring.prepFallocate(fileArg, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, offset, length, s)) {
                returnSlot(s);
                return IoError.QUEUE_FULL.code();
            }
            if (fileFlags != 0) ring.flagLast(fileFlags);
            inRing++;
        }
        return ACCEPTED;
    }

    private void completeLocally(int s, int status) {
        int i = localHead + localCount++;
        if (i >= depth) i -= depth;
        localSlot[i] = s;
        localStatus[i] = status;
    }

    private static int errnoStatus(int errno) {
        return errno == Libc.ECANCELED ? IoError.CLOSED.code() : IoError.fromErrno(errno).code();
    }

    @Override
    public int submit() {
        if (closed) return 0;
        return push();
    }

    private int push() {
        int rc = deferredTaskRun ? ring.submitAndRunTaskWork() : ring.submit();
        if (rc == -Libc.EINTR) rc = deferredTaskRun ? ring.submitAndRunTaskWork() : ring.submit();
        return Math.max(rc, 0); // -EAGAIN / -EBUSY: the SQEs stay queued and go with the next push
    }

    // ------------------------------------------------------------------------------------ completion

    @Override
    public int poll(int max) {
        if (closed || max <= 0) return 0;
        return pollInternal(max);
    }

    private int pollInternal(int max) {
        push();
        int start = delivered;
        while (localCount > 0 && delivered - start < max) {
            int i = localHead;
            localHead = i + 1 == depth ? 0 : i + 1;
            localCount--;
            complete(localSlot[i], localStatus[i]);
        }
        if (inRing > 0 && ring.cqReady() == 0
                && (device.iopoll || deferredTaskRun && (ring.sqFlags() & IoUring.IORING_SQ_TASKRUN) != 0)) {
            ring.getEvents(); // polled completions, or deferred task work waiting for this thread
        }
        while (delivered - start < max) {
            resubmitted = false;
            int n = ring.reap(onCqe, max - (delivered - start));
            if (resubmitted) push();
            if (n == 0) break;
        }
        return delivered - start;
    }

    private void onCqe(long userData, int res, int flags) {
        if (userData == CANCEL_USER_DATA) return; // the cancel request's own completion
        int s = (int) userData;
        if (s < 0 || s >= depth) {
            LOG.log(System.Logger.Level.ERROR, "{0}: completion with unknown user_data {1} (res {2}) ignored", device.uri(), userData, res);
            return;
        }
        inRing--;
        byte op = slotOp[s];
        int status;
        if (res < 0) {
            int e = -res;
            if ((e == Libc.EAGAIN || e == Libc.EINTR) && !closing && (op == OP_READ || op == OP_WRITE) && resubmit(s)) return;
            status = closing && (e == Libc.ECANCELED || e == Libc.EINTR || e == Libc.EAGAIN) ? IoError.CLOSED.code() : errnoStatus(e);
        } else if (op == OP_READ || op == OP_WRITE) {
            long remaining = slotLength[s] - slotDone[s];
            if (res >= remaining) {
                status = 0;
            } else if (res == 0) {
                status = IoError.IO_ERROR.code(); // no progress: the file shrank under us
            } else {
                slotDone[s] += res;
                if (!closing && resubmit(s)) return;
                status = closing ? IoError.CLOSED.code() : IoError.IO_ERROR.code();
            }
        } else {
            status = 0;
        }
        complete(s, status);
    }

    private boolean resubmit(int s) {
        if (!prepRw(s)) return false;
        inRing++;
        resubmitted = true;
        return true;
    }

    private void complete(int s, int status) {
        long ud = slotUserData[s];
        returnSlot(s);
        delivered++;
        handler.onComplete(ud, status);
    }

    @Override
    public int await(int max, long timeoutNanos) {
        if (closed || max <= 0) return 0;
        int n = pollInternal(max);
        if (n > 0 || timeoutNanos <= 0) return n;
        if (inRing == 0) {
            if (localCount == 0) LockSupport.parkNanos(timeoutNanos); // nothing can complete
            return pollInternal(max);
        }
        if (device.iopoll) {
            long deadline = System.nanoTime() + timeoutNanos;
            do {
                ring.getEvents();
                n = pollInternal(max);
            } while (n == 0 && System.nanoTime() - deadline < 0);
            return n;
        }
        ring.submitAndWait(1, timeoutNanos); // -ETIME / -EINTR just end the wait
        return pollInternal(max);
    }

    @Override public int inFlight() { return depth - freeTop; }

    @Override public int depth() { return depth; }

    @Override public BlockDevice device() { return device; }

    // ------------------------------------------------------------------------------------ registration

    /**
     * Registers {@code region} as fixed buffers of this ring (split into 1 GiB pieces), keeping the
     * regions registered before. Registration failure (for example the locked-memory limit) is
     * logged and I/O from the region simply goes unregistered.
     */
    @Override
    public void registerBuffers(MemorySegment region) {
        if (closing || region == null || !region.isNative() || region.byteSize() == 0) return;
        long base = region.address();
        long end = base + region.byteSize();
        for (int i = 0; i < regCount; i++) if (base >= regBase[i] && end <= regEnd[i]) return; // already covered
        long pieces = (region.byteSize() + MAX_REGISTERED_CHUNK - 1) / MAX_REGISTERED_CHUNK;
        if (regCount + pieces > MAX_REGIONS) {
            LOG.log(System.Logger.Level.WARNING, "{0}: more than {1} registered buffer regions; {2} bytes at 0x{3} stay unregistered",
                    device.uri(), MAX_REGIONS, region.byteSize(), Long.toHexString(base));
            return;
        }
        long[] nb = java.util.Arrays.copyOf(regBase, MAX_REGIONS);
        long[] ne = java.util.Arrays.copyOf(regEnd, MAX_REGIONS);
        int n = regCount;
        for (long at = base; at < end; at += MAX_REGISTERED_CHUNK) {
            nb[n] = at;
            ne[n] = Math.min(end, at + MAX_REGISTERED_CHUNK);
            n++;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment iovs = iovec.allocateArray(n, a);
            for (int i = 0; i < n; i++) {
                MemorySegment v = iovec.asSlice(iovs, i);
                iovec.iov_base(v, MemorySegment.ofAddress(nb[i]));
                iovec.iov_len(v, ne[i] - nb[i]);
            }
            if (regCount > 0) ring.unregisterBuffers();
            int rc = ring.registerBuffers(iovs, n);
            if (rc < 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: registering {1} bytes of I/O buffers failed ({2}); using unregistered I/O{3}",
                        device.uri(), end - base, Errno.describe(-rc), rc == -Libc.ENOMEM ? " (raise the locked-memory limit: ulimit -l)" : "");
                // the previous set was dropped: try to restore it
                regCount = regCount > 0 && restore(a, regCount) ? regCount : 0;
                return;
            }
        }
        System.arraycopy(nb, 0, regBase, 0, n);
        System.arraycopy(ne, 0, regEnd, 0, n);
        regCount = n;
    }

    private boolean restore(Arena a, int n) {
        MemorySegment iovs = iovec.allocateArray(n, a);
        for (int i = 0; i < n; i++) {
            MemorySegment v = iovec.asSlice(iovs, i);
            iovec.iov_base(v, MemorySegment.ofAddress(regBase[i]));
            iovec.iov_len(v, regEnd[i] - regBase[i]);
        }
        return ring.registerBuffers(iovs, n) == 0;
    }

    /** Registered buffer regions (for tests and diagnostics). */
    int registeredRegions() { return regCount; }

    /** Whether the device fd is a registered file of this ring. */
    boolean fixedFile() { return fileFlags != 0; }

    // ------------------------------------------------------------------------------------ close

    /**
     * Pushes what is queued, asks the kernel to cancel the rest (ASYNC_CANCEL of any request),
     * waits up to 10 s for every completion (delivered with its real status, or {@code CLOSED} when
     * cancelled), fails what is still missing with {@code CLOSED}, then unmaps the ring.
     */
    @Override
    public void close() {
        if (closed) return;
        closing = true;
        try {
            pollInternal(Integer.MAX_VALUE);
            if (inRing > 0) {
                push();
                if (ring.prepCancel(0, IoUring.IORING_ASYNC_CANCEL_ANY, CANCEL_USER_DATA)) push();
                long deadline = System.nanoTime() + CLOSE_DRAIN_NANOS;
                while (inRing > 0 && System.nanoTime() - deadline < 0) {
                    if (device.iopoll) ring.getEvents();
                    else ring.submitAndWait(1, 10_000_000L);
                    pollInternal(Integer.MAX_VALUE);
                }
            }
            pollInternal(Integer.MAX_VALUE);
            if (inRing > 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: {1} requests did not complete within {2} s of close; failing them with CLOSED",
                        device.uri(), inRing, CLOSE_DRAIN_NANOS / 1_000_000_000L);
                boolean[] free = new boolean[depth];
                for (int i = 0; i < freeTop; i++) free[freeSlots[i]] = true;
                for (int s = 0; s < depth; s++) if (!free[s]) complete(s, IoError.CLOSED.code());
                inRing = 0;
            }
            if (inRing == 0) {
                // drop the ring's references now: ring teardown in the kernel is asynchronous, and a registered
                // file still referenced by it would keep an exclusively opened block device busy after close
                if (fileFlags != 0) ring.unregisterFiles();
                if (regCount > 0) ring.unregisterBuffers();
                regCount = 0;
            }
        } finally {
            closed = true;
            ring.close();
            arena.close();
            device.onQueueClosed();
        }
    }
}
