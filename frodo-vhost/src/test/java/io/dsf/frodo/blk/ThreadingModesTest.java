package io.dsf.frodo.blk;

import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.virtq.IdleMode;
import io.dsf.frodo.virtq.QueueRunner;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Both threading modes serve multi-queue I/O: four request queues, each with 16 requests in flight
 * per round, writes then reads of distinct blocks verified byte for byte, with the vDisk completing
 * on its own thread (so completions cross threads and must wake sleeping runners). {@code dedicated}
 * runs one thread per queue; {@code shared} multiplexes the four queues on one or two threads.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ThreadingModesTest {
    static final int QUEUES = 4, DEPTH = 16, ROUNDS = 8;
    @TempDir Path dir;

    @ParameterizedTest(name = "{0} threading on {1} thread(s), idle {2}")
    @CsvSource({"dedicated, 4, block", "dedicated, 4, spin", "shared, 1, block", "shared, 2, backoff", "shared, 1, spin"})
    void multiQueueIoIsServedAndVerified(String threading, int expectThreads, String idle) throws Exception {
        VhostOptions opts = VhostOptions.defaults().withQueues(QUEUES).withIdle(IdleMode.parse(idle))
                .withThreading(VhostOptions.Threading.parse(threading));
        if (opts.threading() == VhostOptions.Threading.SHARED) opts = opts.withSharedThreads(expectThreads);
        try (MemoryVDisk disk = new MemoryVDisk("threads", 64L << 20, false, true);
             VhostUserBlkServer server = VhostUserBlkServer.start(dir.resolve("t.sock"), disk, opts);
             VhostUserDriver d = VhostUserDriver.connect(server.socket())) {
            d.negotiate(0);
            d.createGuestMemory(16L << 20);
            DriverQueue[] q = new DriverQueue[QUEUES];
            for (int i = 0; i < QUEUES; i++) q[i] = d.startQueue(i, 64, true);
            long hdrs = d.alloc(16L * QUEUES * DEPTH, 16), status = d.alloc(QUEUES * DEPTH, 1);
            long bufs = d.alloc(4096L * QUEUES * DEPTH, 4096);

            for (int round = 0; round < ROUNDS; round++) {
                for (boolean write : new boolean[] {true, false}) {
                    for (int i = 0; i < QUEUES; i++) {
                        for (int k = 0; k < DEPTH; k++) {
                            int slot = i * DEPTH + k;
                            long sector = 8L * (round * QUEUES * DEPTH + slot);
                            MemorySegment h = d.at(hdrs + 16L * slot, 16);
                            h.set(JAVA_INT_UNALIGNED, 0, write ? VirtioBlkDevice.T_OUT : VirtioBlkDevice.T_IN);
                            h.set(JAVA_LONG_UNALIGNED, 8, sector);
                            MemorySegment b = d.at(bufs + 4096L * slot, 4096);
                            if (write) for (int x = 0; x < 4096; x += 8) b.set(JAVA_LONG_UNALIGNED, x, sector * 1_000_003L + x);
                            else b.fill((byte) 0);
                            d.at(status + slot, 1).set(JAVA_BYTE, 0, (byte) 0x7f);
                            q[i].stage(q[i].chain(new long[] {hdrs + 16L * slot, bufs + 4096L * slot, status + slot},
                                    new int[] {16, 4096, 1}, new boolean[] {false, !write, true}));
                        }
                        q[i].publish();
                        q[i].kick();
                    }
                    for (int i = 0; i < QUEUES; i++) {
                        assertEquals(DEPTH, q[i].awaitUsed(DEPTH, 10_000), "queue " + i + " round " + round);
                        for (int k = 0; k < DEPTH; k++) q[i].takeUsed();
                    }
                    for (int slot = 0; slot < QUEUES * DEPTH; slot++) {
                        assertEquals(0, d.at(status + slot, 1).get(JAVA_BYTE, 0), "status of slot " + slot);
                        if (!write) {
                            long sector = 8L * (round * QUEUES * DEPTH + slot);
                            MemorySegment b = d.at(bufs + 4096L * slot, 4096);
                            for (int x = 0; x < 4096; x += 8)
                                assertEquals(sector * 1_000_003L + x, b.get(JAVA_LONG_UNALIGNED, x), "data of sector " + sector);
                        }
                    }
                }
            }
            long[] per = server.queueRequests();
            for (int i = 0; i < QUEUES; i++) assertEquals(2L * ROUNDS * DEPTH, per[i], "requests on queue " + i);
            assertEquals((long) QUEUES * ROUNDS * DEPTH, disk.writes.get());

            // which threads served the queues
            Map<QueueRunner, Integer> perRunner = new IdentityHashMap<>();
            Set<Thread> threads = new HashSet<>();
            for (int i = 0; i < QUEUES; i++) {
                QueueRunner r = server.server().queueRunner(i);
                assertNotNull(r, "queue " + i + " runs");
                perRunner.merge(r, 1, Integer::sum);
                Thread t = r.thread();
                assertNotNull(t, "queue " + i + " has a live thread");
                threads.add(t);
            }
            assertEquals(expectThreads, threads.size(), "threads serving " + QUEUES + " queues");
            for (int n : perRunner.values()) assertEquals(QUEUES / expectThreads, n, "queues spread evenly over the runners");

            // stopping every queue ends the threads (a runner lives only while it has queues)
            for (int i = 0; i < QUEUES; i++) d.getVringBase(i);
            for (Thread t : threads) {
                t.join(5000);
                assertFalse(t.isAlive(), t.getName() + " ended with its last queue");
            }
        }
    }
}
