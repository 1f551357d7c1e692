package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static io.dsf.blockstore.backend.faulty.FaultyBlockDeviceTest.open;
import static io.dsf.blockstore.backend.faulty.FaultyBlockDeviceTest.pattern;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PowerLossTest {

    /** What the inner device holds for a range, read directly (as after a reboot). */
    static MemorySegment innerRead(FaultyBlockDevice d, long off, int len) {
        try (SyncIo raw = new SyncIo(d.inner())) {
            MemorySegment r = d.inner().allocateDma(len);
            raw.read(off, r, len);
            return r;
        }
    }

    static boolean isZero(MemorySegment m, long from, long to) {
        for (long i = from; i < to; i++) if (m.get(ValueLayout.JAVA_BYTE, i) != 0) return false;
        return true;
    }

    /**
     * How much of {@code data} a crashed write left: the length of its prefix present, in whole
     * {@code unit}s, with only zeros (the old content) after it; fails when the content is anything else.
     */
    static int persistedPrefix(MemorySegment onDisk, MemorySegment data, int len, int unit) {
        int p = 0;
        while (p < len && onDisk.asSlice(p, unit).mismatch(data.asSlice(p, unit)) == -1) p += unit;
        assertTrue(isZero(onDisk, p, len), "not a prefix of whole " + unit + "-byte units followed by old data (prefix " + p + ")");
        return p;
    }

    @Test
    void readYourWritesWhileTheInnerDeviceHasNothing() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 8192, 1), r = d.allocateDma(8192);
            io.write(8192, a, 8192);
            io.read(8192, r, 8192);
            assertEquals(-1, r.mismatch(a));
            assertTrue(isZero(innerRead(d, 8192, 8192), 0, 8192), "an unflushed write reached the inner device");
            assertEquals(8192, d.injector().unflushedBytes());
        }
    }

    @Test
    void flushWritesEverythingThrough() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment x = pattern(d, 8192, 2), y = pattern(d, 1024, 3), expect = pattern(d, 8192, 2), r = d.allocateDma(8192);
            io.write(0, x, 8192);
            io.write(1536, y, 1024); // partial sectors of one page over another write
            MemorySegment.copy(y, 0, expect, 1536, 1024);
            io.write(65536 + 512, y, 512); // a lone sector
            io.read(0, r, 8192);
            assertEquals(-1, r.mismatch(expect), "overlay merges overlapping writes sector by sector");
            io.flush();
            assertEquals(0, d.injector().unflushedBytes());
            assertEquals(-1, innerRead(d, 0, 8192).mismatch(expect));
            MemorySegment lone = innerRead(d, 65536, 4096);
            assertTrue(isZero(lone, 0, 512) && isZero(lone, 1024, 4096));
            assertEquals(-1, lone.asSlice(512, 512).mismatch(y.asSlice(0, 512)));
            d.injector().crash(); // nothing left to lose
            assertEquals(-1, innerRead(d, 0, 8192).mismatch(expect));
        }
    }

    @Test
    void crashKeepsFlushedWritesAndDropsTheRest() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 4), b = pattern(d, 4096, 5), r = d.allocateDma(4096);
            io.write(0, a, 4096);
            io.flush();
            io.write(0, b, 4096); // overwrites A, unflushed
            io.write(65536, b, 4096);
            io.read(0, r, 4096);
            assertEquals(-1, r.mismatch(b), "read-your-writes before the crash");
            d.injector().crash();
            assertEquals(-1, innerRead(d, 0, 4096).mismatch(a), "the flushed write survives");
            assertTrue(isZero(innerRead(d, 65536, 4096), 0, 4096), "the unflushed write is gone");
            assertEquals(IoError.DEVICE_LOST.code(), io.tryRun(0, 0, r, 4096));
            assertEquals(IoError.DEVICE_LOST.code(), io.tryRun(2, 0, null, 0));
            assertEquals(0, d.injector().unflushedBytes());
        }
    }

    @Test
    void leakOneTearsUnflushedWritesIntoPrefixesOfWholeTearUnits() {
        checkLeakAll("faulty:powerloss,leak=1,tear=512,seed=5:mem:4m", 8192, 512);
        checkLeakAll("faulty:powerloss,leak=1,tear=4k,seed=9:mem:4m", 16384, 4096);
    }

    private static void checkLeakAll(String uri, int len, int tear) {
        int writes = 40;
        try (FaultyBlockDevice d = open(uri); SyncIo io = new SyncIo(d)) {
            List<MemorySegment> data = new ArrayList<>();
            for (int i = 0; i < writes; i++) {
                MemorySegment m = pattern(d, len, 10 + i);
                data.add(m);
                io.write((long) i * len, m, len);
            }
            FaultInjector inj = d.injector();
            assertEquals(writes, inj.leakedWrites());
            d.injector().crash();
            int torn = 0, whole = 0;
            for (int i = 0; i < writes; i++) {
                int p = persistedPrefix(innerRead(d, (long) i * len, len), data.get(i), len, tear);
                assertTrue(p >= tear, "leak=1: at least one tear unit lands, got " + p);
                if (p == len) whole++;
                else torn++;
            }
            assertEquals(inj.tornWrites(), torn);
            assertTrue(torn > 0 && whole > 0, "torn " + torn + ", whole " + whole);
        }
    }

    @Test
    void leakIsReproducibleFromTheSeedAndProportional() {
        long[] leaked = new long[3];
        String[] uris = {"faulty:powerloss,leak=0.3,seed=11:mem:4m", "faulty:powerloss,leak=0.3,seed=11:mem:4m", "faulty:powerloss,leak=0.3,seed=12:mem:4m"};
        List<List<Integer>> prefixes = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            try (FaultyBlockDevice d = open(uris[k]); SyncIo io = new SyncIo(d)) {
                List<MemorySegment> data = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    data.add(pattern(d, 4096, i));
                    io.write(i * 4096L, data.get(i), 4096);
                }
                leaked[k] = d.injector().leakedWrites();
                d.injector().crash();
                List<Integer> ps = new ArrayList<>();
                for (int i = 0; i < 200; i++) ps.add(persistedPrefix(innerRead(d, i * 4096L, 4096), data.get(i), 4096, 512));
                assertEquals(leaked[k], ps.stream().filter(p -> p > 0).count());
                prefixes.add(ps);
            }
        }
        assertEquals(prefixes.get(0), prefixes.get(1));
        assertNotEquals(prefixes.get(0), prefixes.get(2));
        assertTrue(leaked[0] > 30 && leaked[0] < 90, "leaked " + leaked[0] + " of 200 at 0.3");
    }

    @Test
    void crashCanLeakPartOfTheOverlay() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0,seed=3:mem:4m"); SyncIo io = new SyncIo(d)) {
            List<MemorySegment> data = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                data.add(pattern(d, 4096, 50 + i));
                io.write(i * 4096L, data.get(i), 4096);
            }
            d.injector().crash(0.5);
            int some = 0;
            for (int i = 0; i < 64; i++) if (persistedPrefix(innerRead(d, i * 4096L, 4096), data.get(i), 4096, 512) > 0) some++;
            assertTrue(some > 10 && some < 54, "leaked at crash: " + some + " of 64");
        }
    }

    @Test
    void aReadInFlightAcrossAFlushOnAnotherQueueStillSeesTheWrite() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 6), r = d.allocateDma(4096);
            int[] st = {1};
            DeviceQueue q = d.openQueue(2, (tag, s) -> st[0] = s);
            io.write(0, a, 4096);
            // mem: executes the inner read now, before the flush puts A on the inner device
            assertEquals(DeviceQueue.ACCEPTED, q.read(0, r, 4096, 1));
            io.flush(); // A leaves the overlay
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (st[0] == 1 && System.nanoTime() < deadline) q.await(1, 1_000_000);
            assertEquals(0, st[0]);
            assertEquals(-1, r.mismatch(a), "the overlay moved to the inner device while the read was in flight");
            q.close();
        }
    }

    @Test
    void writesBeyondMaxGoStraightThroughWhole() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0,max=4k:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 7), b = pattern(d, 8192, 8), c = pattern(d, 4096, 9), r = d.allocateDma(8192);
            io.write(0, a, 4096); // cached: the one page the budget allows
            io.write(65536, c, 4096); // no room: straight through
            assertEquals(1, d.injector().overflowWrites());
            io.write(0, b, 8192); // needs a second page: through, and must not be shadowed by the cached A
            assertEquals(2, d.injector().overflowWrites());
            io.read(0, r, 8192);
            assertEquals(-1, r.mismatch(b));
            assertEquals(0, d.injector().unflushedBytes());
            d.injector().crash();
            assertEquals(-1, innerRead(d, 65536, 4096).mismatch(c));
            assertEquals(-1, innerRead(d, 0, 8192).mismatch(b));
        }
    }

    @Test
    void trimDropsCachedData() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 8192, 10), r = d.allocateDma(8192);
            io.write(0, a, 8192);
            io.trim(0, 4096);
            io.read(0, r, 8192);
            assertTrue(isZero(r, 0, 4096));
            assertEquals(-1, r.asSlice(4096).mismatch(a.asSlice(4096)));
            assertEquals(4096, d.injector().unflushedBytes());
        }
    }

    @Test
    void aFailedFlushKeepsTheOverlayForTheNext() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 11), r = d.allocateDma(4096);
            d.injector().failNext(IoOp.FLUSH, IoError.IO_ERROR, 1);
            io.write(0, a, 4096);
            assertEquals(IoError.IO_ERROR.code(), io.tryRun(2, 0, null, 0));
            assertTrue(isZero(innerRead(d, 0, 4096), 0, 4096));
            io.read(0, r, 4096);
            assertEquals(-1, r.mismatch(a));
            io.flush();
            assertEquals(-1, innerRead(d, 0, 4096).mismatch(a));
        }
    }

    @Test
    void corruptWriteIsCachedCorrupted() {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 12), copy = pattern(d, 4096, 12), r = d.allocateDma(4096);
            d.injector().corruptWritesIn(0, 4096);
            io.write(0, a, 4096);
            assertEquals(-1, a.mismatch(copy));
            io.read(0, r, 4096);
            assertEquals(8, FaultyBlockDeviceTest.bitDiff(a, r, 0, 4096));
            io.flush();
            assertEquals(-1, innerRead(d, 0, 4096).mismatch(r));
        }
    }

    @Test
    void aFlushCoversWritesCompletedOnOtherQueuesAndThreads() throws Exception {
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:mem:1m")) {
            MemorySegment a = pattern(d, 4096, 13);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try (SyncIo io = new SyncIo(d)) {
                    io.write(4096, a, 4096);
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            writer.start();
            writer.join();
            assertNull(failure.get());
            assertTrue(isZero(innerRead(d, 4096, 4096), 0, 4096));
            try (SyncIo io = new SyncIo(d)) {
                io.flush();
            }
            assertEquals(-1, innerRead(d, 4096, 4096).mismatch(a));
        }
    }

    @Test
    void manyQueuesReadTheirWritesWhileOthersFlush() throws Exception {
        manyQueues("faulty:powerloss,leak=0.5,seed=21:mem:4m");
    }

    @Test
    void manyQueuesOverAnAsynchronousInnerDevice(@TempDir Path dir) throws Exception {
        manyQueues("faulty:powerloss,leak=0.5,seed=22:uring:" + dir.resolve("dev.img") + "?size=4m");
    }

    private static void manyQueues(String uri) throws Exception {
        int threads = 4, ops = 400, region = 64 * 4096;
        try (FaultyBlockDevice d = open(uri)) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int id = t;
                ts.add(new Thread(() -> {
                    try (SyncIo io = new SyncIo(d)) {
                        SplittableRandom rnd = new SplittableRandom(id);
                        long base = (long) id * region;
                        MemorySegment model = MemorySegment.ofArray(new byte[region]);
                        MemorySegment w = d.allocateDma(16384), r = d.allocateDma(16384);
                        for (int i = 0; i < ops; i++) {
                            int len = 512 * (1 + rnd.nextInt(32));
                            long off = 512L * rnd.nextInt((region - len) / 512 + 1);
                            int k = rnd.nextInt(10);
                            if (k < 5) {
                                FaultyBlockDeviceTest.fill(w, len, rnd.nextInt());
                                io.write(base + off, w, len);
                                MemorySegment.copy(w, 0, model, off, len);
                            } else if (k < 9) {
                                io.read(base + off, r, len);
                                long mm = r.asSlice(0, len).mismatch(model.asSlice(off, len));
                                if (mm != -1) throw new AssertionError("thread " + id + " op " + i + ": mismatch at " + (off + mm));
                            } else {
                                io.flush();
                            }
                        }
                        io.flush();
                        try (SyncIo raw = new SyncIo(d.inner())) {
                            MemorySegment all = d.inner().allocateDma(region);
                            raw.read(base, all, region);
                            if (all.mismatch(model) != -1) throw new AssertionError("thread " + id + ": inner differs after flush");
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            ts.forEach(Thread::start);
            for (Thread t : ts) t.join();
            if (failure.get() != null) throw new AssertionError(failure.get());
        }
    }

    @Test
    void orderlyCloseWritesThroughButACrashDoesNot(@TempDir Path dir) {
        String file = dir.resolve("dev").toString();
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:file:" + file + "?size=1m"); SyncIo io = new SyncIo(d)) {
            io.write(0, pattern(d, 4096, 14), 4096);
        }
        try (BlockDevice f = BlockDevices.open("file:" + file); SyncIo io = new SyncIo(f)) {
            MemorySegment r = f.allocateDma(4096);
            io.read(0, r, 4096);
            assertEquals(-1, r.mismatch(pattern(f, 4096, 14)));
        }
        try (FaultyBlockDevice d = open("faulty:powerloss,leak=0:file:" + file); SyncIo io = new SyncIo(d)) {
            io.write(0, pattern(d, 4096, 15), 4096);
            d.injector().crash();
        }
        try (BlockDevice f = BlockDevices.open("file:" + file); SyncIo io = new SyncIo(f)) {
            MemorySegment r = f.allocateDma(4096);
            io.read(0, r, 4096);
            assertEquals(-1, r.mismatch(pattern(f, 4096, 14)), "reopening the inner URI sees the post-crash state");
        }
    }
}
