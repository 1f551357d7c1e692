package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultyBlockDeviceTest {
    static final int BS = 512;

    static FaultyBlockDevice open(String uri) {
        return assertInstanceOf(FaultyBlockDevice.class, BlockDevices.open(uri));
    }

    static void fill(MemorySegment b, int len, int seed) {
        for (int i = 0; i < len; i++) b.set(ValueLayout.JAVA_BYTE, i, (byte) (seed * 31 + i * 7 + 1));
    }

    static MemorySegment pattern(BlockDevice d, int len, int seed) {
        MemorySegment b = d.allocateDma(len);
        fill(b, len, seed);
        return b;
    }

    /** Number of differing bits between two buffers over [off, off + len). */
    static int bitDiff(MemorySegment a, MemorySegment b, long off, long len) {
        int n = 0;
        for (long i = off; i < off + len; i++)
            n += Integer.bitCount((a.get(ValueLayout.JAVA_BYTE, i) ^ b.get(ValueLayout.JAVA_BYTE, i)) & 0xff);
        return n;
    }

    /** Statuses of n one-at-a-time operations. */
    static List<Integer> statuses(SyncIo io, int op, int n, long offset, MemorySegment buf, int len) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(io.tryRun(op, offset, buf, len));
        return out;
    }

    static final int R = 0, W = 1, F = 2, T = 3;
    static final int OK = 0, EIO = IoError.IO_ERROR.code(), ENOSPC = IoError.NO_SPACE.code();

    // ---- parsing --------------------------------------------------------------------------------

    @Test
    void unknownModesAndKeysListTheValidOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("faulty:explode:mem:1m"));
        assertTrue(e.getMessage().contains("eio-read") && e.getMessage().contains("powerloss"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("faulty:eio-read,often=3:mem:1m"));
        assertTrue(e.getMessage().contains("every") && e.getMessage().contains("offset"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("faulty:powerloss,every=3:mem:1m"));
        assertTrue(e.getMessage().contains("leak") && e.getMessage().contains("tear"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("faulty:none,every=3:mem:1m"));
        assertTrue(e.getMessage().contains("name"), e.getMessage());
    }

    @Test
    void malformedValuesAreRejected() {
        for (String bad : new String[]{"faulty:mem:1m" /* mode 'mem' */, "faulty:eio-read", "faulty:eio-read:",
                "faulty:eio-read,every=0:mem:1m", "faulty:eio-read,every=x:mem:1m", "faulty:eio-read,every:mem:1m",
                "faulty:eio-read,prob=0:mem:1m", "faulty:eio-read,prob=1.5:mem:1m", "faulty:eio-read,prob=NaN:mem:1m",
                "faulty:eio-read,after=-1:mem:1m", "faulty:eio-read,offset=8k-4k:mem:1m", "faulty:eio-read,offset=4k:mem:1m",
                "faulty:eio-flush,offset=0-4k:mem:1m", "faulty:eio-read,seed=3:mem:1m", "faulty:powerloss,leak=2:mem:1m",
                "faulty:powerloss,tear=100:mem:1m", "faulty:powerloss,tear=0:mem:1m", "faulty:eio-read,count=0:mem:1m"}) {
            assertThrows(IllegalArgumentException.class, () -> BlockDevices.open(bad).close(), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("faulty:none:nosuch:1m"));
    }

    @Test
    void innerUriIsKeptWholeWithItsQueryOptions() {
        try (FaultyBlockDevice d = open("faulty:none:mem:4m?bs=4096")) {
            assertEquals("mem:4m?bs=4096", d.inner().uri());
            assertEquals(4096, d.geometry().blockSize());
            assertEquals(d.inner().geometry(), d.geometry());
            assertFalse(d.geometry().volatileCache());
        }
        try (FaultyBlockDevice d = open("faulty:powerloss:mem:4m")) {
            assertTrue(d.geometry().volatileCache());
            assertEquals(d.inner().geometry().capacity(), d.geometry().capacity());
        }
    }

    // ---- error modes ----------------------------------------------------------------------------

    @Test
    void eioReadEveryNth() {
        try (FaultyBlockDevice d = open("faulty:eio-read,every=3:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BS);
            assertEquals(List.of(OK, OK, EIO, OK, OK, EIO, OK, OK, EIO), statuses(io, R, 9, 0, b, BS));
            assertEquals(OK, io.tryRun(W, 0, b, BS)); // writes untouched
            assertEquals(3, d.injector().injectedErrors());
        }
    }

    @Test
    void failedWriteWritesNothing() {
        try (FaultyBlockDevice d = open("faulty:eio-write,count=1:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 1), r = d.allocateDma(4096);
            assertEquals(EIO, io.tryRun(W, 8192, a, 4096));
            io.read(8192, r, 4096);
            assertEquals(-1, r.mismatch(d.allocateDma(4096)), "a failed write must not reach the device");
            assertEquals(OK, io.tryRun(W, 8192, a, 4096)); // count=1: only the first
            io.read(8192, r, 4096);
            assertEquals(-1, r.mismatch(a));
        }
    }

    @Test
    void enospcAfterTheFirstN() {
        try (FaultyBlockDevice d = open("faulty:enospc-write,after=2:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BS);
            assertEquals(List.of(OK, OK, ENOSPC, ENOSPC, ENOSPC), statuses(io, W, 5, 0, b, BS));
            assertEquals(OK, io.tryRun(R, 0, b, BS));
            assertEquals(OK, io.tryRun(F, 0, null, 0));
        }
    }

    @Test
    void eioFlushAndTrim() {
        try (FaultyBlockDevice d = open("faulty:eio-flush:mem:1m"); SyncIo io = new SyncIo(d)) {
            assertEquals(EIO, io.tryRun(F, 0, null, 0));
            assertEquals(OK, io.tryRun(T, 0, null, 4096));
        }
        try (FaultyBlockDevice d = open("faulty:eio-trim,every=2:mem:1m"); SyncIo io = new SyncIo(d)) {
            assertEquals(OK, io.tryRun(T, 0, null, 4096));
            assertEquals(EIO, io.tryRun(T, 0, null, 4096));
            assertEquals(OK, io.tryRun(F, 0, null, 0));
        }
    }

    @Test
    void offsetRangeSelectsOverlappingRequestsOnly() {
        try (FaultyBlockDevice d = open("faulty:eio-read,offset=4k-8k:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(16384);
            assertEquals(OK, io.tryRun(R, 0, b, 4096));
            assertEquals(EIO, io.tryRun(R, 4096, b, 512));
            assertEquals(EIO, io.tryRun(R, 8192 - 512, b, 512));
            assertEquals(EIO, io.tryRun(R, 0, b, 16384)); // overlaps
            assertEquals(OK, io.tryRun(R, 8192, b, 4096));
        }
    }

    @Test
    void probabilityIsReproducibleFromTheSeed() {
        List<Integer> first, again, other;
        String base = "faulty:eio-read,prob=0.5,seed=";
        try (FaultyBlockDevice d = open(base + "42:mem:1m"); SyncIo io = new SyncIo(d)) {
            first = statuses(io, R, 200, 0, d.allocateDma(BS), BS);
        }
        try (FaultyBlockDevice d = open(base + "42:mem:1m"); SyncIo io = new SyncIo(d)) {
            again = statuses(io, R, 200, 0, d.allocateDma(BS), BS);
        }
        try (FaultyBlockDevice d = open(base + "43:mem:1m"); SyncIo io = new SyncIo(d)) {
            other = statuses(io, R, 200, 0, d.allocateDma(BS), BS);
        }
        assertEquals(first, again);
        assertNotEquals(first, other);
        long failed = first.stream().filter(s -> s == EIO).count();
        assertTrue(failed > 60 && failed < 140, "failed " + failed + " of 200 at p=0.5");
    }

    @Test
    void everyAndAfterCombine() {
        try (FaultyBlockDevice d = open("faulty:eio-write,after=4,every=2,count=2:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BS);
            // candidates 1..4 spared; of the rest only even ones; at most 2 hits
            assertEquals(List.of(OK, OK, OK, OK, OK, EIO, OK, EIO, OK, OK, OK, OK), statuses(io, W, 12, 0, b, BS));
        }
    }

    // ---- corruption -----------------------------------------------------------------------------

    @Test
    void corruptReadFlipsOneBitPerBlockAndLeavesTheDeviceIntact() {
        try (FaultyBlockDevice d = open("faulty:corrupt-read:mem:1m"); SyncIo io = new SyncIo(d); SyncIo raw = new SyncIo(d.inner())) {
            MemorySegment a = pattern(d, 8192, 2), r = d.allocateDma(8192);
            io.write(0, a, 8192);
            io.read(0, r, 8192);
            for (int blk = 0; blk < 8192 / BS; blk++) assertEquals(1, bitDiff(a, r, (long) blk * BS, BS), "block " + blk);
            raw.read(0, r, 8192);
            assertEquals(-1, r.mismatch(a), "the device content must stay intact");
            assertEquals(1, d.injector().corruptedReads());
        }
    }

    @Test
    void corruptWriteStoresFlippedDataAndRestoresTheCallersBuffer() {
        try (FaultyBlockDevice d = open("faulty:corrupt-write,count=1:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 4096, 3), copy = pattern(d, 4096, 3), r = d.allocateDma(4096);
            io.write(4096, a, 4096);
            assertEquals(-1, a.mismatch(copy), "caller's buffer restored on completion");
            io.read(4096, r, 4096);
            for (int blk = 0; blk < 4096 / BS; blk++) assertEquals(1, bitDiff(a, r, (long) blk * BS, BS));
            io.write(4096, a, 4096); // count=1: the second is clean
            io.read(4096, r, 4096);
            assertEquals(-1, r.mismatch(a));
            assertEquals(1, d.injector().corruptedWrites());
        }
    }

    @Test
    void corruptionStaysInsideItsRange() {
        try (FaultyBlockDevice d = open("faulty:none:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment a = pattern(d, 8192, 4), r = d.allocateDma(8192);
            io.write(0, a, 8192);
            FaultRule rule = d.injector().corruptReadsIn(1024, 1000); // blocks 2 and 3, partly
            io.read(0, r, 8192);
            assertEquals(0, bitDiff(a, r, 0, 1024));
            assertEquals(2, bitDiff(a, r, 1024, 1000));
            assertEquals(0, bitDiff(a, r, 2024, 8192 - 2024));
            io.read(4096, r, 4096); // outside: not a candidate
            assertEquals(0, bitDiff(a.asSlice(4096), r, 0, 4096));
            assertEquals(1, rule.hits());
            assertTrue(d.injector().disarm(rule));
            io.read(0, r, 8192);
            assertEquals(-1, r.mismatch(a));
        }
    }

    // ---- injector -------------------------------------------------------------------------------

    @Test
    void failNextArmsAtRunTimeAndCounts() {
        try (FaultyBlockDevice d = open("faulty:none:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BS);
            FaultInjector inj = d.injector();
            assertEquals(OK, io.tryRun(W, 0, b, BS));
            FaultRule r = inj.failNext(IoOp.WRITE, IoError.DEVICE_LOST, 2);
            assertEquals(OK, io.tryRun(R, 0, b, BS));
            assertEquals(List.of(IoError.DEVICE_LOST.code(), IoError.DEVICE_LOST.code(), OK), statuses(io, W, 3, 0, b, BS));
            assertTrue(r.exhausted());
            assertEquals(2, r.hits());
            assertEquals(2, inj.injectedErrors());
            inj.arm(FaultRule.fail(IoOp.FLUSH, IoError.OTHER).every(2));
            assertEquals(List.of(OK, IoError.OTHER.code()), statuses(io, F, 2, 0, null, 0));
            inj.disarmAll();
            assertEquals(OK, io.tryRun(F, 0, null, 0));
            assertTrue(inj.rules().isEmpty());
        }
    }

    @Test
    void rulesFromAnotherThreadReachARunningQueue() throws Exception {
        try (FaultyBlockDevice d = open("faulty:none:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BS);
            Thread t = new Thread(() -> d.injector().failNext(IoOp.READ, IoError.IO_ERROR, 1));
            t.start();
            t.join();
            assertEquals(EIO, io.tryRun(R, 0, b, BS));
            assertEquals(OK, io.tryRun(R, 0, b, BS));
        }
    }

    @Test
    void crashMakesEveryRequestFailWithDeviceLost() {
        try (FaultyBlockDevice d = open("faulty:none:mem:1m"); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BS);
            int[] pending = {1};
            DeviceQueue q = d.openQueue(2, (tag, st) -> pending[0] = st);
            assertEquals(DeviceQueue.ACCEPTED, q.write(0, b, BS, 77)); // accepted, not yet delivered
            d.injector().crash();
            assertTrue(d.injector().crashed());
            int lost = IoError.DEVICE_LOST.code();
            assertEquals(1, q.poll(4));
            assertEquals(lost, pending[0], "a completion not delivered before the crash is lost too");
            for (int op = 0; op < 4; op++) assertEquals(lost, io.tryRun(op, 0, b, BS), "op " + op);
            assertEquals(IoError.UNALIGNED.code(), q.read(3, b, BS, 1), "bad requests stay bad");
            q.close();
        }
    }

    @Test
    void namedInjectorIsFoundWhileOpen() {
        FaultyBlockDevice d = open("faulty:none,name=unit-a:mem:1m");
        assertSame(d.injector(), FaultyBlockDevice.injector("unit-a"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("faulty:eio-read,name=unit-a:mem:1m"));
        d.close();
        assertThrows(IllegalArgumentException.class, () -> FaultyBlockDevice.injector("unit-a"));
        open("faulty:none,name=unit-a:mem:1m").close(); // the name is free again
    }

    // ---- queue behaviour ------------------------------------------------------------------------

    @Test
    void queueDepthValidationAndClose() {
        try (FaultyBlockDevice d = open("faulty:eio-read,every=2:mem:1m")) {
            List<long[]> got = new ArrayList<>();
            DeviceQueue q = d.openQueue(3, (tag, st) -> got.add(new long[]{tag, st}));
            MemorySegment b = d.allocateDma(BS);
            assertEquals(IoError.UNALIGNED.code(), q.read(1, b, BS, 0));
            assertEquals(IoError.ZERO_LENGTH.code(), q.write(0, b, 0, 0));
            assertEquals(IoError.OUT_OF_RANGE.code(), q.read(1 << 20, b, BS, 0));
            assertEquals(IoError.BAD_BUFFER.code(), q.read(0, b, 1024, 0));
            for (int i = 0; i < 3; i++) assertEquals(DeviceQueue.ACCEPTED, q.read(0, b, BS, i));
            assertEquals(IoError.QUEUE_FULL.code(), q.read(0, b, BS, 3));
            assertEquals(3, q.inFlight());
            q.close(); // delivers everything with real statuses (an injected error needs no device: it comes first)
            assertEquals(3, got.size());
            got.sort(java.util.Comparator.comparingLong(x -> x[0]));
            assertEquals(List.of(0L, (long) EIO, 0L), got.stream().map(x -> x[1]).toList());
            assertEquals(IoError.CLOSED.code(), q.read(0, b, BS, 9));
        }
    }

    @Test
    void allocateDmaComesFromTheInnerDeviceAndStopsAtClose() {
        FaultyBlockDevice d = open("faulty:none:mem:1m");
        MemorySegment m = d.allocateDma(8192);
        assertEquals(8192, m.byteSize());
        assertEquals(0, m.address() % d.geometry().bufferAlignment());
        d.close();
        assertThrows(DeviceException.class, () -> d.allocateDma(512));
    }
}
