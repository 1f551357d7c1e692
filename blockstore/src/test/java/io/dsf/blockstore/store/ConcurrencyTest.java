package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.check.StoreChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Several channels on several threads with control operations racing them; and no allocation per request. */
class ConcurrencyTest {
    static final int SLICE = 4096;

    @TempDir
    Path tmp;

    /** Per thread: object id -> (slice offset -> version). */
    final Map<Long, Map<Long, Long>> expected = new ConcurrentHashMap<>();

    @Test
    @Timeout(120)
    void channelsOnManyThreadsWithControlOpsRacing() throws Exception {
        String uri = "file:" + tmp.resolve("dev") + "?size=256m";
        int threads = 4;
        try (BlockDevice dev = BlockDevices.open(uri)) {
            try (BlockStore s = BlockStore.format(dev, FormatOptions.DEFAULTS.withUnitSize(64 << 10).withJournalBytes(512 << 10).withMaxObjects(512))) {
                CyclicBarrier start = new CyclicBarrier(threads + 1);
                AtomicReference<Throwable> err = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int me = t;
                    ts.add(Thread.ofPlatform().name("shard-" + t).start(() -> {
                        try {
                            start.await();
                            shard(s, me);
                        } catch (Throwable e) {
                            err.compareAndSet(null, e);
                        }
                    }));
                }
                start.await();
                SplittableRandom r = new SplittableRandom(99);
                List<StoreObject> scratch = new ArrayList<>();
                while (ts.stream().anyMatch(Thread::isAlive)) { // the control path, concurrently
                    if (scratch.size() < 20 && r.nextBoolean()) scratch.add(s.create(0, 64 << 10, Map.of()));
                    else if (!scratch.isEmpty()) s.delete(scratch.remove(r.nextInt(scratch.size())));
                    s.sync();
                }
                for (Thread t : ts) t.join();
                if (err.get() != null) throw new AssertionError("shard failed", err.get());
                verifyAll(s);
                StoreStats st = s.stats();
                assertEquals(st.unitCount(), st.usedUnits() + st.freeUnits() + st.cachedUnits() + st.pendingFreeUnits(), st.toString());
                assertTrue(st.checkpoints() > 0, "checkpoints ran: " + st);
            }
            try (BlockStore s = BlockStore.open(dev)) {
                verifyAll(s);
            }
            StoreChecker.Report rep = StoreChecker.check(dev);
            assertTrue(rep.clean(), rep.problems().toString());
        }
    }

    private void shard(BlockStore s, int me) {
        SplittableRandom r = new SplittableRandom(me);
        int[] pending = {0};
        int[] failed = {0};
        try (StoreChannel ch = s.openChannel(16, 16 << 10, 16, (t, st) -> {
            pending[0]--;
            if (st != 0) failed[0] = st;
        })) {
            List<StoreObject> mine = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                StoreObject o = s.create(0, 8L * (64 << 10), Map.of());
                mine.add(o);
                expected.put(o.id(), new HashMap<>());
            }
            MemorySegment[] bufs = new MemorySegment[16];
            for (int i = 0; i < 16; i++) bufs[i] = ch.buffers().buffer(ch.buffers().acquire());
            long ver = (long) me << 40;
            for (int round = 0; round < 300; round++) {
                // a batch of writes to distinct slices
                Map<Long, Long> batch = new HashMap<>();
                int n = r.nextInt(1, 16);
                for (int k = 0; k < n; k++) {
                    StoreObject o = mine.get(r.nextInt(mine.size()));
                    long off = r.nextLong(0, o.size() / SLICE - 3) * SLICE;
                    int len = r.nextInt(1, 4) * SLICE;
                    boolean clash = false;
                    for (long a = off; a < off + len; a += SLICE) clash |= batch.containsKey(o.id() * 1_000_000_000L + a);
                    if (clash) continue;
                    long v = ++ver;
                    for (long a = off; a < off + len; a += SLICE) {
                        batch.put(o.id() * 1_000_000_000L + a, v);
                        bufs[k].set(ValueLayout.JAVA_LONG, a - off, v);
                        bufs[k].set(ValueLayout.JAVA_LONG, a - off + 8, o.id());
                        expected.get(o.id()).put(a, v);
                    }
                    int st;
                    while ((st = ch.write(o, off, bufs[k], len, v)) == StoreStatus.BACK_PRESSURE.code()) ch.await(16, 1_000_000);
                    assertEquals(0, st, StoreStatus.describe(st));
                    pending[0]++;
                }
                if (r.nextInt(4) == 0) {
                    assertEquals(0, ch.sync(-1));
                    pending[0]++;
                }
                while (pending[0] > 0) ch.await(16, 1_000_000_000L);
                assertEquals(0, failed[0], StoreStatus.describe(failed[0]));
                if (r.nextInt(50) == 0) { // replace an object: delete, create
                    StoreObject o = mine.remove(r.nextInt(mine.size()));
                    expected.remove(o.id());
                    s.delete(o);
                    StoreObject n2 = s.create(0, 8L * (64 << 10), Map.of());
                    mine.add(n2);
                    expected.put(n2.id(), new HashMap<>());
                }
                if (r.nextInt(40) == 0) { // shrink and grow back: the cut range reads zeros
                    StoreObject o = mine.get(r.nextInt(mine.size()));
                    long cut = r.nextLong(1, 8) * (64 << 10) - SLICE * r.nextLong(0, 4);
                    s.resize(o, cut);
                    s.resize(o, 8L * (64 << 10));
                    expected.get(o.id()).keySet().removeIf(a -> a >= cut);
                }
            }
            ch.syncBlocking();
        }
    }

    private void verifyAll(BlockStore s) {
        try (StoreChannel ch = s.openChannel(4, 64 << 10, 4, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            for (Map.Entry<Long, Map<Long, Long>> e : expected.entrySet()) {
                StoreObject o = s.object(e.getKey());
                for (long off = 0; off < o.size(); off += 64 << 10) {
                    ch.readBlocking(o, off, b, 64 << 10);
                    for (long a = off; a < off + (64 << 10); a += SLICE) {
                        long want = e.getValue().getOrDefault(a, 0L);
                        assertEquals(want, b.get(ValueLayout.JAVA_LONG, a - off), "object " + o.id() + " @" + a);
                        if (want != 0) assertEquals(o.id(), b.get(ValueLayout.JAVA_LONG, a - off + 8));
                    }
                }
            }
        }
    }

    @Test
    @Timeout(60)
    void steadyStateRequestsDoNotAllocate() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(mx.isThreadAllocatedMemorySupported());
        try (BlockDevice dev = BlockDevices.open("mem:64m");
             // the journal inside mem:'s first 1 MiB chunk, which format writes: mem: allocates a chunk on
             // the first write into it, and syncs commit on the channel's own thread
             BlockStore s = BlockStore.format(dev, FormatOptions.DEFAULTS.withUnitSize(64 << 10).withJournalBytes(512 << 10))) {
            StoreObject o = s.create(0, 16L << 20, Map.of());
            long[] done = {0};
            try (StoreChannel ch = s.openChannel(8, 16 << 10, 8, (t, st) -> {
                if (st != 0) throw new AssertionError(StoreStatus.describe(st));
                done[0]++;
            })) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                SplittableRandom r = new SplittableRandom(1);
                // warm up: allocate every unit of the object, arm them, let the JIT settle
                for (int i = 0; i < 20_000; i++) run(ch, o, b, r, done, i);
                long tid = Thread.currentThread().threadId();
                long before = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 20_000; i++) run(ch, o, b, r, done, i);
                long allocated = mx.getThreadAllocatedBytes(tid) - before;
                assertTrue(allocated < 64 * 1024, "20000 writes, reads and syncs allocated " + allocated + " bytes");
            }
        }
    }

    private static void run(StoreChannel ch, StoreObject o, MemorySegment b, SplittableRandom r, long[] done, int i) {
        long off = r.nextLong(0, o.size() / SLICE - 4) * SLICE;
        long want = done[0] + 1;
        int st = (i & 1) == 0 ? ch.write(o, off, b, 4 * SLICE, i) : ch.read(o, off, b, 4 * SLICE, i);
        while (st == StoreStatus.BACK_PRESSURE.code()) {
            ch.await(8, 1_000_000);
            st = (i & 1) == 0 ? ch.write(o, off, b, 4 * SLICE, i) : ch.read(o, off, b, 4 * SLICE, i);
        }
        if (st != 0) throw new AssertionError(StoreStatus.describe(st));
        if (i % 64 == 0) {
            ch.sync(-1);
            want++;
        }
        while (done[0] < want) ch.await(8, 1_000_000_000L);
    }
}
