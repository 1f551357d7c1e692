package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Behaviour every {@code spdk:} device must show, on the emulator ({@link SpdkBlockDeviceTest}) and
 * on a real SPDK target ({@link SpdkHardwareTest}). Data is written in the first 8 MiB only.
 */
abstract class SpdkDeviceContract {
    protected BlockDevice device;

    /** A device of at least 8 MiB whose first 8 MiB may be overwritten. */
    protected abstract BlockDevice openDevice() throws Exception;

    @AfterEach
    void closeDevice() {
        if (device != null) device.close();
    }

    BlockDevice dev() throws Exception {
        if (device == null) device = openDevice();
        return device;
    }

    static int drain(DeviceQueue q, Recorder r, int expected) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (r.count < expected) {
            q.await(64, 1_000_000);
            if (System.nanoTime() > deadline) throw new AssertionError("only " + r.count + " of " + expected + " completions");
        }
        return r.count;
    }

    static void fill(MemorySegment s, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < s.byteSize(); i += 8) s.set(JAVA_LONG, i, rnd.nextLong());
    }

    @Test
    void geometryIsSane() throws Exception {
        Geometry g = dev().geometry();
        assertTrue(g.capacity() >= 8 << 20, "capacity " + g.capacity());
        assertTrue(g.blockSize() == 512 || g.blockSize() == 4096, "block " + g.blockSize());
        assertTrue(g.maxTransfer() >= g.blockSize() && g.maxTransfer() % g.blockSize() == 0);
    }

    @Test
    void randomWritesReadBackWithManyInFlight() throws Exception {
        Geometry g = dev().geometry();
        int bs = 4096, n = 256, depth = 32;
        MemorySegment dma = dev().allocateDma((long) bs * n);
        MemorySegment back = dev().allocateDma((long) bs * n);
        fill(dma, 42);
        int[] order = new SplittableRandom(7).ints(0, n).distinct().limit(n).toArray();
        Recorder w = new Recorder(n);
        try (DeviceQueue q = dev().openQueue(depth, w)) {
            int next = 0;
            while (w.count < n) {
                while (next < n) {
                    int blk = order[next];
                    int st = q.write((long) blk * bs, dma.asSlice((long) blk * bs, bs), bs, blk);
                    if (st == IoError.QUEUE_FULL.code()) break;
                    assertEquals(DeviceQueue.ACCEPTED, st, IoError.describe(st));
                    next++;
                }
                q.await(depth, 1_000_000);
            }
            for (int i = 0; i < n; i++) assertEquals(0, w.status[i], "write " + i + ": " + IoError.describe(w.status[i]));
            assertEquals(0, q.inFlight());
        }
        Recorder r = new Recorder(n);
        try (DeviceQueue q = dev().openQueue(depth, r)) {
            for (int i = 0; i < n; i += depth) {
                for (int j = i; j < Math.min(n, i + depth); j++)
                    assertEquals(0, q.read((long) j * bs, back.asSlice((long) j * bs, bs), bs, j));
                drain(q, r, Math.min(n, i + depth));
            }
            for (int i = 0; i < n; i++) assertEquals(0, r.status[i]);
            assertEquals(-1, dma.mismatch(back), "data read back differs");
            assertEquals(0, q.inFlight());
        }
        assertTrue(g.capacity() > (long) bs * n);
    }

    @Test
    void flushAndTrim() throws Exception {
        Geometry g = dev().geometry();
        MemorySegment buf = dev().allocateDma(64 << 10);
        fill(buf, 3);
        Recorder r = new Recorder(4);
        try (DeviceQueue q = dev().openQueue(8, r)) {
            assertEquals(0, q.write(1 << 20, buf, 64 << 10, 0));
            drain(q, r, 1);
            assertEquals(0, q.flush(1));
            drain(q, r, 2);
            assertEquals(0, r.status[0]);
            assertEquals(0, r.status[1]);
            assertEquals(0, q.trim(1 << 20, 32 << 10, 2));
            drain(q, r, 3);
            assertEquals(g.trimSupported() ? 0 : IoError.UNSUPPORTED.code(), r.status[2]);
            MemorySegment back = dev().allocateDma(64 << 10);
            back.fill((byte) 0x5a);
            assertEquals(0, q.read(1 << 20, back, 64 << 10, 3));
            drain(q, r, 4);
            assertEquals(0, r.status[3]);
            if (g.trimReadsZero()) {
                assertEquals(-1, back.asSlice(0, 32 << 10).mismatch(MemorySegment.ofArray(new byte[32 << 10])), "trimmed blocks read zero");
            }
            assertEquals(-1, back.asSlice(32 << 10).mismatch(buf.asSlice(32 << 10)), "blocks beside the trim are kept");
        }
    }

    @Test
    void badRequestsAreRefusedWithTypedStatuses() throws Exception {
        Geometry g = dev().geometry();
        MemorySegment dma = dev().allocateDma(1 << 20);
        Recorder r = new Recorder(1);
        try (DeviceQueue q = dev().openQueue(4, r); Arena a = Arena.ofConfined()) {
            int bs = g.blockSize();
            assertEquals(IoError.UNALIGNED.code(), q.read(1, dma, bs, 0));
            assertEquals(IoError.UNALIGNED.code(), q.write(0, dma, bs + 1, 0));
            assertEquals(IoError.ZERO_LENGTH.code(), q.read(0, dma, 0, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), q.read(g.capacity(), dma, bs, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), q.write(-bs, dma, bs, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), q.trim(g.capacity() - bs, 2L * bs, 0));
            if (g.maxTransfer() < (1 << 20))
                assertEquals(IoError.TOO_LARGE.code(), q.read(0, dma, g.maxTransfer() + bs, 0));
            MemorySegment notDma = a.allocate(4096, 4096);
            assertEquals(IoError.BAD_BUFFER.code(), q.write(0, notDma, 4096, 0), "memory not from allocateDma");
            assertEquals(IoError.BAD_BUFFER.code(), q.write(0, MemorySegment.ofArray(new byte[4096]), 4096, 0), "heap memory");
            assertEquals(IoError.BAD_BUFFER.code(), q.write(0, dma.asSlice(1, 4096), 4096, 0), "misaligned");
            assertEquals(IoError.BAD_BUFFER.code(), q.write(0, dma.asSlice(0, bs), 2 * bs, 0), "buffer shorter than length");
            assertEquals(0, q.inFlight(), "refused requests are not in flight");
            assertEquals(0, r.count);
        }
    }

    @Test
    void queueFullIsBackPressure() throws Exception {
        MemorySegment dma = dev().allocateDma(4 * 4096);
        Recorder r = new Recorder(5);
        try (DeviceQueue q = dev().openQueue(4, r)) {
            for (int i = 0; i < 4; i++) assertEquals(0, q.read(i * 4096L, dma.asSlice(i * 4096L, 4096), 4096, i));
            assertEquals(IoError.QUEUE_FULL.code(), q.read(0, dma, 4096, 4));
            assertEquals(4, q.inFlight());
            drain(q, r, 4);
            assertEquals(0, q.read(0, dma, 4096, 4));
            drain(q, r, 5);
        }
    }

    @Test
    void closeWithInFlightCompletesEveryRequestOnce() throws Exception {
        int n = 16;
        MemorySegment dma = dev().allocateDma(n * 4096L);
        Recorder r = new Recorder(n);
        DeviceQueue q = dev().openQueue(n, r);
        for (int i = 0; i < n; i++) assertEquals(0, q.write(i * 4096L, dma.asSlice(i * 4096L, 4096), 4096, i));
        q.close();
        assertEquals(n, r.count, "every accepted request completed by close");
        for (int st : r.status) assertTrue(st == 0 || st == IoError.CLOSED.code(), IoError.describe(st));
        assertEquals(IoError.CLOSED.code(), q.write(0, dma, 4096, 0));
        q.close(); // idempotent
    }

    @Test
    void deviceCloseRefusesNewWorkAndReleasesAfterLastQueue() throws Exception {
        MemorySegment dma = dev().allocateDma(8192);
        Recorder r = new Recorder(2);
        DeviceQueue q = dev().openQueue(4, r);
        assertEquals(0, q.write(0, dma, 4096, 0));
        dev().close();
        assertEquals(IoError.CLOSED.code(), q.write(4096, dma, 4096, 1));
        drain(q, r, 1);
        assertEquals(0, r.status[0], "in-flight write finishes normally");
        dma.get(JAVA_LONG, 0); // still mapped while a queue is open
        q.close();
        assertThrows(IllegalStateException.class, () -> dma.get(JAVA_LONG, 0), "DMA memory freed with the device");
        assertThrows(io.dsf.blockstore.spi.DeviceException.class, () -> device.allocateDma(4096));
    }

    @Test
    void queuesOnManyThreads() throws Exception {
        int threads = 4, per = 64, bs = 4096;
        BlockDevice d = dev();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    MemorySegment buf = d.allocateDma((long) per * bs);
                    MemorySegment back = d.allocateDma((long) per * bs);
                    fill(buf, id);
                    long base = (long) id * per * bs;
                    Recorder w = new Recorder(per), rd = new Recorder(per);
                    try (DeviceQueue q = d.openQueue(per, w)) {
                        for (int i = 0; i < per; i++) assertEquals(0, q.write(base + (long) i * bs, buf.asSlice((long) i * bs, bs), bs, i));
                        drain(q, w, per);
                    }
                    try (DeviceQueue q = d.openQueue(per, rd)) {
                        for (int i = 0; i < per; i++) assertEquals(0, q.read(base + (long) i * bs, back.asSlice((long) i * bs, bs), bs, i));
                        drain(q, rd, per);
                    }
                    for (int i = 0; i < per; i++) assertEquals(0, w.status[i] | rd.status[i]);
                    assertEquals(-1, buf.mismatch(back));
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread t : ts) t.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
    }

    @Test
    void aQueueRefusesOtherThreads() throws Exception {
        MemorySegment dma = dev().allocateDma(4096);
        try (DeviceQueue q = dev().openQueue(4, new Recorder(1))) {
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    q.read(0, dma, 4096, 0);
                } catch (Throwable e) {
                    seen.set(e);
                }
            });
            t.join();
            assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
            assertTrue(seen.get().getMessage().contains("belongs to one thread"));
            assertEquals(0, q.inFlight());
        }
    }

    @Test
    void aThrowingHandlerDoesNotLoseCompletions() throws Exception {
        MemorySegment dma = dev().allocateDma(4 * 4096);
        int[] seen = new int[1];
        try (DeviceQueue q = dev().openQueue(4, (tag, st) -> {
            seen[0]++;
            if (tag == 1) throw new IllegalStateException("handler bug");
        })) {
            for (int i = 0; i < 4; i++) assertEquals(0, q.read(i * 4096L, dma.asSlice(i * 4096L, 4096), 4096, i));
            IllegalStateException e = null;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (seen[0] < 4 && System.nanoTime() < deadline) {
                try {
                    q.await(4, 1_000_000);
                } catch (IllegalStateException x) {
                    e = x;
                }
            }
            assertEquals("handler bug", e == null ? null : e.getMessage(), "the handler's exception surfaces from poll");
            assertEquals(4, seen[0]);
            assertEquals(0, q.inFlight());
        }
    }

    @Test
    void aHandlerMayCloseItsQueueAndPollReentrantly() throws Exception {
        MemorySegment dma = dev().allocateDma(8 * 4096);
        Recorder r = new Recorder(8);
        DeviceQueue[] self = new DeviceQueue[1];
        self[0] = dev().openQueue(8, (tag, st) -> {
            r.onComplete(tag, st);
            self[0].poll(8); // re-entrant poll delivers nothing twice
            if (tag == 0) self[0].close();
        });
        DeviceQueue q = self[0];
        for (int i = 0; i < 8; i++) assertEquals(0, q.read(i * 4096L, dma.asSlice(i * 4096L, 4096), 4096, i));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (r.count < 8 && System.nanoTime() < deadline) q.poll(8);
        assertEquals(8, r.count, "every request completed exactly once");
        for (int st : r.status) assertTrue(st == 0 || st == IoError.CLOSED.code(), IoError.describe(st));
        assertEquals(IoError.CLOSED.code(), q.read(0, dma, 4096, 0));
        dev().close();
        device = null; // released: the queue's close went through
    }
}
