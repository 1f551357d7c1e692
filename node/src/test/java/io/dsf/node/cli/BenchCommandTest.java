package io.dsf.node.cli;

import io.dsf.node.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** {@code dsf bench} through the real picocli entry point, with stdout and stderr captured. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BenchCommandTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int dsf(String... args) {
        return Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--rw|randtrim|unknown --rw 'randtrim'",
            "--bs|4q|not a size: '4q'",
            "--bs|1000|--bs must be a multiple of 512",
            "--iodepth|0|--iodepth must be between 1",
            "--iodepth|x|'--iodepth'",
            "--runtime|-1|not a duration",
            "--runtime|0|--runtime must be positive",
            "--runtime|ten|not a duration",
            "--idle|sleep|unknown --idle 'sleep'",
            "--rwmixread|150|--rwmixread must be between 0 and 100",
            "--jobs|0|--jobs must be between 1",
            "--size|5000|--size 5000 is not a multiple of --bs 4096",
    })
    void badValuesAreUsageErrors(String option, String value, String message) {
        int code = option.equals("--runtime")
                ? dsf("bench", "--target", "device:null:16m", option, value)
                : dsf("bench", "--target", "device:null:16m", "--runtime", "1", option, value);
        assertEquals(2, code, err::toString);
        assertTrue(err.toString().contains(message), err::toString);
        assertTrue(err.toString().startsWith("dsf bench: "), err::toString);
        assertEquals("", out.toString(), "nothing on stdout for a usage error");
    }

    @Test
    void theTargetDefaultsToAUringFileUnderVar() {
        assertEquals(BenchCommand.DEFAULT_TARGET, new picocli.CommandLine(new BenchCommand()).getCommandSpec()
                .findOption("--target").defaultValue());
        assertEquals(2, dsf("bench", "--target", "", "--runtime", "1"));
    }

    @Test
    void targetWithoutKindIsAUsageError() {
        assertEquals(2, dsf("bench", "--target", "/tmp/x"));
        assertTrue(err.toString().contains("needs a kind"), err::toString);
    }

    @Test
    void unknownDeviceSchemeIsAUsageError() {
        assertEquals(2, dsf("bench", "--target", "device:tape:/dev/st0", "--runtime", "1"));
        assertTrue(err.toString().contains("unknown device scheme 'tape'"), err::toString);
    }

    @Test
    void blockSizeTheDeviceCannotTakeIsAUsageError() {
        assertEquals(2, dsf("bench", "--target", "device:null:16m?bs=4096", "--bs", "512", "--runtime", "1"));
        assertTrue(err.toString().contains("not a multiple of the device block size 4096"), err::toString);
    }

    @Test
    void deviceThatCannotBeOpenedIsOneLineAndExit1(@TempDir Path dir) {
        int code = dsf("bench", "--target", "device:file:" + dir.resolve("no/such/file"), "--runtime", "1");
        assertEquals(1, code);
        List<String> lines = err.toString().lines().toList();
        assertEquals(1, lines.size(), err::toString);
        assertTrue(lines.get(0).startsWith("dsf bench: cannot open device:file:"), lines.get(0));
    }

    @Test
    void jsonIsTheLastLineOfStdoutAndParsesBack() {
        int code = dsf("bench", "--target", "device:mem:32m", "--rw", "randrw", "--bs", "8k", "--iodepth", "4",
                "--runtime", "500ms", "--idle", "spin", "--verify", "--json");
        assertEquals(0, code, err::toString);
        List<String> lines = out.toString().lines().toList();
        String last = lines.get(lines.size() - 1);
        Map<String, Object> j = FlatJson.parse(last);
        for (String k : List.of("iops", "mbps", "lat_p50_us", "lat_p99_us", "lat_p999_us", "lat_mean_us", "lat_max_us",
                "errors", "ios", "runtime_s", "bs", "iodepth")) {
            assertInstanceOf(Double.class, j.get(k), k + " is a number in " + last);
        }
        for (String k : List.of("placement", "idle", "target", "rw")) assertInstanceOf(String.class, j.get(k), k);
        assertTrue((Double) j.get("iops") > 0);
        assertEquals(0.0, j.get("errors"));
        assertEquals(8192.0, j.get("bs"));
        assertEquals(4.0, j.get("iodepth"));
        assertEquals("spin", j.get("idle"));
        assertEquals("randrw", j.get("rw"));
        assertEquals("device:mem:32m", j.get("target"));
        assertTrue(((String) j.get("placement")).contains("client=server thread"));
        double ios = (Double) j.get("ios"), iops = (Double) j.get("iops"), runtime = (Double) j.get("runtime_s");
        assertEquals(ios / runtime, iops, Math.max(1, iops * 1e-3));
        assertEquals(iops * 8192 / 1e6, (Double) j.get("mbps"), 0.01 + iops * 8192 / 1e6 * 1e-3);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("dsf bench: device:mem:32m")), "human summary too");
    }

    @Test
    void withoutJsonStdoutHasNoJson() {
        assertEquals(0, dsf("bench", "--target", "device:null:16m", "--runtime", "200ms"));
        assertFalse(out.toString().contains("{"), out::toString);
        assertTrue(out.toString().contains("IOPS"));
    }

    @Test
    void progressLinesGoToStderrOnly() {
        assertEquals(0, dsf("bench", "--target", "device:null:16m", "--runtime", "1.2", "--progress-interval", "300ms", "--json"));
        long progress = err.toString().lines().filter(l -> l.matches("\\[ *\\d+s\\] \\d+ IOPS, .*")).count();
        assertTrue(progress >= 3, err::toString);
        assertFalse(out.toString().contains(" so far"), "progress must not reach stdout");
    }

    @Test
    void helpListsBenchAndExitsZero() {
        assertEquals(0, dsf("--help"));
        assertTrue(out.toString().contains("bench"));
        assertEquals(0, dsf("bench", "--help"));
        assertTrue(out.toString().contains("--iodepth"));
    }

    @Test
    void noCommandIsAUsageError() {
        assertEquals(2, dsf());
        assertTrue(err.toString().contains("missing command"));
    }

    /** A vDisk in a heap array, completing inline (enough for a one-second verified run). Thread safe. */
    static final class HeapVDisk implements io.dsf.stargate.api.VDisk {
        final java.lang.foreign.MemorySegment mem;
        final java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong(), writes = new java.util.concurrent.atomic.AtomicLong();

        HeapVDisk(long size) { mem = java.lang.foreign.MemorySegment.ofArray(new byte[(int) size]); }

        @Override public String name() { return "heap"; }
        @Override public long size() { return mem.byteSize(); }
        @Override public int blockSize() { return 4096; }
        @Override public int maxTransfer() { return 1 << 20; }
        @Override public boolean readOnly() { return false; }

        @Override
        public synchronized int read(long o, java.lang.foreign.MemorySegment b, int l, long t, io.dsf.stargate.api.IoCallback cb) {
            java.lang.foreign.MemorySegment.copy(mem, o, b, 0, l);
            reads.incrementAndGet();
            cb.onComplete(t, 0);
            return 0;
        }

        @Override
        public synchronized int write(long o, java.lang.foreign.MemorySegment b, int l, long t, io.dsf.stargate.api.IoCallback cb) {
            java.lang.foreign.MemorySegment.copy(b, 0, mem, o, l);
            writes.incrementAndGet();
            cb.onComplete(t, 0);
            return 0;
        }

        @Override public int flush(long t, io.dsf.stargate.api.IoCallback cb) { cb.onComplete(t, 0); return 0; }
        @Override public int unmap(long o, long l, long t, io.dsf.stargate.api.IoCallback cb) { cb.onComplete(t, 0); return 0; }
        @Override public int writeZeroes(long o, long l, long t, io.dsf.stargate.api.IoCallback cb) { cb.onComplete(t, 0); return 0; }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void vhostUserBlkTargetAgainstAnInProcessFrodoGivesVerifiedJson(@TempDir Path dir) throws Exception {
        HeapVDisk disk = new HeapVDisk(32L << 20);
        try (io.dsf.frodo.blk.VhostUserBlkServer server = io.dsf.frodo.blk.VhostUserBlkServer.start(dir.resolve("f.sock"), disk,
                io.dsf.frodo.vhostuser.VhostOptions.defaults().withQueues(2))) {
            String target = "vhost-user-blk:" + server.socket();
            int code = dsf("bench", "--target", target, "--rw", "randrw", "--iodepth", "8", "--jobs", "2", "--runtime", "1",
                    "--verify", "--json", "--progress-interval", "0");
            assertEquals(0, code, err::toString);
            List<String> lines = out.toString().lines().toList();
            String last = lines.get(lines.size() - 1);
            Map<String, Object> j = FlatJson.parse(last);
            assertEquals(target, j.get("target"));
            assertEquals(Boolean.TRUE, j.get("verify"), "data verified: " + last);
            assertEquals(0.0, j.get("errors"), "no I/O error and no verify mismatch: " + err);
            double reads = (Double) j.get("reads"), writes = (Double) j.get("writes");
            assertTrue(reads > 0 && writes > 0, "both directions: " + last);
            assertTrue((Double) j.get("iops") > 0);
            double p50 = (Double) j.get("lat_p50_us"), p99 = (Double) j.get("lat_p99_us"), p999 = (Double) j.get("lat_p999_us");
            assertTrue(p50 > 0 && p50 <= p99 && p99 <= p999, last);
            assertEquals(2.0, j.get("jobs"));
            assertTrue(((String) j.get("placement")).contains("server behind " + server.socket()), last);
            assertTrue(disk.writes.get() >= writes && disk.reads.get() >= reads, "the I/O reached the vDisk");
            long[] per = server.queueRequests();
            assertTrue(per[0] > 0 && per[1] > 0, "one request queue per job");
        }
    }

    @Test
    void vsRunsAnInterleavedComparisonWithOneJsonObjectPerTarget() {
        int code = dsf("bench", "--target-name", "n", "--target", "device:null:64m", "--vs", "m=device:mem:64m", "--rw", "randread",
                "--iodepth", "4", "--rounds", "2", "--slice-ms", "20", "--ramp", "100ms", "--size", "64m");
        assertEquals(0, code, err::toString);
        List<String> lines = out.toString().lines().toList();
        assertEquals(2, lines.size(), out::toString);
        assertTrue(lines.get(0).contains("\"name\":\"n\"") && lines.get(0).contains("\"iops_ratio_median\":1.0000"), lines.get(0));
        assertTrue(lines.get(1).contains("\"name\":\"m\"") && lines.get(1).contains("\"ref\":\"n\""), lines.get(1));
        assertEquals(2, err.toString().lines().filter(l -> l.startsWith("round ")).count(), err::toString);
        assertTrue(lines.get(0).contains("\"rw\":\"randread\""), lines.get(0));
    }

    @Test
    void vsComparesRandomWritesToo() {
        int code = dsf("bench", "--target", "device:mem:64m", "--vs", "n=device:null:64m", "--rw", "randwrite",
                "--iodepth", "2", "--rounds", "1", "--slice-ms", "20", "--ramp", "60ms", "--size", "64m");
        assertEquals(0, code, err::toString);
        List<String> lines = out.toString().lines().toList();
        assertEquals(2, lines.size(), out::toString);
        for (String l : lines) {
            assertTrue(l.contains("\"rw\":\"randwrite\"") && l.contains("\"errors\":0"), l);
            assertFalse(l.contains("\"iops_median\":0,"), l);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--rw|randrw|random reads or random writes only",
            "--bs|8k|4 KiB I/O only",
            "--rounds|0|bad --rounds",
            "--vs|noname|NAME=SPEC",
    })
    void vsRefusesWhatItCannotCompare(String option, String value, String message) {
        int code = dsf("bench", "--target", "device:null:16m", "--vs", "m=device:null:16m", option, value);
        assertEquals(2, code, err::toString);
        assertTrue(err.toString().contains(message), err::toString);
        assertEquals("", out.toString(), "nothing on stdout for a usage error");
    }
}
