package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.SpdkCompletionStub;
import io.dsf.bindings.spdk.SpdkCpl;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The one completion callback of the process. Every SPDK command carries, as its {@code cb_arg}, an
 * integer context {@code (queueId + 1) << 32 | slot} rather than a pointer to a Java object; the
 * callback (an FFM upcall stub created once, taking both pointers as {@code long} so nothing is
 * allocated) looks the queue up in a fixed table and hands it the slot and the raw status word.
 * SPDK runs the callback inside {@code spdk_nvme_qpair_process_completions}, so on the queue's owner
 * thread. Thread safe: the table is written on the control path and read with acquire semantics.
 */
final class SpdkCompletionRouter {
    private static final System.Logger LOG = System.getLogger(SpdkCompletionRouter.class.getName());
    static final int MAX_QUEUES = 1 << 16;

    private static final AtomicReferenceArray<SpdkQueue> QUEUES = new AtomicReferenceArray<>(MAX_QUEUES);
    private static final BitSet USED = new BitSet(MAX_QUEUES); // guarded by USED

    /** {@code void (*spdk_nvme_cmd_cb)(void *ctx, const struct spdk_nvme_cpl *cpl)}, for the life of the process. */
    static final MemorySegment STUB;

    static {
        try {
            STUB = SpdkCompletionStub.create(MethodHandles.lookup().findStatic(SpdkCompletionRouter.class, "onCompletion",
                    MethodType.methodType(void.class, long.class, long.class)), Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private SpdkCompletionRouter() {}

    static int register(SpdkQueue q, String uri) {
        synchronized (USED) {
            int id = USED.nextClearBit(0);
            if (id >= MAX_QUEUES) throw new DeviceException(IoError.OTHER, uri, "more than " + MAX_QUEUES + " SPDK queues open");
            USED.set(id);
            QUEUES.setRelease(id, q);
            return id;
        }
    }

    static void unregister(int id) {
        synchronized (USED) {
            QUEUES.setRelease(id, null);
            USED.clear(id);
        }
    }

    /** The {@code cb_arg} value of a command in {@code slot} of queue {@code id}; never 0. */
    static long context(int id, int slot) {
        return ((long) (id + 1) << 32) | (slot & 0xffff_ffffL);
    }

    /** The upcall target. Must never throw: an exception escaping an upcall ends the JVM. */
    private static void onCompletion(long ctx, long cpl) {
        try {
            int id = (int) (ctx >>> 32) - 1;
            SpdkQueue q = id >= 0 && id < MAX_QUEUES ? QUEUES.getAcquire(id) : null;
            if (q != null) q.onNativeCompletion((int) ctx, SpdkCpl.statusAt(cpl));
            else LOG.log(System.Logger.Level.ERROR, "SPDK completion for unknown context 0x{0}", Long.toHexString(ctx));
        } catch (Throwable t) {
            try {
                LOG.log(System.Logger.Level.ERROR, "SPDK completion callback failed", t);
            } catch (Throwable ignored) {
                // nothing can be allowed to escape into native code
            }
        }
    }
}
