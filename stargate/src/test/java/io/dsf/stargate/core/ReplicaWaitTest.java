package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.replication.BatchReplicator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a shard waits for its replicas: once a batch is durable locally it waits in the replicator
 * ({@link BatchReplicator#await}) rather than in timed sleeps; a request published meanwhile ends
 * that wait through {@link BatchReplicator#wakeup}; the peers' answer completes the batch's writes;
 * and a replicator with nothing to move is polled at most once a millisecond (a transport's poll
 * may be a system call). The replicator here is one the test answers for: its wait ignores the
 * shard's timeout and ends only on a wake-up or an answer, so a missed wake-up hangs the test.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicaWaitTest {
    private static final long LONG_WAIT = TimeUnit.SECONDS.toNanos(30);

    /** Answers when the test says so; thread safe (the shard calls it, the test drives it). */
    static final class HeldReplicator implements BatchReplicator {
        final AtomicInteger replicated = new AtomicInteger(), awaits = new AtomicInteger(), wakeups = new AtomicInteger(),
                polls = new AtomicInteger();
        private final Object lock = new Object();
        private volatile int status = IDLE;
        private boolean woken, answered; // under lock
        volatile boolean waiting;

        @Override
        public void replicate(MemorySegment batch, int bytes, long segment, long segmentBytes, long offset) {
            replicated.incrementAndGet();
            status = PENDING;
        }

        @Override
        public int poll() {
            polls.incrementAndGet();
            synchronized (lock) {
                if (status == PENDING && answered) {
                    answered = false;
                    status = ACKED;
                    return 1;
                }
            }
            return 0;
        }

        @Override
        public int await(long timeoutNanos) {
            awaits.incrementAndGet();
            synchronized (lock) {
                long end = System.nanoTime() + LONG_WAIT;
                waiting = true;
                try {
                    while (!woken && !answered) {
                        long left = end - System.nanoTime();
                        if (left <= 0) break;
                        lock.wait(TimeUnit.NANOSECONDS.toMillis(left) + 1);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    waiting = false;
                }
                woken = false;
            }
            return poll();
        }

        @Override
        public void wakeup() {
            wakeups.incrementAndGet();
            synchronized (lock) {
                woken = true;
                lock.notifyAll();
            }
        }

        /** The peers answer the current batch. */
        void answer() {
            synchronized (lock) {
                answered = true;
                lock.notifyAll();
            }
        }

        @Override
        public boolean needsPolling() { return status == PENDING; }

        @Override
        public int status() { return status; }

        @Override
        public void close() { }
    }

    private static void until(BooleanSupplier c, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.onSpinWait();
        }
    }

    @Test
    void aShardWaitsInTheReplicatorAndANewRequestWakesIt(@TempDir Path dir) throws Exception {
        HeldReplicator rep = new HeldReplicator();
        StargateOptions opts = StargateOptions.defaults().withShards(1).withOplog(4L << 20, 16L << 20).withIdle("backoff");
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open("file:" + dir.resolve("dev.img") + "?size=256m");
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, opts, (vdisk, shard) -> rep);
            VDisk d = sg.create("d", 64L << 20);
            MemorySegment b1 = a.allocate(4096, 4096), b2 = a.allocate(4096, 4096);
            b1.fill((byte) 1);
            b2.fill((byte) 2);

            CompletableFuture<Integer> w1 = new CompletableFuture<>();
            assertEquals(VDiskStatus.OK, d.write(0, b1, 4096, 1, (t, s) -> w1.complete(s)));
            until(() -> rep.replicated.get() == 1 && rep.waiting, "the first batch durable here and its shard waiting for replicas");
            assertFalse(w1.isDone(), "no write is acknowledged before its replicas answer");

            // a request published while the shard waits in the replicator ends the wait there
            int wakeupsBefore = rep.wakeups.get(), awaitsBefore = rep.awaits.get();
            CompletableFuture<Integer> w2 = new CompletableFuture<>();
            assertEquals(VDiskStatus.OK, d.write(1L << 20, b2, 4096, 2, (t, s) -> w2.complete(s)));
            until(() -> rep.wakeups.get() > wakeupsBefore, "the publish to wake the replicator's wait");
            // the second write joins the next batch; the shard goes back to waiting for the first one's answer
            until(() -> rep.awaits.get() > awaitsBefore && rep.waiting, "the shard waiting again");
            assertEquals(1, rep.replicated.get(), "one batch in flight at a time");
            assertFalse(w1.isDone());

            rep.answer();
            assertEquals(VDiskStatus.OK, w1.get(20, TimeUnit.SECONDS));
            until(() -> rep.replicated.get() == 2 && rep.waiting, "the second batch sent");
            assertFalse(w2.isDone());
            rep.answer();
            assertEquals(VDiskStatus.OK, w2.get(20, TimeUnit.SECONDS));

            // nothing to move: the replicator is polled at most once a millisecond, however the shard idles
            until(() -> !rep.needsPolling(), "the replicator idle");
            int p0 = rep.polls.get();
            long t0 = System.nanoTime();
            Thread.sleep(200); // a measurement window, not a synchronisation
            int polls = rep.polls.get() - p0;
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(polls <= ms + 2, polls + " polls of an idle replicator in " + ms + " ms");

            MemorySegment r = a.allocate(4096, 4096);
            CompletableFuture<Integer> rd = new CompletableFuture<>();
            assertEquals(VDiskStatus.OK, d.read(1L << 20, r, 4096, 3, (t, s) -> rd.complete(s)));
            assertEquals(VDiskStatus.OK, rd.get(20, TimeUnit.SECONDS));
            assertEquals(-1, r.mismatch(b2));
            sg.close();
            store.close();
            dev.close();
        }
    }
}
