package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.gen.spdk_nvme_h;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One attached NVMe controller ({@code struct spdk_nvme_ctrlr *}), shared by every device opened on
 * its transport id and reference counted by {@link SpdkEnvironment}. Its admin queue is polled by
 * the environment thread; its I/O qpairs belong to the queue threads. Once the admin queue fails
 * (keep-alive expired, target gone) the controller is lost for good: queues report
 * {@code DEVICE_LOST}; closing every device on it detaches it, and a later open reconnects.
 * Thread safe.
 */
final class SpdkController {
    private static final System.Logger LOG = System.getLogger(SpdkController.class.getName());

    final String key;
    final String trid;
    final MemorySegment ctrlr;
    private final ReentrantLock adminLock = new ReentrantLock();
    private volatile boolean failed;
    private boolean detached; // guarded by adminLock
    int refs;                 // guarded by SpdkEnvironment's lock

    SpdkController(String key, String trid, MemorySegment ctrlr) {
        this.key = key;
        this.trid = trid;
        this.ctrlr = ctrlr;
    }

    /** Whether the controller was lost; read by queues on every submission (one volatile read). */
    boolean isFailed() { return failed; }

    /**
     * Processes admin completions, which also sends keep-alives. Called on the environment thread;
     * never blocks behind {@link #detach()} (it skips the round instead).
     */
    void pollAdmin() {
        if (failed || !adminLock.tryLock()) return;
        try {
            if (detached) return;
            int rc = spdk_nvme_h.spdk_nvme_ctrlr_process_admin_completions(ctrlr);
            if (rc < 0) markFailed("admin queue failed (" + rc + ")");
        } finally {
            adminLock.unlock();
        }
    }

    void markFailed(String why) {
        if (failed) return;
        failed = true;
        LOG.log(System.Logger.Level.ERROR, "spdk controller {0} lost: {1}; its devices now report DEVICE_LOST", trid, why);
    }

    /** Detaches from SPDK once no device uses it; control path. */
    void detach() {
        adminLock.lock();
        try {
            if (detached) return;
            detached = true;
            int rc = spdk_nvme_h.spdk_nvme_detach(ctrlr);
            if (rc != 0) LOG.log(System.Logger.Level.WARNING, "spdk_nvme_detach({0}) returned {1}", trid, rc);
        } finally {
            adminLock.unlock();
        }
    }

    @Override
    public String toString() { return trid; }
}
