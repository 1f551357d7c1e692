package io.dsf.stargate.scsi;

import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, I_T NEXUS RESET, QUERY TASK: what waits for what. */
class TaskManagementTest {
    private ScsiRig rig;
    private ScriptedVDisk disk, other;
    private final ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void setUp() {
        rig = new ScsiRig(ScsiTargetConfig.defaults().withBounce(8192, 1));
        disk = new ScriptedVDisk("tmf", 1 << 24, 8192, false);
        other = new ScriptedVDisk("other", 1 << 24, 8192, false);
        rig.attach(0, disk);
        rig.attach(1, other);
    }

    @AfterEach
    void tearDown() {
        assertEquals(0, rig.target.internalErrors());
        rig.close();
    }

    private ScsiTask task(ScsiNexus n, String name) {
        ScsiTask t = n.newTask(8);
        t.callback(x -> events.add(name + ":" + ScsiStatus.describe(x.status())));
        return t;
    }

    private ScsiTmf tmf(int function, int lun, long tag) {
        return new ScsiTmf().set(function, lun, tag, m -> events.add("tmf:" + m.response() + ":" + m.tasksAborted()));
    }

    private void read(ScsiTask t, int lun, long tag, MemorySegment... segs) {
        t.reset().lun(lun).tag(tag).cdb(rw10(false, 0, (int) (java.util.Arrays.stream(segs).mapToLong(MemorySegment::byteSize).sum() / 4096)), 0, 10)
                .direction(ScsiTask.DATA_IN);
        for (MemorySegment s : segs) t.addSegment(s, s.byteSize());
        t.nexus().execute(t);
    }

    @Test
    void abortTaskWaitsForSubmittedRequestsThenReportsAborted() {
        ScsiTask t = task(rig.nexus, "t");
        disk.hold = true;
        read(t, 0, 77, rig.buffer(4096, (byte) 0), rig.buffer(4096, (byte) 0), rig.buffer(4096, (byte) 0));
        assertEquals(3, disk.heldCount());
        ScsiTmf m = tmf(ScsiTmf.ABORT_TASK, 0, 77);
        rig.nexus.taskManagement(m);
        assertTrue(events.isEmpty(), "neither completes while vDisk requests are in flight: " + events);
        disk.releaseFirst();
        disk.releaseFirst();
        assertTrue(events.isEmpty());
        disk.releaseFirst();
        assertEquals(List.of("t:TASK ABORTED", "tmf:0:1"), List.copyOf(events), "the task's completion comes first");
        assertTrue(t.aborted());
        assertEquals(0, t.transferred());
        assertEquals(0, t.senseLength());
        assertEquals(ScsiTmf.FUNCTION_COMPLETE, m.response());
        // the task is reusable
        disk.hold = false;
        events.clear();
        read(t, 0, 78, rig.buffer(4096, (byte) 0));
        assertEquals(List.of("t:GOOD"), List.copyOf(events));
    }

    @Test
    void abortedBounceCommandSubmitsNoFurtherRounds() {
        ScsiTask t = task(rig.nexus, "t");
        disk.hold = true;
        read(t, 0, 5, rig.buffer(100, (byte) 0), rig.buffer(8 * 4096 - 100, (byte) 0)); // 32 KiB in rounds of 8 KiB
        assertEquals(1, disk.heldCount(), "first round in flight");
        rig.nexus.taskManagement(tmf(ScsiTmf.ABORT_TASK, 0, 5));
        disk.releaseAll();
        assertEquals(0, disk.heldCount(), "no second round");
        assertEquals(1, disk.count(ScriptedVDisk.Op.READ));
        assertEquals(List.of("t:TASK ABORTED", "tmf:0:1"), List.copyOf(events));
        assertEquals(1, rig.target.bounceBuffersAvailable());
    }

