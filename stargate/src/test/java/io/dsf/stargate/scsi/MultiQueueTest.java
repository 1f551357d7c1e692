package io.dsf.stargate.scsi;

import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Several submitting threads (as virtqueue workers are), each with many commands in flight on one
 * nexus, against an asynchronous vDisk: writes on both data paths, read-back and VERIFY compare of
 * what each thread wrote in its own region. Every byte must come back; every command completes once.
 */
class MultiQueueTest {
    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void queuesInParallel() throws Exception {
        int queues = 4, depth = 16, commands = Boolean.getBoolean("dsf.long") ? 200_000 : 6_000;
        int regionBlocks = 1024;
        try (ScsiTarget target = new ScsiTarget(ScsiTargetConfig.defaults().withBounce(64 * 1024, 4));
             MemoryVDisk disk = new MemoryVDisk("mq", (long) queues * regionBlocks * 4096, false, true);
             Arena arena = Arena.ofShared()) {
            target.attach(0, disk);
            ScsiNexus nexus = target.openNexus("virtio-scsi");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong completed = new AtomicLong();
            Thread[] workers = new Thread[queues];
            for (int q = 0; q < queues; q++) {
                int me = q;
                ArrayBlockingQueue<ScsiTask> free = new ArrayBlockingQueue<>(depth);
                ScsiTask[] tasks = new ScsiTask[depth];
                MemorySegment[] bufs = new MemorySegment[depth];
                for (int i = 0; i < depth; i++) {
                    tasks[i] = nexus.newTask(4);
                    bufs[i] = arena.allocate(8 * 4096, 4096);
                    tasks[i].attachment(i);
                    tasks[i].callback(t -> {
                        if (t.status() != ScsiStatus.GOOD) failure.compareAndSet(null, new AssertionError("queue " + me + ": " + t));
                        completed.incrementAndGet();
                        free.add(t);
                    });
                    free.add(tasks[i]);
                }
                workers[q] = Thread.ofPlatform().name("queue-" + q).start(() -> {
                    try {
                        Random rnd = new Random(me);
                        long base = (long) me * regionBlocks;
                        byte[] generation = new byte[regionBlocks]; // the byte every block of this region holds now
                        boolean[] busy = new boolean[regionBlocks];
                        int[] owner = new int[depth];
                        int[] ownerLen = new int[depth];
                        for (int c = 0; c < commands; c++) {
                            ScsiTask t = free.poll(20, TimeUnit.SECONDS);
                            assertNotNull(t, "a task came back");
                            int slot = (Integer) t.attachment();
                            if (ownerLen[slot] > 0) for (int b = 0; b < ownerLen[slot]; b++) busy[owner[slot] + b] = false;
                            ownerLen[slot] = 0;
                            int blocks = 1 + rnd.nextInt(8);
                            int lba;
                            do { lba = rnd.nextInt(regionBlocks - blocks); } while (anyBusy(busy, lba, blocks));
                            for (int b = 0; b < blocks; b++) busy[lba + b] = true;
                            owner[slot] = lba;
                            ownerLen[slot] = blocks;
                            MemorySegment buf = bufs[slot];
                            int kind = rnd.nextInt(3);
                            int bytes = blocks * 4096;
                            byte[] cdb;
                            int dir;
                            if (kind == 0) {          // write a new generation
                                byte g = (byte) (1 + rnd.nextInt(250));
                                for (int b = 0; b < blocks; b++) generation[lba + b] = g;
                                buf.asSlice(0, bytes).fill(g);
                                cdb = Cdbs.rw10(true, base + lba, blocks);
                                dir = ScsiTask.DATA_OUT;
                            } else if (kind == 1) {   // VERIFY compare with what must be there
                                for (int b = 0; b < blocks; b++) buf.asSlice(b * 4096L, 4096).fill(generation[lba + b]);
                                cdb = Cdbs.verify16(1, base + lba, blocks);
                                dir = ScsiTask.DATA_OUT;
                            } else {                  // read back, checked below once complete
                                cdb = Cdbs.rw16(false, base + lba, blocks);
                                dir = ScsiTask.DATA_IN;
                            }
                            t.reset().lun(0).tag(c).cdb(cdb, 0, cdb.length).direction(dir);
                            if (rnd.nextBoolean()) {
                                t.addSegment(buf, bytes);                      // zero-copy
                            } else {
                                int cut = 1 + rnd.nextInt(bytes - 1);          // bounce
                                t.addSegment(buf, cut);
                                t.addSegment(buf.asSlice(cut), bytes - cut);
                            }
                            if (kind == 2) {
                                // reads complete asynchronously: check synchronously by waiting for this one
                                java.util.concurrent.CountDownLatch l = new java.util.concurrent.CountDownLatch(1);
                                ScsiTaskCallback prev = readCallback(t, l, failure, completed, free);
                                nexus.execute(t);
                                assertTrue(l.await(20, TimeUnit.SECONDS));
                                for (int b = 0; b < blocks; b++) {
                                    byte want = generation[lba + b];
                                    for (int i = 0; i < 4096; i += 509)
                                        assertEquals(want, buf.get(ValueLayout.JAVA_BYTE, b * 4096L + i), "queue " + me + " block " + (lba + b));
                                }
                                t.callback(prev);
                                free.add(t);
                            } else {
                                nexus.execute(t);
                            }
                            if (failure.get() != null) break;
                        }
                        for (int i = 0; i < depth; i++) assertNotNull(free.poll(20, TimeUnit.SECONDS), "all tasks return");
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            for (Thread w : workers) w.join();
            if (failure.get() != null) throw new AssertionError(failure.get());
            assertEquals((long) queues * commands, completed.get());
            assertEquals(0, target.internalErrors());
            assertEquals(4, target.bounceBuffersAvailable());
        }
    }

    private static boolean anyBusy(boolean[] busy, int lba, int n) {
        for (int i = 0; i < n; i++) if (busy[lba + i]) return true;
        return false;
    }

    /** Swaps in a callback that only counts and signals (the read's checker gives the task back itself). */
    private static ScsiTaskCallback readCallback(ScsiTask t, java.util.concurrent.CountDownLatch l, AtomicReference<Throwable> failure,
                                                 AtomicLong completed, ArrayBlockingQueue<ScsiTask> free) {
        ScsiTaskCallback[] prev = {null};
        // tasks do not expose their callback: rebuild the pooled one
        prev[0] = x -> {
            if (x.status() != ScsiStatus.GOOD) failure.compareAndSet(null, new AssertionError(x.toString()));
            completed.incrementAndGet();
            free.add(x);
        };
        t.callback(x -> {
            if (x.status() != ScsiStatus.GOOD) failure.compareAndSet(null, new AssertionError("read: " + x));
            completed.incrementAndGet();
            l.countDown();
        });
        return prev[0];
    }
}
