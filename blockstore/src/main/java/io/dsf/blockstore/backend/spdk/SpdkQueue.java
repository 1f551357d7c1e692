package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.SpdkCpl;
import io.dsf.bindings.spdk.SpdkErrno;
import io.dsf.bindings.spdk.gen.spdk_nvme_dsm_range;
import io.dsf.bindings.spdk.gen.spdk_nvme_h;
import io.dsf.blockstore.io.CompletionRing;
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

/**
 * One SPDK I/O qpair. Allocated in the constructor on the thread that opens the queue, which becomes
 * its owner: only that thread submits, polls and (normally) closes it; other threads get an
 * {@link IllegalStateException}. Every request occupies a slot of a table preallocated for
 * {@code depth} requests (user data, state and the {@code cb_arg} segment per slot), so the hot path
 * allocates nothing. Completions arrive through {@link SpdkCompletionRouter} inside
 * {@code spdk_nvme_qpair_process_completions}, called from {@link #poll}/{@link #await}/{@link #close};
 * requests the backend finishes itself (flush without a volatile cache, trim when unsupported, requests
 * lost with the controller) wait in a {@link CompletionRing}. Owned by one thread; not thread safe.
 */
final class SpdkQueue implements DeviceQueue {
    private static final System.Logger LOG = System.getLogger(SpdkQueue.class.getName());
    private static final long DRAIN_NANOS = Long.getLong("dsf.spdk.closeDrainMs", 2_000) * 1_000_000L;
    private static final long AWAIT_PARK_NANOS = 20_000;
    private static final int MAX_DSM_RANGES = 256;
    private static final long MAX_RANGE_BLOCKS = 1L << 30;

    private final SpdkBlockDevice device;
    private final SpdkController controller;
    private final Geometry geometry;
    private final MemorySegment ns;
    private final MemorySegment qpair;
    private final CompletionHandler handler;
    private final Thread owner;
    private final int depth;
    private final int blockShift;
    private final int routeId;
    private final Arena arena;
    private final MemorySegment dsmRanges;
    private final MemorySegment[] context;
    private final long[] userData;
    private final boolean[] busy;
    private final int[] freeSlots;
    private final CompletionRing local;

    private int freeTop;
    private int nativeInFlight;
    private int delivered;       // completions handed to the handler during one process_completions call
    private boolean polling;     // inside process_completions or free_io_qpair: callbacks may reach the handler
    private boolean closing;     // aborts now mean CLOSED
    private boolean closed;
    private boolean lost;        // the qpair failed: no more submissions
    private boolean closeDeferred; // close() called from a handler during process_completions
    private RuntimeException handlerFailure;

    SpdkQueue(SpdkBlockDevice device, SpdkController controller, MemorySegment ns, int depth, CompletionHandler handler) {
        this.device = device;
        this.controller = controller;
        this.geometry = device.geometry();
        this.ns = ns;
        this.handler = handler;
        this.depth = depth;
        this.owner = Thread.currentThread();
        this.blockShift = Integer.numberOfTrailingZeros(geometry.blockSize());
        this.userData = new long[depth];
        this.busy = new boolean[depth];
        this.freeSlots = new int[depth];
        for (int i = 0; i < depth; i++) freeSlots[i] = depth - 1 - i;
        this.freeTop = depth;
        this.local = new CompletionRing(depth);
        this.context = new MemorySegment[depth];
        this.arena = Arena.ofShared();
        this.dsmRanges = arena.allocate(spdk_nvme_dsm_range.SIZEOF * MAX_DSM_RANGES, 8);
        if (controller.isFailed()) {
            arena.close();
            throw new DeviceException(IoError.DEVICE_LOST, device.uri(), "controller lost; close and reopen the device");
        }
        MemorySegment qp = spdk_nvme_h.spdk_nvme_ctrlr_alloc_io_qpair(controller.ctrlr, MemorySegment.NULL, 0);
        if (qp.equals(MemorySegment.NULL)) {
            arena.close();
            throw new DeviceException(controller.isFailed() ? IoError.DEVICE_LOST : IoError.OTHER, device.uri(),
                    "spdk_nvme_ctrlr_alloc_io_qpair failed (controller out of I/O queues, or disconnected)");
        }
        this.qpair = qp;
        int id;
        try {
            id = SpdkCompletionRouter.register(this, device.uri());
        } catch (RuntimeException e) {
            spdk_nvme_h.spdk_nvme_ctrlr_free_io_qpair(qp);
            arena.close();
            throw e;
        }
        this.routeId = id;
        for (int i = 0; i < depth; i++) context[i] = MemorySegment.ofAddress(SpdkCompletionRouter.context(id, i));
    }

    // ------------------------------------------------------------------ submission (owner thread)

    private int admit() {
        if (Thread.currentThread() != owner) throw wrongThread();
        if (closed || device.isClosed()) return IoError.CLOSED.code();
        if (lost || controller.isFailed()) return IoError.DEVICE_LOST.code();
        if (nativeInFlight + local.size() >= depth) return IoError.QUEUE_FULL.code();
        return ACCEPTED;
    }

