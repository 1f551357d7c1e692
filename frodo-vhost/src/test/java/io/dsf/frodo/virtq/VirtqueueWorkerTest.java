package io.dsf.frodo.virtq;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The worker's duty cycle stepped by hand on a ring built in a memfd: call (interrupt) coalescing —
 * one interrupt per cycle that published completions, never one per completion — with and without
 * the event index, and the stop protocol (no new requests, wait for those in flight).
 */
class VirtqueueWorkerTest {
    static final long GPA = 0x100000;
    static final long UVA = 0x7000_0000_0000L;
    static final long BYTES = 1 << 20;
    static final int SIZE = 64;
    static final long DESC = 0, AVAIL = 0x1000, USED = 0x2000, DATA = 0x10000;

    Arena arena;
    int memfd, callFd;
    MemorySegment drv;
    GuestMemory mem;
    MemorySegment eight;
    int availIdx;
    /** A runner whose thread never starts: the test thread steps the worker. */
    QueueRunner idleRunner;

    /** Holds every request until the test completes it. */
    static final class Holding implements VirtqueueHandler {
        final List<VirtqRequest> held = new ArrayList<>();
        int stops;

        @Override public VirtqRequest newRequest() { return new VirtqRequest(4) {}; }
        @Override public void submit(VirtqRequest r) { held.add(r); }
        @Override public void onStop() { stops++; }

        int completeAll() {
            int n = held.size();
            for (VirtqRequest r : held) r.complete(1);
            held.clear();
            return n;
        }
    }

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        memfd = Errno.check(Libc.memfd_create(arena.allocateFrom("worker-test"), Libc.MFD_CLOEXEC), "memfd");
        Errno.check(Libc.ftruncate(memfd, BYTES), "ftruncate");
        MemorySegment m = Libc.mmap(MemorySegment.NULL, BYTES, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
        long a = m.address();
        drv = m.reinterpret(BYTES, arena, s -> Libc.munmap(MemorySegment.ofAddress(a), BYTES));
        mem = GuestMemory.map(new long[] {GPA}, new long[] {BYTES}, new long[] {UVA}, new long[] {0}, new int[] {memfd});
        callFd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        eight = arena.allocate(8, 8);
        idleRunner = new QueueRunner("test", IdleMode.BLOCK);
        // every descriptor: one 16-byte device-writable buffer
        for (int i = 0; i < SIZE; i++) {
            long at = DESC + 16L * i;
            drv.set(JAVA_LONG_UNALIGNED, at, GPA + DATA + 16L * i);
            drv.set(JAVA_INT_UNALIGNED, at + 8, 16);
            drv.set(JAVA_SHORT_UNALIGNED, at + 12, (short) SplitVirtqueue.VIRTQ_DESC_F_WRITE);
        }
    }

    @AfterEach
    void tearDown() {
        mem.close();
        Libc.close(memfd);
        Libc.close(callFd);
        idleRunner.close();
        arena.close();
    }

    VirtqueueWorker worker(Holding h, boolean eventIdx) {
        VirtqueueWorker w = new VirtqueueWorker("test", 0, h);
        w.setCallFd(callFd); // shared with the test, which reads it; the worker is never closed here
        w.configure(mem, SIZE, UVA + DESC, UVA + AVAIL, UVA + USED, 0, eventIdx, false, -1, -1, null, idleRunner);
        w.onAttach(Errno.segment());
        return w;
    }

