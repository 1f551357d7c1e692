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
}
