package io.dsf.blockstore.backend.delay;

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
class DelayBlockDeviceTest {

    /** Records completions with their delivery time. */
    private static final class Recorder {
        final List<Long> tags = new ArrayList<>();
        final List<Integer> statuses = new ArrayList<>();
        final List<Long> at = new ArrayList<>();

        void on(long tag, int st) {
            tags.add(tag);
            statuses.add(st);
            at.add(System.nanoTime());
        }
    }

    private static void awaitCount(DeviceQueue q, Recorder r, int n) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (r.tags.size() < n) {
            q.await(64, 100_000_000);
            assertTrue(System.nanoTime() < deadline, "completions did not arrive");
        }
    }

    @Test
    void malformedUrisAreRejectedWithAClearMessage() {
        for (String bad : new String[]{"delay:100", "delay:abc:mem:1m", "delay:-1:mem:1m", "delay:100:", "delay::mem:1m",
                "delay:99999999999999:mem:1m"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open(bad), bad);
            assertTrue(e.getMessage().contains("delay"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("delay:10:nosuch:1m"));
    }

    @Test
    void geometryAndDataAreTheInnerDevices() {
        try (BlockDevice d = BlockDevices.open("delay:0:mem:4m?bs=4096"); SyncIo io = new SyncIo(d)) {
            assertInstanceOf(DelayBlockDevice.class, d);
            assertEquals("delay:0:mem:4m?bs=4096", d.uri());
            assertEquals(4L << 20, d.geometry().capacity());
            assertEquals(4096, d.geometry().blockSize());
            assertEquals(((DelayBlockDevice) d).inner().geometry(), d.geometry());
            MemorySegment w = d.allocateDma(8192), r = d.allocateDma(8192);
            for (int i = 0; i < 8192; i++) w.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
            io.write(4096, w, 8192);
            io.flush();
            io.read(4096, r, 8192);
            assertEquals(-1, w.mismatch(r));
            assertEquals(IoError.UNALIGNED.code(), io.queue().read(100, r, 512 * 8, 9));
        }
    }

    @Test
    void noCompletionBeforeTheDelay() {
        long delayNanos = 200_000_000L; // 200 ms: long enough that the immediate poll below is early
        try (BlockDevice d = BlockDevices.open("delay:200000:mem:1m")) {
            Recorder rec = new Recorder();
            DeviceQueue q = d.openQueue(4, rec::on);
            MemorySegment b = d.allocateDma(4096);
            long t0 = System.nanoTime();
            assertEquals(DeviceQueue.ACCEPTED, q.write(0, b, 4096, 42));
            assertEquals(0, q.poll(8), "delivered before its delay");
            assertEquals(1, q.inFlight());
            awaitCount(q, rec, 1);
            assertEquals(42L, rec.tags.getFirst());
            assertEquals(0, rec.statuses.getFirst());
            assertTrue(rec.at.getFirst() - t0 >= delayNanos, "delivered after " + (rec.at.getFirst() - t0) + " ns");
            assertEquals(0, q.inFlight());
            q.close();
        }
    }

    @Test
    void depthAndOrderArePreservedAndEachIsHeldLongEnough() {
        long delayNanos = 2_000_000L;
        try (BlockDevice d = BlockDevices.open("delay:2000:mem:1m")) {
            Recorder rec = new Recorder();
            DeviceQueue q = d.openQueue(8, rec::on);
            assertEquals(8, q.depth());
            MemorySegment b = d.allocateDma(512);
            long[] submitted = new long[8];
            for (int i = 0; i < 8; i++) {
                submitted[i] = System.nanoTime();
                assertEquals(DeviceQueue.ACCEPTED, i % 2 == 0 ? q.write(i * 512L, b, 512, i) : q.read(i * 512L, b, 512, i));
            }
            assertEquals(IoError.QUEUE_FULL.code(), q.flush(99));
            assertEquals(8, q.inFlight());
            awaitCount(q, rec, 8);
            for (int i = 0; i < 8; i++) {
                assertEquals(i, rec.tags.get(i));
                assertTrue(rec.at.get(i) - submitted[i] >= delayNanos);
            }
            // slots are reused after delivery: a second round works
            for (int i = 0; i < 8; i++) assertEquals(DeviceQueue.ACCEPTED, q.flush(100 + i));
            awaitCount(q, rec, 16);
            assertEquals(107L, rec.tags.get(15));
            q.close();
        }
    }

    @Test
    void handlerMaySubmitFromInsideACompletion() {
        try (BlockDevice d = BlockDevices.open("delay:100:mem:1m")) {
            MemorySegment b = d.allocateDma(512);
            DeviceQueue[] q = new DeviceQueue[1];
            int[] done = {0};
            q[0] = d.openQueue(1, (tag, st) -> {
                done[0]++;
                if (tag < 5) assertEquals(DeviceQueue.ACCEPTED, q[0].write(0, b, 512, tag + 1));
            });
            assertEquals(DeviceQueue.ACCEPTED, q[0].write(0, b, 512, 0));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (done[0] < 6 && System.nanoTime() < deadline) q[0].await(1, 10_000_000);
            assertEquals(6, done[0]);
            q[0].close();
        }
    }

    @Test
    void closeDeliversHeldCompletionsAtOnce() {
        try (BlockDevice d = BlockDevices.open("delay:30000000:mem:1m")) { // 30 s
            Recorder rec = new Recorder();
            DeviceQueue q = d.openQueue(4, rec::on);
            MemorySegment b = d.allocateDma(512);
            for (int i = 0; i < 3; i++) assertEquals(DeviceQueue.ACCEPTED, q.write(0, b, 512, i));
            assertEquals(0, q.poll(4));
            long t0 = System.nanoTime();
            q.close();
            assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
            assertEquals(List.of(0L, 1L, 2L), rec.tags);
            assertEquals(List.of(0, 0, 0), rec.statuses);
            assertEquals(IoError.CLOSED.code(), q.write(0, b, 512, 9));
            q.close(); // idempotent
        }
    }

    @Test
    void closedDeviceRefusesWork() {
        BlockDevice d = BlockDevices.open("delay:10:mem:1m");
        Recorder rec = new Recorder();
        DeviceQueue q = d.openQueue(2, rec::on);
        MemorySegment b = d.allocateDma(512);
        d.close();
        assertEquals(IoError.CLOSED.code(), q.read(0, b, 512, 1));
        assertEquals(0, q.await(1, 1_000_000));
        q.close();
        assertThrows(DeviceException.class, () -> d.openQueue(2, rec::on));
        assertThrows(DeviceException.class, () -> d.allocateDma(512));
    }
}