    private int admitRw(long offset, MemorySegment buffer, int length) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkRw(geometry, offset, buffer, length);
        if (st == ACCEPTED && !device.isDma(buffer.address(), length)) st = IoError.BAD_BUFFER.code();
        return st;
    }

    private int take(long data) {
        int slot = freeSlots[--freeTop];
        busy[slot] = true;
        userData[slot] = data;
        nativeInFlight++;
        return slot;
    }

    private void free(int slot) {
        busy[slot] = false;
        freeSlots[freeTop++] = slot;
        nativeInFlight--;
    }

    private int submitted(int slot, int rc) {
        if (rc == 0) return ACCEPTED;
        free(slot);
        int st = SpdkStatus.ofSubmission(rc);
        if (st == IoError.DEVICE_LOST.code()) lost = true;
        return st;
    }

    @Override
    public int read(long offset, MemorySegment buffer, int length, long data) {
        int st = admitRw(offset, buffer, length);
        if (st != ACCEPTED) return st;
        int slot = take(data);
        return submitted(slot, spdk_nvme_h.spdk_nvme_ns_cmd_read(ns, qpair, buffer, offset >>> blockShift,
                length >>> blockShift, SpdkCompletionRouter.STUB, context[slot], 0));
    }

    @Override
    public int write(long offset, MemorySegment buffer, int length, long data) {
        int st = admitRw(offset, buffer, length);
        if (st != ACCEPTED) return st;
        int slot = take(data);
        return submitted(slot, spdk_nvme_h.spdk_nvme_ns_cmd_write(ns, qpair, buffer, offset >>> blockShift,
                length >>> blockShift, SpdkCompletionRouter.STUB, context[slot], 0));
    }

    @Override
    public int flush(long data) {
        int st = admit();
        if (st != ACCEPTED) return st;
        if (!geometry.volatileCache()) { // nothing to flush: durable at write completion
            local.offer(data, 0);
            return ACCEPTED;
        }
        int slot = take(data);
        return submitted(slot, spdk_nvme_h.spdk_nvme_ns_cmd_flush(ns, qpair, SpdkCompletionRouter.STUB, context[slot]));
    }

    @Override
    public int trim(long offset, long length, long data) {
        int st = admit();
        if (st == ACCEPTED) st = RequestChecks.checkTrim(geometry, offset, length);
        if (st != ACCEPTED) return st;
        if (!geometry.trimSupported()) {
            local.offer(data, IoError.UNSUPPORTED.code());
            return ACCEPTED;
        }
        long lba = offset >>> blockShift;
        long blocks = length >>> blockShift;
        if (blocks > MAX_RANGE_BLOCKS * MAX_DSM_RANGES) return IoError.TOO_LARGE.code();
        int n = 0;
        while (blocks > 0) {
            long len = Math.min(blocks, MAX_RANGE_BLOCKS);
            spdk_nvme_dsm_range.set(dsmRanges, n++, 0, (int) len, lba);
            lba += len;
            blocks -= len;
        }
        int slot = take(data);
        // SPDK copies the ranges before returning, so one scratch array per queue suffices
        return submitted(slot, spdk_nvme_h.spdk_nvme_ns_cmd_dataset_management(ns, qpair,
                spdk_nvme_h.SPDK_NVME_DSM_ATTR_DEALLOCATE, dsmRanges, (short) n, SpdkCompletionRouter.STUB, context[slot]));
    }

    /** SPDK submits at once (the doorbell or socket write happens in the submission call). */
    @Override
    public int submit() {
        if (Thread.currentThread() != owner) throw wrongThread();
        return 0;
    }

    // ------------------------------------------------------------------ completion (owner thread)

    /** Called by {@link SpdkCompletionRouter} from inside a process_completions / free_io_qpair call. */
    void onNativeCompletion(int slot, int rawStatus) {
        if (slot < 0 || slot >= depth || !busy[slot]) return; // already failed locally when the qpair was lost
        long data = userData[slot];
        free(slot);
        int status = SpdkStatus.ofCompletion(rawStatus, closing);
        if (status == IoError.IO_ERROR.code() || status == IoError.OTHER.code())
            LOG.log(System.Logger.Level.WARNING, "{0}: command failed: {1}", device.uri(), SpdkCpl.describe(rawStatus));
        if (!polling) { // never reach the handler outside poll/await/close
            local.offer(data, status);
            return;
        }
        delivered++;
        try {
            handler.onComplete(data, status);
        } catch (RuntimeException | Error e) {
            // cannot propagate through native frames: rethrown once process_completions returns
            if (handlerFailure == null) handlerFailure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            else handlerFailure.addSuppressed(e);
        }
    }

    private int processNative(int max) {
        if (polling) return 0; // poll() from inside a completion handler: the outer call delivers
        delivered = 0;
        polling = true;
        int rc;
        try {
            rc = spdk_nvme_h.spdk_nvme_qpair_process_completions(qpair, max);
        } finally {
            polling = false;
        }
        if (rc < 0) qpairFailed(rc);
        int n = delivered;
        if (closeDeferred) { // close() was called by a handler inside process_completions
            closeDeferred = false;
            try {
                doClose();
            } catch (RuntimeException e) {
                handlerFailure = first(handlerFailure, e);
            }
        }
        RuntimeException f = handlerFailure;
        if (f != null) {
            handlerFailure = null;
            throw f;
        }
        return n;
    }

    /** The qpair failed (-ENXIO: controller disconnected): requests still in flight fail with DEVICE_LOST. */
    private void qpairFailed(int rc) {
        if (!lost) LOG.log(System.Logger.Level.ERROR, "{0}: spdk_nvme_qpair_process_completions returned {1}; queue lost",
                device.uri(), rc);
        lost = true;
        if (rc == -SpdkErrno.ENXIO) controller.markFailed("I/O qpair disconnected");
        int status = closing ? IoError.CLOSED.code() : IoError.DEVICE_LOST.code();
        for (int slot = 0; slot < depth; slot++) {
            if (!busy[slot]) continue;
            long data = userData[slot];
            free(slot);
            local.offer(data, status);
        }
    }

    @Override
    public int poll(int max) {
        if (Thread.currentThread() != owner) throw wrongThread();
        if (max <= 0) return 0;
        int n = local.deliver(handler, max);
        if (n < max && nativeInFlight > 0) {
            n += processNative(max - n);
            if (n < max) n += local.deliver(handler, max - n);
        }
        return n;
    }

    /** SPDK is poll mode: there is nothing to block on, so this polls, spinning briefly, then parking in short steps. */
    @Override
    public int await(int max, long timeoutNanos) {
        int n = poll(max);
        if (n > 0 || timeoutNanos <= 0 || inFlight() == 0) return n;
        long deadline = System.nanoTime() + timeoutNanos;
        for (int spins = 0; ; spins++) {
            if (spins < 64) Thread.onSpinWait();
            else LockSupport.parkNanos(Math.min(AWAIT_PARK_NANOS, Math.max(1, deadline - System.nanoTime())));
            n = poll(max);
            if (n > 0 || inFlight() == 0 || System.nanoTime() - deadline >= 0) return n;
        }
    }

    @Override public int inFlight() { return nativeInFlight + local.size(); }

    @Override public int depth() { return depth; }

    @Override public BlockDevice device() { return device; }

    /**
     * Drains (polls for up to {@code dsf.spdk.closeDrainMs}, default 2 s), then frees the qpair: SPDK
     * aborts what is still outstanding and those requests complete with {@code CLOSED}. Runs on the
     * owner thread; another thread may close the queue only once the owner has stopped using it (it
     * then skips draining, and the completions are delivered on the closing thread).
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (polling) { // called by a completion handler: SPDK cannot free a qpair from its own callback
            closeDeferred = true;
            return;
        }
        doClose();
    }

    private void doClose() {
        boolean onOwner = Thread.currentThread() == owner;
        RuntimeException failure = null;
        try {
            if (onOwner) {
                long deadline = System.nanoTime() + DRAIN_NANOS;
                int idle = 0;
                while (nativeInFlight > 0 && !lost && System.nanoTime() - deadline < 0) {
                    try {
                        if (processNative(0) > 0) idle = 0;
                        else if (idle++ > 64) LockSupport.parkNanos(AWAIT_PARK_NANOS);
                    } catch (RuntimeException e) {
                        failure = first(failure, e);
                    }
                }
            }
            closing = true;
            polling = onOwner;
            try {
                int rc = spdk_nvme_h.spdk_nvme_ctrlr_free_io_qpair(qpair);
                if (rc != 0) LOG.log(System.Logger.Level.WARNING, "{0}: spdk_nvme_ctrlr_free_io_qpair returned {1}", device.uri(), rc);
            } finally {
                polling = false;
            }
            if (handlerFailure != null) {
                failure = first(failure, handlerFailure);
                handlerFailure = null;
            }
            for (int slot = 0; slot < depth; slot++) { // SPDK did not report them: they end here
                if (!busy[slot]) continue;
                long data = userData[slot];
                free(slot);
                local.offer(data, IoError.CLOSED.code());
            }
            while (local.size() > 0) { // every request completes exactly once, even if the handler throws
                try {
                    local.deliver(handler, Integer.MAX_VALUE);
                } catch (RuntimeException e) {
                    failure = first(failure, e);
                }
            }
        } finally {
            SpdkCompletionRouter.unregister(routeId);
            arena.close();
            device.queueClosedBy(this);
        }
        if (failure != null) throw failure;
    }

    private static RuntimeException first(RuntimeException first, RuntimeException next) {
        if (first == null) return next;
        if (first != next) first.addSuppressed(next);
        return first;
    }

    private IllegalStateException wrongThread() {
        return new IllegalStateException(device.uri() + ": SPDK queue owned by thread '" + owner.getName()
                + "' used from '" + Thread.currentThread().getName() + "' (a qpair belongs to one thread)");
    }
}