    /** Makes {@code n} heads available with one store of the index, as a driver batching its requests. */
    void offer(int n) {
        for (int i = 0; i < n; i++) drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2L * ((availIdx + i) % SIZE), (short) ((availIdx + i) % SIZE));
        availIdx = (availIdx + n) & 0xffff;
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 2, (short) availIdx);
    }

    int usedIdx() { return Short.toUnsignedInt(drv.get(JAVA_SHORT_UNALIGNED, USED + 2)); }

    void usedEvent(int v) { drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2L * SIZE, (short) v); }

    /** Interrupts the guest received since the last call (the eventfd counter). */
    long calls() {
        long r = Libc.read(callFd, eight, 8);
        return r == 8 ? eight.get(JAVA_LONG, 0) : 0;
    }

    @Test
    void oneInterruptPerCycleThatPublishesCompletions() {
        Holding h = new Holding();
        VirtqueueWorker w = worker(h, true);
        offer(32);
        assertEquals(32, w.cycle(), "32 requests fetched and submitted");
        assertEquals(0, usedIdx());
        assertEquals(0, calls(), "nothing completed: no interrupt");
        assertEquals(32, h.completeAll());
        assertEquals(32, w.cycle());
        assertEquals(32, usedIdx(), "all 32 in the used ring");
        assertEquals(1, calls(), "one interrupt for 32 completions");
        assertEquals(32, w.completions());
        assertEquals(1, w.interrupts());
        // 3 rounds of 10: the driver asks (used_event) to hear about each round
        for (int round = 0; round < 3; round++) {
            offer(10);
            usedEvent(usedIdx());
            w.cycle();
            h.completeAll();
            w.cycle();
            assertEquals(1, calls(), "round " + round + ": one interrupt for 10 completions");
        }
        assertEquals(62, w.completions());
        assertEquals(4, w.interrupts());
        assertEquals(0, w.cycle(), "no work");
        assertEquals(0, calls(), "an idle cycle never interrupts");
    }

    @Test
    void eventIndexDefersTheInterruptUntilTheDriversMark() {
        Holding h = new Holding();
        VirtqueueWorker w = worker(h, true);
        offer(1);
        w.cycle();
        h.completeAll();
        w.cycle();
        assertEquals(1, calls(), "the first publication always interrupts");
        usedEvent(5); // interrupt once the used index passes 5
        for (int i = 0; i < 4; i++) {
            offer(1);
            w.cycle();
            h.completeAll();
            w.cycle();
        }
        assertEquals(5, usedIdx());
        assertEquals(0, calls(), "used 2..5 have not passed used_event 5");
        offer(1);
        w.cycle();
        h.completeAll();
        w.cycle();
        assertEquals(1, calls(), "used 6 passed used_event 5");
        assertEquals(6, w.completions());
        assertEquals(2, w.interrupts());
    }

    @Test
    void noInterruptFlagSuppressesWithoutEventIndex() {
        Holding h = new Holding();
        VirtqueueWorker w = worker(h, false);
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL, (short) SplitVirtqueue.VIRTQ_AVAIL_F_NO_INTERRUPT);
        offer(8);
        w.cycle();
        h.completeAll();
        w.cycle();
        assertEquals(8, usedIdx());
        assertEquals(0, calls(), "the driver polls: no interrupt");
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL, (short) 0);
        offer(8);
        w.cycle();
        h.completeAll();
        w.cycle();
        assertEquals(1, calls(), "interrupts back on: one for the batch of 8");
    }

    @Test
    void completionsFromAnotherThreadAreCoalescedIntoTheNextCycle() throws Exception {
        Holding h = new Holding();
        VirtqueueWorker w = worker(h, true);
        offer(48);
        w.cycle();
        Thread t = new Thread(h::completeAll);
        t.start();
        t.join();
        assertEquals(48, w.cycle());
        assertEquals(48, usedIdx());
        assertEquals(1, calls());
        // used ring follows completion order
        for (int i = 0; i < 48; i++) assertEquals(i, drv.get(JAVA_INT_UNALIGNED, USED + 4 + 8L * i));
    }

    @Test
    void stopWaitsForRequestsInFlightAndTakesNoNewOnes() {
        Holding h = new Holding();
        VirtqueueWorker w = worker(h, true);
        offer(4);
        w.cycle();
        w.requestStop();
        offer(4);
        assertEquals(0, w.cycle(), "stopping: nothing new is fetched, nothing completed yet");
        assertEquals(1, h.stops, "the handler heard about the stop once");
        assertTrue(w.readyToSleep(), "nothing to do until a completion arrives");
        h.completeAll();
        assertEquals(VirtqueueWorker.DETACH, w.cycle(), "drained: the worker leaves its runner");
        assertEquals(4, usedIdx());
        assertEquals(4, w.lastAvail(), "the 4 entries offered while stopping stay available");
        assertEquals(1, calls());
    }

    @Test
    void aLongBatchOfInlineCompletionsIsPublishedAsItGoesWithOneInterrupt() {
        int[] seenUsed = new int[32];
        int[] k = {0};
        VirtqueueHandler inline = new VirtqueueHandler() {
            @Override public VirtqRequest newRequest() { return new VirtqRequest(4) {}; }
            @Override public void submit(VirtqRequest r) {
                seenUsed[k[0]++] = usedIdx(); // what the driver can see when this request starts
                r.complete(1);
            }
        };
        VirtqueueWorker w = new VirtqueueWorker("test", 0, inline);
        w.setCallFd(callFd);
        w.configure(mem, SIZE, UVA + DESC, UVA + AVAIL, UVA + USED, 0, true, false, -1, -1, null, idleRunner);
        w.onAttach(Errno.segment());
        offer(32);
        assertTrue(w.cycle() >= 32, "work done");
        assertEquals(32, usedIdx());
        assertEquals(0, seenUsed[7], "the first 8 are not published before the 8th has completed");
        assertEquals(VirtqueueWorker.PUBLISH_EVERY, seenUsed[8], "the driver sees the first 8 while the rest are processed");
        assertEquals(24, seenUsed[31]);
        assertEquals(1, calls(), "still one interrupt for the batch (the driver asked for none after the first)");
    }

    /**
     * A queue started again while its runner's thread is leaving (its last agent just stopped, as in
     * a device reset or a reconnect): the thread must not close the epoll descriptor of whatever
     * serves the new start (it did: a new thread was started at once, the leaving one then closed the
     * new one's epoll descriptor, epoll_wait failed with EBADF and the queue broke). The leaving
     * thread is held in that window by a hook while the queue starts again.
     */
    @Test
    void aQueueStartedWhileItsRunnerLeavesIsServed() throws Exception {
        QueueRunner runner = new QueueRunner("restart-test", IdleMode.BLOCK);
        VirtqueueHandler inline = new VirtqueueHandler() {
            @Override public VirtqRequest newRequest() { return new VirtqRequest(4) {}; }
            @Override public void submit(VirtqRequest r) { r.complete(1); }
        };
        VirtqueueWorker w = new VirtqueueWorker("restart", 0, inline);
        w.setCallFd(-1);
        java.util.concurrent.CountDownLatch leaving = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch restarted = new java.util.concurrent.CountDownLatch(1);
        try {
            int last = 0;
            for (int round = 0; round < 3; round++) {
                if (round == 1) {
                    QueueRunner.leavingHook = () -> {
                        QueueRunner.leavingHook = null;
                        leaving.countDown();
                        try {
                            restarted.await(5, java.util.concurrent.TimeUnit.SECONDS);
                            Thread.sleep(50); // a new thread, if one was started, makes its epoll set meanwhile
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    };
                }
                w.start(mem, SIZE, UVA + DESC, UVA + AVAIL, UVA + USED, last, false, false, -1, -1, null, runner);
                if (round == 2) restarted.countDown();
                offer(1);
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (usedIdx() != availIdx) {
                    assertNull(w.failure(), "the worker failed");
                    assertTrue(System.nanoTime() < deadline, "the request was never served; " + w.state());
                    Thread.sleep(1);
                }
                Thread.sleep(100); // round 2: past the leaving thread's release, the queue still works
                offer(1);
                while (usedIdx() != availIdx) {
                    assertNull(w.failure(), "the worker failed after the leaving thread let go");
                    assertTrue(System.nanoTime() < deadline, "the second request was never served; " + w.state());
                    Thread.sleep(1);
                }
                last = w.stop(5000);
                assertNull(w.failure(), "the worker failed");
                assertFalse(w.broken(), "the queue broke");
                if (round == 1) assertTrue(leaving.await(5, java.util.concurrent.TimeUnit.SECONDS), "the runner thread left");
            }
        } finally {
            QueueRunner.leavingHook = null;
            if (w.running()) w.stop(5000);
            w.close();
            runner.close();
        }
    }
}
