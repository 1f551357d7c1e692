package io.dsf.bench;

import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Short runs of the load generator on memory devices (about 1 s each). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoadGeneratorTest {
    private final StringWriter errText = new StringWriter();
    private final PrintWriter err = new PrintWriter(errText, true);

    private static BenchConfig.Builder quick(String target) {
        return BenchConfig.builder(target).runtimeNanos(800_000_000L).progressNanos(200_000_000L).iodepth(16);
    }

    @Test
    void verifiedRandomReadWriteOnMem() {
        BenchResult r = LoadGenerator.run(quick("device:mem:64m").rw(RwMode.RANDRW).verify(true).build(), err);
        assertTrue(r.iops() > 0, "iops");
        assertTrue(r.reads() > 0 && r.writes() > 0, "both reads and writes");
        assertEquals(0, r.errors(), errText::toString);
        assertTrue(r.latP50Us() > 0 && r.latP50Us() <= r.latP99Us() && r.latP99Us() <= r.latMaxUs());
    }

    @Test
    void verifiedReadWriteOnNullExpectsZeros() {
        BenchResult r = LoadGenerator.run(quick("device:null:64m").rw(RwMode.RANDRW).verify(true).build(), err);
        assertTrue(r.iops() > 0);
        assertEquals(0, r.errors(), errText::toString);
        assertTrue(errText.toString().contains("discards writes"));
    }

    @Test
    void sequentialWriteThenVerifiedReadWithSeveralJobs() {
        BenchResult r = LoadGenerator.run(quick("device:mem:64m").rw(RwMode.WRITE).jobs(2).verify(true).build(), err);
        assertEquals(0, r.errors(), errText::toString);
        assertEquals(r.ios(), r.writes());
    }

    @Test
    void verifyCatchesTamperedReads() {
        TamperingBlockDevice dev = new TamperingBlockDevice(BlockDevices.open("mem:64m"), 50);
        try (Target t = DeviceTarget.of(dev)) {
            BenchResult r = LoadGenerator.run(quick("device:" + dev.uri()).rw(RwMode.RANDRW).verify(true)
                    .prefill(false).maxMismatchReports(3).build(), t, err);
            assertTrue(dev.tampered.get() > 0);
            assertEquals(dev.tampered.get(), r.errors(), "every tampered read is one error");
            String e = errText.toString();
            assertTrue(e.contains("verify: mismatch at byte"), e);
            assertEquals(3, e.lines().filter(l -> l.startsWith("verify: mismatch")).count(), "only the first N are printed");
            assertTrue(e.contains("further errors are counted"));
        }
    }

    @Test
    void verifyCatchesTamperedNeverWrittenBlocks() {
        TamperingBlockDevice dev = new TamperingBlockDevice(BlockDevices.open("mem:64m"), 10);
        try (Target t = DeviceTarget.of(dev)) {
            BenchResult r = LoadGenerator.run(quick("device:" + dev.uri()).rw(RwMode.RANDREAD).verify(true).prefill(false).build(), t, err);
            assertEquals(dev.tampered.get(), r.errors());
            assertTrue(errText.toString().contains("expected never written (zeros)"), errText::toString);
        }
    }

    @Test
    void withoutVerifyTamperingGoesUnnoticed() {
        TamperingBlockDevice dev = new TamperingBlockDevice(BlockDevices.open("mem:64m"), 10);
        try (Target t = DeviceTarget.of(dev)) {
            BenchResult r = LoadGenerator.run(quick("device:" + dev.uri()).rw(RwMode.RANDREAD).build(), t, err);
            assertTrue(dev.tampered.get() > 0);
            assertEquals(0, r.errors());
        }
    }

    @Test
    void freshFileIsPrefilledForReadsAndVerified(@TempDir Path dir) {
        String target = "device:file:" + dir.resolve("f.img") + "?size=16m";
        BenchResult r = LoadGenerator.run(quick(target).rw(RwMode.RANDREAD).verify(true).build(), err);
        assertTrue(r.prefilled(), errText::toString);
        assertTrue(errText.toString().contains("prefill: done"));
        assertEquals(0, r.errors(), errText::toString);
        // the region now holds data: a plain read run does not fill it again
        BenchResult again = LoadGenerator.run(quick(target).rw(RwMode.RANDREAD).build(), err);
        assertFalse(again.prefilled());
    }

    @Test
    void freshMemDeviceIsPrefilledForReads() {
        BenchResult r = LoadGenerator.run(quick("device:mem:16m").rw(RwMode.RANDREAD).verify(true).build(), err);
        assertTrue(r.prefilled(), errText::toString); // reads measure data, as on the vDisk side, not zero fills of holes
        assertEquals(0, r.errors(), errText::toString);
        BenchResult nul = LoadGenerator.run(quick("device:null:16m").rw(RwMode.RANDREAD).build(), err);
        assertFalse(nul.prefilled()); // null keeps nothing
    }

    @Test
    void flushEachWriteMakesEveryWriteWaitForItsFlush() {
        // delay: holds every completion 1 ms, so a write that waits for its flush takes 2 ms
        BenchResult plain = LoadGenerator.run(quick("device:delay:1000:mem:64m").rw(RwMode.RANDWRITE).iodepth(1).build(), err);
        BenchResult durable = LoadGenerator.run(quick("device:delay:1000:mem:64m").rw(RwMode.RANDWRITE).iodepth(1).flushEachWrite(true).build(), err);
        assertEquals(0, plain.errors() + durable.errors(), errText::toString);
        assertTrue(plain.writes() > 50 && durable.writes() > 50, plain.writes() + " / " + durable.writes() + " writes");
        double p50 = plain.latP50Us(), p50d = durable.latP50Us();
        assertTrue(p50 >= 1000 && p50 < 1900, "write p50 " + p50 + " us without flushes");
        assertTrue(p50d >= 2000, "write p50 " + p50d + " us with a flush after each write");
        assertTrue(durable.toJson().contains("\"flush_each_write\":true"), durable.toJson());
        // every measured write had its flush: a device that counts them
        FlushCountingDevice dev = new FlushCountingDevice(BlockDevices.open("mem:64m"));
        try (Target t = DeviceTarget.of(dev)) {
            BenchResult r = LoadGenerator.run(quick("device:" + dev.uri()).rw(RwMode.RANDRW).flushEachWrite(true).build(), t, err);
            assertEquals(0, r.errors(), errText::toString);
            assertTrue(dev.flushes.get() >= r.writes() && dev.flushes.get() <= dev.writes.get(),
                    dev.flushes.get() + " flushes for " + r.writes() + " measured writes of " + dev.writes.get());
        }
    }

    /** Counts writes and flushes submitted to the device it wraps. */
    static final class FlushCountingDevice implements io.dsf.blockstore.spi.BlockDevice {
        final io.dsf.blockstore.spi.BlockDevice inner;
        final java.util.concurrent.atomic.AtomicLong writes = new java.util.concurrent.atomic.AtomicLong(), flushes = new java.util.concurrent.atomic.AtomicLong();
        FlushCountingDevice(io.dsf.blockstore.spi.BlockDevice inner) { this.inner = inner; }
        @Override public String uri() { return "count:" + inner.uri(); }
        @Override public io.dsf.blockstore.spi.Geometry geometry() { return inner.geometry(); }
        @Override public java.lang.foreign.MemorySegment allocateDma(long size) { return inner.allocateDma(size); }
        @Override public void close() { inner.close(); }
        @Override
        public io.dsf.blockstore.spi.DeviceQueue openQueue(int depth, io.dsf.blockstore.spi.CompletionHandler handler) {
            return new io.dsf.blockstore.spi.ForwardingDeviceQueue(inner.openQueue(depth, handler), this) {
                @Override public int write(long o, java.lang.foreign.MemorySegment b, int l, long u) { writes.incrementAndGet(); return inner.write(o, b, l, u); }
                @Override public int flush(long u) { flushes.incrementAndGet(); return inner.flush(u); }
            };
        }
    }

    @Test
    void noPrefillLeavesAFreshFileSparse(@TempDir Path dir) {
        String target = "device:file:" + dir.resolve("f.img") + "?size=16m";
        BenchResult r = LoadGenerator.run(quick(target).rw(RwMode.RANDREAD).prefill(false).verify(true).build(), err);
        assertFalse(r.prefilled());
        assertEquals(0, r.errors(), errText::toString);
    }

    @Test
    void progressLinesGoToErr() {
        LoadGenerator.run(quick("device:null:64m").runtimeNanos(700_000_000L).build(), err);
        long lines = errText.toString().lines().filter(l -> l.matches("\\[ *\\d+s\\] \\d+ IOPS, .* MB/s, p50 .* us, p99 .* us so far, errors 0")).count();
        assertTrue(lines >= 2, errText::toString);
    }

    @Test
    void rampIsExcludedFromTheResult() {
        BenchResult r = LoadGenerator.run(quick("device:null:64m").rampNanos(300_000_000L).runtimeNanos(300_000_000L).build(), err);
        assertEquals(0.3, r.runtimeS(), 1e-9);
        assertTrue(errText.toString().contains("[ramp "), errText::toString);
    }

    @Test
    void blockAndSpinIdleModesRun() {
        for (IdleMode m : IdleMode.values()) {
            BenchResult r = LoadGenerator.run(quick("device:mem:16m").runtimeNanos(200_000_000L).idle(m).rw(RwMode.RANDRW).verify(true).build(), err);
            assertTrue(r.ios() > 0, m.label());
            assertEquals(0, r.errors(), m.label());
        }
    }

    @Test
    void argumentsTheDeviceCannotTakeAreUsageErrors() {
        BenchException e = assertThrows(BenchException.class,
                () -> LoadGenerator.run(quick("device:mem:16m?bs=4096").blockSize(512).build(), err));
        assertTrue(e.usage());
        assertTrue(e.getMessage().contains("not a multiple of the device block size"), e.getMessage());
        e = assertThrows(BenchException.class, () -> LoadGenerator.run(quick("device:mem:16m").size(32 << 20).build(), err));
        assertTrue(e.usage());
        e = assertThrows(BenchException.class, () -> LoadGenerator.run(quick("device:mem:64k").verify(true).iodepth(16).build(), err));
        assertTrue(e.usage() && e.getMessage().contains("2 x iodepth"), e.getMessage());
        e = assertThrows(BenchException.class, () -> LoadGenerator.run(quick("nope:x").build(), err));
        assertTrue(e.usage());
        e = assertThrows(BenchException.class, () -> LoadGenerator.run(quick("device:bogus:1").build(), err));
        assertTrue(e.usage());
    }

    @Test
    void unopenableDeviceIsAFailure(@TempDir Path dir) {
        BenchException e = assertThrows(BenchException.class,
                () -> LoadGenerator.run(quick("device:file:" + dir.resolve("missing/x.img")).build(), err));
        assertFalse(e.usage());
        assertTrue(e.getMessage().startsWith("cannot open device:file:"), e.getMessage());
    }

    @Test
    void jobThatCannotGetBuffersFailsTheRunInsteadOfHanging() {
        io.dsf.blockstore.spi.BlockDevice mem = BlockDevices.open("mem:16m");
        io.dsf.blockstore.spi.BlockDevice noDma = new io.dsf.blockstore.spi.BlockDevice() {
            @Override public String uri() { return "nodma:" + mem.uri(); }
            @Override public io.dsf.blockstore.spi.Geometry geometry() { return mem.geometry(); }
            @Override public io.dsf.blockstore.spi.DeviceQueue openQueue(int depth, io.dsf.blockstore.spi.CompletionHandler h) {
                return mem.openQueue(depth, h);
            }
            @Override public java.lang.foreign.MemorySegment allocateDma(long size) { throw new OutOfMemoryError("test: no DMA memory"); }
            @Override public void close() { mem.close(); }
        };
        try (Target t = DeviceTarget.of(noDma)) {
            BenchException e = assertThrows(BenchException.class,
                    () -> LoadGenerator.run(quick("device:" + noDma.uri()).rw(RwMode.RANDWRITE).jobs(2).build(), t, err));
            assertFalse(e.usage());
            assertTrue(e.getMessage().contains("no DMA memory"), e.getMessage());
        }
    }

    @Test
    void jsonHasTheContractFields() {
        BenchResult r = LoadGenerator.run(quick("device:null:16m").runtimeNanos(200_000_000L).build(), err);
        String j = r.toJson();
        for (String f : new String[] {"\"iops\":", "\"mbps\":", "\"lat_p50_us\":", "\"lat_p99_us\":", "\"lat_p999_us\":",
                "\"lat_mean_us\":", "\"lat_max_us\":", "\"errors\":0", "\"ios\":", "\"runtime_s\":", "\"placement\":\"client ",
                "\"idle\":\"block\"", "\"target\":\"device:null:16m\"", "\"rw\":\"randread\"", "\"bs\":4096", "\"iodepth\":16"}) {
            assertTrue(j.contains(f), f + " in " + j);
        }
        assertTrue(j.startsWith("{") && j.endsWith("}") && !j.contains("\n"));
        assertTrue(j.contains("client=server thread"));
    }
}
