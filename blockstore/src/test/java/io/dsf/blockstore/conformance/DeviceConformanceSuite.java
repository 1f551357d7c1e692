package io.dsf.blockstore.conformance;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The one device conformance suite: every backend's test extends it and supplies a fresh device.
 * It checks data integrity under random I/O, the request rules every backend must enforce with the
 * same {@link IoError}, queue-full back-pressure, many queues on many threads, flush and trim, and
 * closing with I/O in flight (every accepted request completes exactly once).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class DeviceConformanceSuite {

    /** A fresh device (never written; capacity at least 64 MiB), opened for one test. */
    protected abstract BlockDevice openDevice(Path tmpDir) throws Exception;

    /** Reopens the device a test wrote to and closed, or null when the backend keeps nothing. */
    protected BlockDevice reopenDevice(Path tmpDir) throws Exception { return null; }

    /** False for backends that discard written data (null:). */
    protected boolean retainsData() { return true; }

    @TempDir
    protected Path tmp;
    protected BlockDevice dev;
    protected Geometry g;

    @BeforeEach
    void openIt() throws Exception {
        dev = openDevice(tmp);
        assertNotNull(dev, "openDevice returned null");
        g = dev.geometry();
    }

    @AfterEach
    void closeIt() {
        if (dev != null) dev.close();
    }

    // ---------------------------------------------------------------- driver

    /** Runs one queue on the test thread, tracking every tag: each must complete exactly once. */
    protected static final class Driver implements AutoCloseable {
        final DeviceQueue q;
        final int[] completions;   // per tag: how many times completed
        final int[] statuses;
        int outstanding;

        Driver(BlockDevice d, int depth, int maxTags) {
            completions = new int[maxTags];
            statuses = new int[maxTags];
            q = d.openQueue(depth, (tag, st) -> {
                completions[(int) tag]++;
                statuses[(int) tag] = st;
                outstanding--;
            });
        }

        int submit(int op, int tag, long off, MemorySegment buf, int len) {
            int st = switch (op) {
                case 0 -> q.read(off, buf, len, tag);
                case 1 -> q.write(off, buf, len, tag);
                case 2 -> q.flush(tag);
                default -> q.trim(off, len, tag);
            };
            if (st == DeviceQueue.ACCEPTED) outstanding++;
            return st;
        }

        /** Polls until nothing is outstanding or the deadline passes. */
        void drain() {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (outstanding > 0) {
                q.await(64, 1_000_000);
                if (System.nanoTime() > deadline) fail("completions missing: " + outstanding + " outstanding");
            }
        }

        /** Submits one request and waits for it; returns its completion status. */
        int run(int op, int tag, long off, MemorySegment buf, int len) {
            completions[tag] = 0;
            int st = submit(op, tag, off, buf, len);
            assertEquals(DeviceQueue.ACCEPTED, st, () -> "submission refused: " + IoError.describe(st));
            drain();
            assertEquals(1, completions[tag], "completed exactly once");
            return statuses[tag];
        }

        @Override public void close() { q.close(); }
    }

    static void fillPattern(MemorySegment buf, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i + 8 <= len; i += 8) buf.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
    }

    static byte[] bytes(MemorySegment buf, int len) {
        return buf.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
    }

    protected int bs() { return Math.max(g.blockSize(), 4096); }

    // ---------------------------------------------------------------- geometry

    @Test
    void geometryIsSane() {
        assertTrue(g.capacity() >= 64L << 20, "capacity >= 64 MiB for the suite: " + g.capacity());
        assertEquals(0, g.capacity() % g.blockSize());
        assertTrue(g.maxTransfer() >= 4096);
        assertTrue(g.bufferAlignment() <= 4096, "DMA allocations are 4 KiB aligned");
        MemorySegment m = dev.allocateDma(3 * 4096);
        assertEquals(0, m.address() % g.bufferAlignment());
        assertTrue(m.byteSize() >= 3 * 4096);
        assertEquals(0, m.get(ValueLayout.JAVA_BYTE, 5000), "DMA memory starts zeroed");
    }

    // ---------------------------------------------------------------- data integrity

    @Test
    void writeThenReadBackSingleBlockAndMultiBlock() {
        assumeTrue(retainsData(), "backend discards data");
        BufferPool pool = BufferPool.allocate(dev, 64 * 1024, 4);
        try (Driver d = new Driver(dev, 8, 16)) {
            pool.registerWith(d.q);
            MemorySegment w = pool.buffer(pool.acquire());
            MemorySegment r = pool.buffer(pool.acquire());
            int[] lens = {g.blockSize(), bs(), 16 * 1024, 64 * 1024};
            long off = 0;
            int tag = 0;
            for (int len : lens) {
                fillPattern(w, len, len);
                assertEquals(0, d.run(1, tag++, off, w, len));
                r.fill((byte) 0x5a);
                assertEquals(0, d.run(0, tag++, off, r, len));
                assertArrayEquals(bytes(w, len), bytes(r, len), "read back " + len + " bytes @" + off);
                off += 1 << 20;
            }
        }
    }

    @Test
    void neverWrittenBlocksReadAsZeros() {
        try (Driver d = new Driver(dev, 4, 4)) {
            MemorySegment r = dev.allocateDma(bs());
            r.fill((byte) 0x77);
            assertEquals(0, d.run(0, 0, g.capacity() - bs(), r, bs()));
            for (byte b : bytes(r, bs())) if (b != 0) fail("fresh device returned non-zero data");
        }
    }

    @Test
    void randomWritesAtDepthVerifiedByReads() {
        assumeTrue(retainsData(), "backend discards data");
        final int depth = 16;
        final int blk = bs();
        final int slots = 2048; // region: 2048 blocks spread over the device
        final long stride = Math.max(blk, (g.capacity() / slots) / blk * blk);
        SplittableRandom rnd = new SplittableRandom(42);
        long[] expectedSeed = new long[slots]; // 0 = never written
        BufferPool pool = BufferPool.allocate(dev, blk, depth);
        int[] slotOfTag = new int[depth];
        int[] bufOfTag = new int[depth];
        boolean[] busy = new boolean[slots];
        try (Driver d = new Driver(dev, depth, depth)) {
            pool.registerWith(d.q);
            int ops = 3000;
            int submitted = 0;
            java.util.ArrayDeque<Integer> freeTags = new java.util.ArrayDeque<>();
            for (int t = 0; t < depth; t++) freeTags.add(t);
            long writes = 0;
            while (submitted < ops) {
                while (!freeTags.isEmpty() && submitted < ops) {
                    int s = rnd.nextInt(slots);
                    if (busy[s]) break;
                    int tag = freeTags.poll();
                    int b = pool.acquire();
                    MemorySegment buf = pool.buffer(b);
                    long seed = expectedSeed[s] == 0 ? 0 : expectedSeed[s];
                    boolean write = rnd.nextInt(3) != 0;
                    if (write) {
                        seed = ((long) s << 32) | (++writes);
                        fillPattern(buf, blk, seed);
                        expectedSeed[s] = seed;
                    }
                    slotOfTag[tag] = s;
                    bufOfTag[tag] = b;
                    busy[s] = true;
                    d.completions[tag] = 0;
                    assertEquals(DeviceQueue.ACCEPTED, d.submit(write ? 1 : 0, tag, s * stride, buf, blk));
                    readExpect[tag] = write ? -1 : seed; // what this read must return
                    submitted++;
                }
                d.q.await(depth, 1_000_000);
                for (int t = 0; t < depth; t++) {
                    if (!freeTags.contains(t) && d.completions[t] == 1) {
                        assertEquals(0, d.statuses[t], "I/O failed: " + IoError.describe(d.statuses[t]));
                        if (readExpect[t] != -1) checkRead(pool.buffer(bufOfTag[t]), blk, readExpect[t], slotOfTag[t]);
                        busy[slotOfTag[t]] = false;
                        pool.release(bufOfTag[t]);
                        d.completions[t] = 0;
                        freeTags.add(t);
                    }
                }
            }
            d.drain();
            // final full verification pass
            MemorySegment r = pool.buffer(pool.acquire());
            for (int s = 0; s < slots; s += 7) {
                assertEquals(0, d.run(0, 0, s * stride, r, blk));
                checkRead(r, blk, expectedSeed[s], s);
            }
        }
    }

    private final long[] readExpect = new long[16];

    private static void checkRead(MemorySegment buf, int len, long seed, int slot) {
        if (seed == 0) {
            for (byte b : bytes(buf, len)) if (b != 0) fail("slot " + slot + " never written but not zero");
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment exp = a.allocate(len);
            fillPattern(exp, len, seed);
            assertArrayEquals(bytes(exp, len), bytes(buf, len), "slot " + slot + " content");
        }
    }

    @Test
    void manyQueuesOnManyThreadsAtOnce() throws Exception {
        assumeTrue(retainsData(), "backend discards data");
        final int threads = 4;
        final int blk = bs();
        final long region = 8L << 20;
        CyclicBarrier start = new CyclicBarrier(threads);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final long base = t * region;
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    BufferPool pool = BufferPool.allocate(dev, blk, 8);
                    try (Driver d = new Driver(dev, 8, 8)) {
                        pool.registerWith(d.q);
                        start.await();
                        int n = (int) (region / blk);
                        for (int i = 0; i < n; i += 8) { // 8 in flight per round
                            for (int k = 0; k < 8; k++) {
                                MemorySegment b = pool.buffer(k);
                                fillPattern(b, blk, (id * 1_000_003L) + i + k + 1);
                                d.completions[k] = 0;
                                assertEquals(DeviceQueue.ACCEPTED, d.submit(1, k, base + (long) (i + k) * blk, b, blk));
                            }
                            d.drain();
                            for (int k = 0; k < 8; k++) assertEquals(0, d.statuses[k]);
                        }
                        assertEquals(0, d.run(2, 0, 0, null, 0), "flush");
                        for (int i = 0; i < n; i += 5) {
                            MemorySegment b = pool.buffer(0);
                            d.completions[0] = 0;
                            assertEquals(0, d.run(0, 0, base + (long) i * blk, b, blk));
                            checkRead(b, blk, (id * 1_000_003L) + i + 1, i);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "conformance-" + t);
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) th.join();
        if (failure.get() != null) throw new AssertionError("a queue thread failed", failure.get());
    }

    // ---------------------------------------------------------------- request rules

    @Test
    void badRequestsAreRefusedWithTypedErrors() {
        try (Driver d = new Driver(dev, 4, 4)) {
            MemorySegment buf = dev.allocateDma(2L * bs() + 4096);
            int b = g.blockSize();
            assertEquals(IoError.ZERO_LENGTH.code(), d.q.read(0, buf, 0, 0));
            assertEquals(IoError.ZERO_LENGTH.code(), d.q.write(0, buf, 0, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), d.q.read(-b, buf, b, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), d.q.write(g.capacity(), buf, b, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), d.q.write(g.capacity() - b, buf, 2 * b, 0), "straddles the end");
            assertEquals(IoError.OUT_OF_RANGE.code(), d.q.read(Long.MAX_VALUE - b + 1, buf, b, 0), "overflowing offset");
            if (b > 1) {
                assertEquals(IoError.UNALIGNED.code(), d.q.read(b / 2, buf, b, 0));
                assertEquals(IoError.UNALIGNED.code(), d.q.write(0, buf, b + b / 2, 0));
                assertEquals(IoError.UNALIGNED.code(), d.q.trim(b / 2, b, 0));
            }
            assertEquals(IoError.BAD_BUFFER.code(), d.q.read(0, buf.asSlice(0, b / 2), b, 0), "buffer shorter than length");
            assertEquals(IoError.BAD_BUFFER.code(), d.q.write(0, MemorySegment.ofArray(new byte[b]), b, 0), "heap memory is not DMA memory");
            assertEquals(IoError.BAD_BUFFER.code(), d.q.write(0, null, b, 0));
            if (g.bufferAlignment() >= 16) {
                assertEquals(IoError.BAD_BUFFER.code(), d.q.write(0, buf.asSlice(8), b, 0), "misaligned buffer address");
            }
            if ((long) g.maxTransfer() + b <= g.capacity() && g.maxTransfer() < Integer.MAX_VALUE - b) {
                MemorySegment big = dev.allocateDma(g.maxTransfer() + b);
                assertEquals(IoError.TOO_LARGE.code(), d.q.read(0, big, g.maxTransfer() + b, 0));
            }
            assertEquals(0, d.q.inFlight(), "refused requests are not in flight");
            assertEquals(0, d.outstanding);
            // the queue still works after refusals
            if (retainsData()) assertEquals(0, d.run(1, 0, 0, buf, b));
        }
    }

    @Test
    void fullQueueReportsQueueFullAndRecovers() {
        final int depth = 4;
        try (Driver d = new Driver(dev, depth, depth + 2)) {
            MemorySegment buf = dev.allocateDma((long) bs() * (depth + 1));
            int accepted = 0;
            int st = DeviceQueue.ACCEPTED;
            for (int i = 0; i < depth + 1; i++) {
                st = d.submit(0, i, (long) i * bs(), buf.asSlice((long) i * bs(), bs()), bs());
                if (st == DeviceQueue.ACCEPTED) accepted++;
                else break;
            }
            assertEquals(depth, accepted, "exactly depth requests accepted");
            assertEquals(IoError.QUEUE_FULL.code(), st);
            assertEquals(depth, d.q.inFlight());
            d.drain();
            for (int i = 0; i < depth; i++) assertEquals(1, d.completions[i]);
            assertEquals(0, d.q.inFlight());
            assertEquals(0, d.run(0, depth, 0, buf, bs()), "accepts again after completions were reaped");
        }
    }

    // ---------------------------------------------------------------- flush, trim

    @Test
    void flushCompletesAndOrdersAfterWrites() {
        try (Driver d = new Driver(dev, 8, 8)) {
            MemorySegment buf = dev.allocateDma(bs());
            fillPattern(buf, bs(), 9);
            assertEquals(0, d.run(1, 0, 0, buf, bs()));
            assertEquals(0, d.run(2, 1, 0, null, 0));
            assertEquals(1, d.completions[1]);
        }
    }

    @Test
    void trimFollowsGeometry() {
        try (Driver d = new Driver(dev, 4, 4)) {
            MemorySegment buf = dev.allocateDma(2L * bs());
            fillPattern(buf, 2 * bs(), 3);
            long off = 4L << 20;
            assertEquals(0, d.run(1, 0, off, buf, 2 * bs()));
            int st = d.run(3, 1, off, null, bs());
            if (!g.trimSupported()) {
                assertEquals(IoError.UNSUPPORTED.code(), st);
                return;
            }
            assertEquals(0, st, IoError.describe(st));
            if (g.trimReadsZero() && retainsData()) {
                buf.fill((byte) 1);
                assertEquals(0, d.run(0, 2, off, buf, 2 * bs()));
                for (int i = 0; i < bs(); i++) if (buf.get(ValueLayout.JAVA_BYTE, i) != 0) fail("trimmed block not zero at " + i);
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment exp = a.allocate(2L * bs());
                    fillPattern(exp, 2 * bs(), 3);
                    assertArrayEquals(bytes(exp.asSlice(bs()), bs()), bytes(buf.asSlice(bs()), bs()), "block after the trimmed range intact");
                }
            }
        }
    }

    @Test
    void dataSurvivesCloseAndReopenAfterFlush() throws Exception {
        assumeTrue(retainsData(), "backend discards data");
        MemorySegment buf;
        try (Driver d = new Driver(dev, 4, 4)) {
            buf = dev.allocateDma(bs());
            fillPattern(buf, bs(), 77);
            assertEquals(0, d.run(1, 0, 12L << 20, buf, bs()));
            assertEquals(0, d.run(2, 1, 0, null, 0));
        }
        byte[] expect = bytes(buf, bs());
        dev.close();
        dev = reopenDevice(tmp);
        assumeTrue(dev != null, "backend does not persist across reopen");
        g = dev.geometry();
        try (Driver d = new Driver(dev, 4, 4)) {
            MemorySegment r = dev.allocateDma(bs());
            assertEquals(0, d.run(0, 0, 12L << 20, r, bs()));
            assertArrayEquals(expect, bytes(r, bs()));
        }
    }

    // ---------------------------------------------------------------- close

    @Test
    void closingAQueueWithIoInFlightCompletesEveryRequestOnce() {
        final int depth = 32;
        Driver d = new Driver(dev, depth, depth);
        MemorySegment buf = dev.allocateDma((long) bs() * depth);
        for (int i = 0; i < depth; i++) {
            assertEquals(DeviceQueue.ACCEPTED, d.submit(i % 2, i, (long) i * bs(), buf.asSlice((long) i * bs(), bs()), bs()));
        }
        d.q.close();
        for (int i = 0; i < depth; i++) {
            assertEquals(1, d.completions[i], "request " + i + " completed exactly once");
            int st = d.statuses[i];
            assertTrue(st == 0 || st == IoError.CLOSED.code(), "status " + IoError.describe(st));
        }
        assertEquals(0, d.outstanding);
        assertEquals(IoError.CLOSED.code(), d.q.read(0, buf, bs(), 0), "a closed queue refuses work");
        assertEquals(0, d.q.poll(8), "nothing is delivered after close");
        d.q.close(); // idempotent
    }

    @Test
    void closingTheDeviceFailsLaterSubmissionsAndQueueOpens() {
        Driver d = new Driver(dev, 4, 8);
        MemorySegment buf = dev.allocateDma(bs());
        assertEquals(0, d.run(0, 0, 0, buf, bs()));
        dev.close();
        assertEquals(IoError.CLOSED.code(), d.q.write(0, buf, bs(), 1));
        assertEquals(IoError.CLOSED.code(), d.q.flush(2));
        DeviceException e = assertThrows(DeviceException.class, () -> dev.openQueue(4, (t, s) -> { }));
        assertEquals(IoError.CLOSED, e.error());
        d.q.close();
        dev.close(); // idempotent
    }

    @Test
    void completionsAreDeliveredOnlyOnTheOwnerThreadDuringPoll() throws Exception {
        Thread owner = Thread.currentThread();
        AtomicReference<Thread> seen = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        DeviceQueue q = dev.openQueue(4, (t, s) -> { seen.set(Thread.currentThread()); done.countDown(); });
        try {
            MemorySegment buf = dev.allocateDma(bs());
            assertEquals(DeviceQueue.ACCEPTED, q.read(0, buf, bs(), 5));
            assertFalse(done.getCount() == 0, "no completion before poll");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (done.getCount() > 0 && System.nanoTime() < deadline) q.await(4, 1_000_000);
            assertEquals(owner, seen.get());
        } finally {
            q.close();
        }
    }
}