    @Test
    void abortWhileWaitingForABounceBuffer() {
        ScsiTask a = task(rig.nexus, "a"), b = task(rig.nexus, "b");
        disk.hold = true;
        read(a, 0, 1, rig.buffer(100, (byte) 0), rig.buffer(4096 - 100, (byte) 0)); // takes the only bounce buffer
        read(b, 0, 2, rig.buffer(100, (byte) 0), rig.buffer(4096 - 100, (byte) 0)); // waits
        assertEquals(1, disk.heldCount());
        assertEquals(1, rig.target.bounceWaits());
        rig.nexus.taskManagement(tmf(ScsiTmf.ABORT_TASK, 0, 2));
        assertEquals(List.of("b:TASK ABORTED", "tmf:0:1"), List.copyOf(events), "nothing in flight: aborted at once");
        disk.hold = false;
        disk.releaseAll();
        assertEquals(List.of("b:TASK ABORTED", "tmf:0:1", "a:GOOD"), List.copyOf(events));
        assertEquals(1, rig.target.bounceBuffersAvailable(), "the buffer went back to the pool, not to the aborted waiter");
    }

    @Test
    void releasedBounceBufferGoesToTheWaiter() {
        ScsiTask a = task(rig.nexus, "a"), b = task(rig.nexus, "b");
        disk.poke(0, ReadWriteTest.pattern(4096, 9));
        disk.hold = true;
        MemorySegment b1 = rig.buffer(100, (byte) 0), b2 = rig.buffer(4096 - 100, (byte) 0);
        read(a, 0, 1, rig.buffer(100, (byte) 0), rig.buffer(4096 - 100, (byte) 0));
        read(b, 0, 2, b1, b2);
        disk.hold = false;
        disk.releaseAll(); // a finishes, hands the buffer to b, whose read now runs inline
        assertEquals(List.of("a:GOOD", "b:GOOD"), List.copyOf(events));
        assertEquals(ReadWriteTest.pattern(4096, 9)[150], b2.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 50));
        assertEquals(1, rig.target.bounceBuffersAvailable());
    }

    @Test
    void abortOfNothingCompletesAtOnce() {
        ScsiTmf m = tmf(ScsiTmf.ABORT_TASK, 0, 999);
        rig.nexus.taskManagement(m);
        assertEquals(List.of("tmf:0:0"), List.copyOf(events));
        ScsiTask t = task(rig.nexus, "t");
        read(t, 0, 4, rig.buffer(4096, (byte) 0));
        events.clear();
        rig.nexus.taskManagement(tmf(ScsiTmf.ABORT_TASK, 0, 4));
        assertEquals(List.of("tmf:0:0"), List.copyOf(events), "a completed task is not aborted");
        rig.nexus.taskManagement(tmf(ScsiTmf.LOGICAL_UNIT_RESET, 9, 0));
        assertTrue(events.contains("tmf:" + ScsiTmf.INCORRECT_LUN + ":0"));
        rig.nexus.taskManagement(tmf(99, 0, 0));
        assertTrue(events.contains("tmf:" + ScsiTmf.FUNCTION_REJECTED + ":0"));
    }

    @Test
    void abortTaskMatchesTagAndLun() {
        ScsiTask t0 = task(rig.nexus, "t0"), t1 = task(rig.nexus, "t1");
        disk.hold = true;
        other.hold = true;
        read(t0, 0, 10, rig.buffer(4096, (byte) 0));
        read(t1, 1, 10, rig.buffer(4096, (byte) 0));
        ScsiTmf m = tmf(ScsiTmf.ABORT_TASK, 1, 10);
        rig.nexus.taskManagement(m);
        other.releaseAll();
        disk.releaseAll();
        assertEquals(List.of("t1:TASK ABORTED", "tmf:0:1", "t0:GOOD"), List.copyOf(events));
    }

    @Test
    void logicalUnitResetAbortsEveryNexusOnThatLunAndRaisesUnitAttention() {
        ScsiNexus n2 = rig.target.openNexus("second");
        ScsiTask a = task(rig.nexus, "a"), b = task(n2, "b"), c = task(rig.nexus, "c");
        disk.hold = true;
        other.hold = true;
        read(a, 0, 1, rig.buffer(4096, (byte) 0));
        read(b, 0, 1, rig.buffer(4096, (byte) 0));
        read(c, 1, 2, rig.buffer(4096, (byte) 0));
        ScsiTmf m = tmf(ScsiTmf.LOGICAL_UNIT_RESET, 0, 0);
        rig.nexus.taskManagement(m);
        disk.releaseAll();
        assertEquals(2, m.tasksAborted());
        assertTrue(events.containsAll(List.of("a:TASK ABORTED", "b:TASK ABORTED", "tmf:0:2")), events::toString);
        other.releaseAll();
        assertTrue(events.contains("c:GOOD"), "LUN 1 untouched");
        disk.hold = false;
        other.hold = false;
        ScsiRig.Result ua = rig.none(0, testUnitReady());
        assertCheck(ua, ScsiSense.UNIT_ATTENTION, ScsiSense.BUS_DEVICE_RESET_FUNCTION_OCCURRED);
        assertTrue(rig.none(0, testUnitReady()).good());
        assertTrue(rig.none(1, testUnitReady()).good());
        events.clear();
        read(b, 0, 3, rig.buffer(4096, (byte) 0));
        assertEquals(List.of("b:CHECK CONDITION"), List.copyOf(events), "the other nexus gets its own unit attention");
        assertEquals(ScsiSense.BUS_DEVICE_RESET_FUNCTION_OCCURRED, b.ascAscq());
    }

    @Test
    void abortTaskSetIsPerNexusClearTaskSetIsNot() {
        ScsiNexus n2 = rig.target.openNexus("second");
        ScsiTask a = task(rig.nexus, "a"), b = task(n2, "b");
        disk.hold = true;
        read(a, 0, 1, rig.buffer(4096, (byte) 0));
        read(b, 0, 1, rig.buffer(4096, (byte) 0));
        ScsiTmf set = tmf(ScsiTmf.ABORT_TASK_SET, 0, 0);
        rig.nexus.taskManagement(set);
        assertEquals(1, set.tasksAborted());
        ScsiTmf clear = tmf(ScsiTmf.CLEAR_TASK_SET, 0, 0);
        n2.taskManagement(clear);
        assertEquals(1, clear.tasksAborted(), "a is already being aborted: only b is claimed");
        disk.releaseAll();
        assertTrue(events.containsAll(List.of("a:TASK ABORTED", "b:TASK ABORTED", "tmf:0:1")), events::toString);
        assertEquals(2, events.stream().filter(e -> e.startsWith("tmf:")).count());
    }

    @Test
    void queryTaskAndNexusReset() {
        ScsiTask t = task(rig.nexus, "t");
        disk.hold = true;
        read(t, 0, 42, rig.buffer(4096, (byte) 0));
        ScsiTmf q = tmf(ScsiTmf.QUERY_TASK, 0, 42);
        rig.nexus.taskManagement(q);
        assertEquals(ScsiTmf.FUNCTION_SUCCEEDED, q.response());
        rig.nexus.taskManagement(q.set(ScsiTmf.QUERY_TASK, 0, 43, m -> { }));
        assertEquals(ScsiTmf.FUNCTION_COMPLETE, q.response());
        ScsiTmf qs = tmf(ScsiTmf.QUERY_TASK_SET, 0, 0);
        rig.nexus.taskManagement(qs);
        assertEquals(ScsiTmf.FUNCTION_SUCCEEDED, qs.response());
        ScsiTmf reset = tmf(ScsiTmf.I_T_NEXUS_RESET, 0, 0);
        rig.nexus.taskManagement(reset);
        disk.releaseAll();
        assertEquals(1, reset.tasksAborted());
        assertTrue(t.aborted());
        disk.hold = false;
        assertCheck(rig.none(1, testUnitReady()), ScsiSense.UNIT_ATTENTION, ScsiSense.I_T_NEXUS_LOSS_OCCURRED);
        assertCheck(rig.none(0, testUnitReady()), ScsiSense.UNIT_ATTENTION, ScsiSense.I_T_NEXUS_LOSS_OCCURRED);
        assertTrue(rig.none(0, testUnitReady()).good());
    }

    /**
     * Many tasks on several threads against an asynchronous vDisk while another thread aborts at random:
     * every task completes exactly once (GOOD or TASK ABORTED), every TMF completes, no buffer is lost.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void abortsRacingCompletions() throws Exception {
        try (ScsiTarget target = new ScsiTarget(ScsiTargetConfig.defaults().withBounce(8192, 2));
             MemoryVDisk async = new MemoryVDisk("race", 1 << 24, false, true);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            target.attach(0, async);
            ScsiNexus nexus = target.openNexus("race");
            int threads = 3, perThread = 8, rounds = Boolean.getBoolean("dsf.long") ? 20000 : 1500;
            ScsiTask[][] tasks = new ScsiTask[threads][perThread];
            AtomicIntegerArray completions = new AtomicIntegerArray(threads * perThread);
            AtomicInteger aborted = new AtomicInteger(), good = new AtomicInteger(), bad = new AtomicInteger();
            for (int th = 0; th < threads; th++)
                for (int i = 0; i < perThread; i++) {
                    int id = th * perThread + i;
                    ScsiTask t = nexus.newTask(4);
                    t.attachment(id);
                    t.callback(x -> {
                        if (x.aborted()) aborted.incrementAndGet();
                        else if (x.status() == ScsiStatus.GOOD) good.incrementAndGet();
                        else bad.incrementAndGet();
                        completions.incrementAndGet((Integer) x.attachment());
                    });
                    tasks[th][i] = t;
                }
            Thread[] workers = new Thread[threads];
            AtomicInteger issued = new AtomicInteger();
            for (int th = 0; th < threads; th++) {
                int me = th;
                workers[th] = Thread.ofPlatform().start(() -> {
                    Random rnd = new Random(me);
                    MemorySegment aligned = arena.allocate(8192, 4096), odd1 = arena.allocate(100), odd2 = arena.allocate(8092);
                    int[] expected = new int[perThread];
                    for (int r = 0; r < rounds; r++) {
                        int i = r % perThread;
                        int id = me * perThread + i;
                        while (completions.get(id) < expected[i]) Thread.onSpinWait(); // wait for this task's previous command
                        ScsiTask t = tasks[me][i];
                        boolean bounce = rnd.nextBoolean();
                        t.reset().lun(0).tag(((long) me << 32) | r).direction(ScsiTask.DATA_IN)
                                .cdb(rw10(false, rnd.nextInt(1000), 2), 0, 10);
                        if (bounce) { t.addSegment(odd1, 100); t.addSegment(odd2, 8092); } else t.addSegment(aligned, 8192);
                        expected[i]++;
                        issued.incrementAndGet();
                        nexus.execute(t);
                    }
                    for (int i = 0; i < perThread; i++) while (completions.get(me * perThread + i) < expected[i]) Thread.onSpinWait();
                });
            }
            Thread aborter = Thread.ofPlatform().start(() -> {
                Random rnd = new Random(99);
                ScsiTmf m = new ScsiTmf();
                CountDownLatch[] done = {null};
                ScsiTmfCallback cb = x -> done[0].countDown();
                while (java.util.Arrays.stream(workers).anyMatch(Thread::isAlive)) {
                    done[0] = new CountDownLatch(1);
                    int fn = rnd.nextInt(10) == 0 ? ScsiTmf.ABORT_TASK_SET : ScsiTmf.ABORT_TASK;
                    m.set(fn, 0, ((long) rnd.nextInt(threads) << 32) | (issued.get() / threads), cb);
                    nexus.taskManagement(m);
                    try {
                        assertTrue(done[0].await(10, TimeUnit.SECONDS), "TMF completes");
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                    Thread.onSpinWait();
                }
            });
            for (Thread w : workers) w.join();
            aborter.join();
            int total = 0;
            for (int i = 0; i < threads * perThread; i++) total += completions.get(i);
            assertEquals(issued.get(), total, "exactly one completion per command");
            assertEquals(total, good.get() + aborted.get(), "only GOOD or TASK ABORTED");
            assertEquals(0, bad.get());
            assertEquals(2, target.bounceBuffersAvailable());
            assertEquals(0, target.internalErrors());
            assertEquals(0, target.staleCompletions());
            System.out.printf("abortsRacingCompletions: %d commands, %d aborted, %d bounce waits%n", total, aborted.get(), target.bounceWaits());
        }
    }
}
