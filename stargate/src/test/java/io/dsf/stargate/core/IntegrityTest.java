package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Randomized integrity: concurrent writers, each owning a disjoint set of chunks, drive writes,
 * reads, unmaps and write-zeroes at queue depth through every shard against a reference model;
 * snapshots and clones are taken mid-run and checked against copies of the model. The OpLog, the
 * index budget, the bypass threshold and the Unified Cache are sized so that drain, bypass,
 * back-pressure, copy-on-write drains, cache hits and cache evictions all happen, which the
 * counters must show; every read is compared with the model, so a stale cached block fails it.
 * Half the writers use buffers in memory registered with {@link Stargate#registerMemory}, so their
 * reads go straight into the caller's buffer (and fill the cache from there); the others' go
 * through the shards' bounce buffers.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IntegrityTest {
    static final int BLOCK = 4096, CHUNK_BLOCKS = 64, CHUNKS = 256, WRITERS = 4, QD = 8;
    static final long SIZE = (long) CHUNKS * CHUNK_BLOCKS * BLOCK; // 64 MiB

    static void fill(MemorySegment m, long off, long block, int gen) {
        long v = block << 24 ^ (long) gen * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < BLOCK; i += 8) m.set(ValueLayout.JAVA_LONG_UNALIGNED, off + i, v + i);
    }

    static boolean matches(MemorySegment m, long off, long block, int gen) {
        if (gen == 0) {
            for (int i = 0; i < BLOCK; i += 8) if (m.get(ValueLayout.JAVA_LONG_UNALIGNED, off + i) != 0) return false;
            return true;
        }
        long v = block << 24 ^ (long) gen * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < BLOCK; i += 8) if (m.get(ValueLayout.JAVA_LONG_UNALIGNED, off + i) != v + i) return false;
        return true;
    }

    final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    /** Per writer: registered memory its buffers are cut from, or null (its own, unregistered). */
    MemorySegment[] writerRegions = new MemorySegment[WRITERS];

    /** Runs {@code ops} random operations per writer on {@code d}, updating {@code model} (gen per block). */
    void run(VDisk d, AtomicIntegerArray model, int ops, long seed) throws Exception {
        long t0 = System.nanoTime();
        try { run0(d, model, ops, seed); } finally {
            System.out.printf("phase %d on %s: %d ms%n", seed, d.name(), (System.nanoTime() - t0) / 1_000_000);
        }
    }

    void run0(VDisk d, AtomicIntegerArray model, int ops, long seed) throws Exception {
        List<Thread> ts = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            Thread t = new Thread(() -> {
                try (Arena a = Arena.ofShared()) {
                    SplittableRandom rnd = new SplittableRandom(seed * 31 + writer);
                    Semaphore qd = new Semaphore(QD);
                    AtomicIntegerArray busy = new AtomicIntegerArray(CHUNKS);
                    MemorySegment[] bufs = new MemorySegment[QD];
                    ConcurrentLinkedQueue<Integer> freeBufs = new ConcurrentLinkedQueue<>();
                    MemorySegment region = writerRegions[writer];
                    for (int i = 0; i < QD; i++) {
                        bufs[i] = region != null ? region.asSlice((long) i * CHUNK_BLOCKS * BLOCK, (long) CHUNK_BLOCKS * BLOCK)
                                : a.allocate((long) CHUNK_BLOCKS * BLOCK, 4096);
                        freeBufs.add(i);
                    }
                    for (int op = 0; op < ops && errors.isEmpty(); op++) {
                        if (!qd.tryAcquire(20, TimeUnit.SECONDS)) {
                            String st = "writer " + writer + " stalled:\n" + ((VDiskController) d).debugState();
                            System.out.println(st);
                            errors.add(st);
                            break;
                        }
                        int chunk;
                        do chunk = writer + WRITERS * rnd.nextInt(CHUNKS / WRITERS); while (!busy.compareAndSet(chunk, 0, 1));
                        int first = rnd.nextInt(CHUNK_BLOCKS), n = 1 + rnd.nextInt(CHUNK_BLOCKS - first);
                        if (rnd.nextInt(4) == 0) n = Math.min(n, 2);
                        long b0 = (long) chunk * CHUNK_BLOCKS + first;
                        int bi = freeBufs.poll();
                        MemorySegment buf = bufs[bi];
                        int kind = rnd.nextInt(100);
                        final int ch = chunk, nn = n;
                        Runnable done = () -> { freeBufs.add(bi); busy.set(ch, 0); qd.release(); };
                        int st;
                        if (kind < 55) {
                            int gen = 1 + rnd.nextInt(1 << 20);
                            for (int i = 0; i < n; i++) fill(buf, (long) i * BLOCK, b0 + i, gen);
                            st = d.write(b0 * BLOCK, buf, n * BLOCK, 0, (tag, s) -> {
                                if (s != VDiskStatus.OK) errors.add("write " + b0 + "+" + nn + ": " + VDiskStatus.describe(s));
                                else for (int i = 0; i < nn; i++) model.set((int) (b0 + i), gen);
                                done.run();
                            });
                        } else if (kind < 85) {
                            st = d.read(b0 * BLOCK, buf, n * BLOCK, 0, (tag, s) -> {
                                if (s != VDiskStatus.OK) errors.add("read " + b0 + ": " + VDiskStatus.describe(s));
                                else for (int i = 0; i < nn; i++)
                                    if (!matches(buf, (long) i * BLOCK, b0 + i, model.get((int) (b0 + i))))
                                        errors.add("block " + (b0 + i) + " does not hold generation " + model.get((int) (b0 + i)));
                                done.run();
                            });
                        } else {
                            io.dsf.stargate.api.IoCallback cb = (tag, s) -> {
                                if (s != VDiskStatus.OK) errors.add("zero " + b0 + ": " + VDiskStatus.describe(s));
                                else for (int i = 0; i < nn; i++) model.set((int) (b0 + i), 0);
                                done.run();
                            };
                            st = kind < 93 ? d.unmap(b0 * BLOCK, (long) n * BLOCK, 0, cb) : d.writeZeroes(b0 * BLOCK, (long) n * BLOCK, 0, cb);
                        }
                        if (st != VDiskStatus.OK) {
                            errors.add("submit refused: " + VDiskStatus.describe(st));
                            done.run();
                        }
                    }
                    if (!qd.tryAcquire(QD, 60, TimeUnit.SECONDS)) errors.add("writer " + writer + " stuck with requests in flight");
                } catch (Throwable e) {
                    errors.add("writer " + writer + ": " + e);
                }
            }, "writer-" + w);
            ts.add(t);
            t.start();
        }
        for (Thread t : ts) t.join();
        assertTrue(errors.isEmpty(), () -> errors.size() + " errors, first: " + errors.peek());
    }

    void verifyAll(VDisk d, AtomicIntegerArray model) throws Exception {
        try (Arena a = Arena.ofShared()) {
            MemorySegment buf = a.allocate(1 << 20, 4096);
            for (long off = 0; off < SIZE; off += 1 << 20) {
                assertEquals(0, StargateBasicTest.sync(d, false, off, buf, 1 << 20));
                for (int i = 0; i < 256; i++) {
                    int b = (int) (off / BLOCK) + i;
                    int g = model.get(b);
                    assertTrue(matches(buf, (long) i * BLOCK, b, g), () -> d.name() + ": block " + b + " does not hold generation " + g);
                }
            }
        }
    }

    static AtomicIntegerArray copy(AtomicIntegerArray m) {
        AtomicIntegerArray c = new AtomicIntegerArray(m.length());
        for (int i = 0; i < m.length(); i++) c.set(i, m.get(i));
        return c;
    }

    /** With second-miss admission (the default) and without it (every miss fills: the most cache churn). */
    @ParameterizedTest(name = "second-miss admission {0}")
    @ValueSource(booleans = {true, false})
    void concurrentWritersSnapshotsClonesAgainstModel(boolean secondMiss) throws Exception {
        StargateOptions o = StargateOptions.defaults().withShards(3).withOplog(4L << 20, 8L << 20)
                .withIndexBudget(1024).withBypassBytes(256 << 10).withRingSize(256).withDrainStart(0.5)
                .withCacheBytes(12L << 20) // 1 MiB per shard for three vDisks: 64 MiB of data evicts
                .withCacheSecondMissAdmission(secondMiss);

        BlockDevice dev = BlockDevices.open("mem:768m");
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, o);
        Arena regions = Arena.ofShared(); // registered memory must outlive the node
        try {
            for (int w = 0; w < WRITERS; w += 2) {
                writerRegions[w] = regions.allocate((long) QD * CHUNK_BLOCKS * BLOCK, 4096);
                sg.registerMemory(writerRegions[w]);
            }
            VDisk d = sg.create("base", SIZE);
            AtomicIntegerArray model = new AtomicIntegerArray(CHUNKS * CHUNK_BLOCKS);
            run(d, model, 800, 1);
            verifyAll(d, model);
            long ts = System.nanoTime();
            VDisk s1 = sg.snapshot("base", "s1");
            System.out.printf("snapshot: %d ms%n", (System.nanoTime() - ts) / 1_000_000);
            AtomicIntegerArray m1 = copy(model);
            run(d, model, 600, 2);
            VDisk c1 = sg.clone("s1", "c1");
            AtomicIntegerArray mc = copy(m1);
            run(c1, mc, 400, 3);
            run(d, model, 300, 4);
            verifyAll(d, model);
            verifyAll(s1, m1);
            verifyAll(c1, mc);
            VDiskController.Counters c = sg.controller("base").counters();
            VDiskController.Counters cc = sg.controller("c1").counters();
            System.out.println("base: " + c + "\nclone: " + cc);
            assertTrue(c.drains > 0, "drains happened");
            assertTrue(c.spanRounds > 0 && c.drainRounds > c.spanRounds, "both span rounds and vBlock rounds drained: " + c);
            assertTrue(c.bypassWrites > 0, "writes bypassed the OpLog");
            assertTrue(c.backPressure > 0, "the OpLog applied back-pressure");
            assertTrue(c.cowDrains + cc.cowDrains > 0, "shared extents were copied on write");
            assertTrue(c.segmentsFreed > 0, "OpLog segments were reclaimed");
            assertTrue(c.cacheBytes > 0 && cc.cacheBytes > 0, "every vDisk got its share of the cache");
            assertTrue(c.cacheHits > 0 && cc.cacheHits > 0, "reads were served from the Unified Cache");
            assertTrue(c.cacheEvictions > 0, "the cache evicted");
            assertTrue(c.directReads > 0 && cc.directReads > 0, "reads went straight into registered memory");
            assertTrue(c.reads > c.directReads, "and others through bounce buffers");
            sg.delete("s1");
            verifyAll(c1, mc);
            verifyAll(d, model);
        } finally {
            sg.close();
            store.close();
            dev.close();
            regions.close();
        }
    }
}
