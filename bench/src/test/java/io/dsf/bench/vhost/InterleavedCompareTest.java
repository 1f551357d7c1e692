package io.dsf.bench.vhost;

import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The interleaved comparison against two in-process Frodo servers on null vDisks (blk and scsi, two
 * request queues each): one JSON line per target, the reference's ratio exactly 1, the other's the
 * ratio of what its slices did, every queue of both servers driven, and bad arguments refused before
 * anything runs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class InterleavedCompareTest {
    @TempDir Path dir;

    private static double field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":([-0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void comparesTwoServersSliceBySliceOnEveryQueue() throws Exception {
        NullVDisk disk = new NullVDisk("null", 64L << 20);
        VhostOptions opts = VhostOptions.defaults().withQueues(2);
        try (VhostUserBlkServer blk = VhostUserBlkServer.start(dir.resolve("b.sock"), disk, opts);
             VhostUserScsiServer scsi = VhostUserScsiServer.start(dir.resolve("s.sock"), disk, opts)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            InterleavedCompare.run(new String[] {
                    "--target", "b=vhost-user-blk:" + blk.socket() + "?null=1", "--target", "s=vhost-user-scsi:" + scsi.socket() + "?null=1",
                    "--ref", "b", "--rounds", "3", "--slice-ms", "40", "--warmup-ms", "150", "--jobs", "2", "--depth", "8", "--size", "64m"},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
            assertEquals(2, lines.length, out::toString);
            assertTrue(lines[0].contains("\"name\":\"b\"") && lines[1].contains("\"name\":\"s\""), out::toString);
            assertEquals(1.0, field(lines[0], "iops_ratio_median"), 1e-9, "the reference against itself");
            for (String l : lines) {
                assertEquals(0, field(l, "errors"), l);
                assertEquals(2, field(l, "jobs"), l);
                assertTrue(field(l, "iops_min") > 0 && field(l, "iops_min") <= field(l, "iops_median")
                        && field(l, "iops_median") <= field(l, "iops_max"), l);
                assertTrue(field(l, "lat_p50_us") > 0 && field(l, "lat_p50_us") <= field(l, "lat_p99_us"), l);
            }
            double ratio = field(lines[1], "iops_ratio_median");
            assertTrue(ratio > 0 && ratio >= field(lines[1], "iops_ratio_min") && ratio <= field(lines[1], "iops_ratio_max"), lines[1]);
            assertEquals(3, err.toString(StandardCharsets.UTF_8).lines().filter(x -> x.startsWith("round ")).count(), err::toString);
            assertFalse(err.toString(StandardCharsets.UTF_8).contains("prefill:"), "targets that keep nothing are not prefilled: " + err);
            for (long[] per : new long[][] {blk.queueRequests(), scsi.queueRequests()}) { // scsi: control and event queues first
                int n = per.length;
                assertTrue(per[n - 2] > 0 && per[n - 1] > 0, "both request queues carried I/O: " + java.util.Arrays.toString(per));
            }
        }
    }

    /**
     * The snapshot-depth comparison's form: vDisks in one process, each prefilled before reads (else
     * they would read holes), one given a chain of snapshots and one the same rewrites without them;
     * per-round latency ratios reported beside the pooled ones.
     */
    @Test
    void vdisksArePrefilledAndGetTheirOwnChains() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream(), sys = new ByteArrayOutputStream();
        PrintStream was = System.err; // the vDisk target reports its chain on System.err, as dsf bench shows it
        System.setErr(new PrintStream(sys, true, StandardCharsets.UTF_8));
        try {
            InterleavedCompare.run(new String[] {
                    "--target", "flat=vdisk:mem:64m?rewrites=3", "--target", "deep=vdisk:mem:64m?snapshots=3",
                    "--rounds", "3", "--slice-ms", "40", "--warmup-ms", "150", "--depth", "4", "--size", "16m"},
                    new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setErr(was);
        }
        String log = err.toString(StandardCharsets.UTF_8) + sys.toString(StandardCharsets.UTF_8);
        assertEquals(2, log.lines().filter(x -> x.startsWith("prefill: done, 16MiB")).count(), log);
        assertTrue(log.contains("vdisk: 3 1 MiB pieces rewritten, no snapshot taken"), log);
        assertTrue(log.contains("vdisk: 3 snapshots in the chain of 'bench'"), log);
        String[] lines = out.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals(2, lines.length, out::toString);
        assertEquals(1.0, field(lines[0], "lat_p50_round_ratio_median"), 1e-9, "the reference against itself");
        assertEquals(1.0, field(lines[0], "lat_p99_round_ratio_median"), 1e-9, "the reference against itself");
        for (String l : lines) {
            assertEquals(0, field(l, "errors"), l);
            assertTrue(field(l, "lat_p50_round_ratio_median") > 0 && field(l, "lat_p99_round_ratio_median") > 0, l);
        }
    }

    @Test
    void refusesBadVDiskTargetParameters() {
        for (String spec : new String[] {"vdisk:mem:64m?snapshots=x", "vdisk:mem:64m?snapshots=-1", "vdisk:mem:64m?rewrites=1001"}) {
            io.dsf.bench.BenchException e = assertThrows(io.dsf.bench.BenchException.class, () -> io.dsf.bench.Targets.open(spec), spec);
            assertTrue(e.getMessage().contains("want 0..1000"), e.getMessage());
        }
        io.dsf.bench.BenchException both = assertThrows(io.dsf.bench.BenchException.class,
                () -> io.dsf.bench.Targets.open("vdisk:mem:64m?snapshots=2&rewrites=2"));
        assertTrue(both.getMessage().contains("one of them, once"), both.getMessage());
    }

    @Test
    void refusesBadArgumentsBeforeRunning() {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        String[][] bad = {
                {"--target", "a=null:1m"},                                          // one target
                {"--target", "a=null:1m", "--target", "a=null:1m"},                 // one name twice
                {"--target", "a=null:1m", "--target", "b=null:1m", "--ref", "c"},   // unknown reference
                {"--target", "a=null:1m", "--target", "b=null:1m", "--rounds", "0"},
                {"--target", "a=null:1m", "--target", "b=null:1m", "--jobs", "x"},
                {"--target", "nospec", "--target", "b=null:1m"},
                {"--target", "a=null:1m", "--target", "b=null:1m", "--bogus", "1"},
                {"--target", "a=null:1m", "--target"},
        };
        for (String[] a : bad) {
            assertThrows(IllegalArgumentException.class, () -> InterleavedCompare.run(a, sink, sink), String.join(" ", a));
        }
    }
}
