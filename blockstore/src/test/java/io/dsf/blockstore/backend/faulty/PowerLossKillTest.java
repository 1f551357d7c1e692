package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.dsf.blockstore.backend.faulty.PowerLossChild.BLOCK;
import static io.dsf.blockstore.backend.faulty.PowerLossChild.seed;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code faulty:powerloss} under a real {@code kill -9}: a child JVM writes through it and is
 * killed with {@code destroyForcibly()}; the file must hold every write the child saw flushed, and
 * of the unflushed ones only what the seeded leak let through (whole or as a 512-byte-unit prefix).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PowerLossKillTest {
    static final int FLUSHED = 64, FRESH = 32, OVERWRITTEN = 16;

    /** Runs the child to its "ready" line, kills it, and returns the block count its last flush covered. */
    private static int runAndKill(String uri) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow(() -> new IllegalStateException("cannot find the java command"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), PowerLossChild.class.getName(),
                uri, Integer.toString(FLUSHED), Integer.toString(FRESH), Integer.toString(OVERWRITTEN)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        int flushed = -1;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            boolean ready = false;
            while (!ready && (line = out.readLine()) != null) {
                if (line.startsWith("flushed ")) flushed = Integer.parseInt(line.substring(8));
                ready = line.equals("ready");
            }
            assertTrue(ready, "child ended before it was ready (exit " + (p.isAlive() ? "?" : p.exitValue()) + ")");
            assertTrue(p.isAlive());
        } finally {
            p.destroyForcibly(); // SIGKILL: no shutdown hooks, no orderly close
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "child did not die");
        }
        assertEquals(137, p.exitValue(), "killed by SIGKILL");
        return flushed;
    }

    /**
     * Length of the prefix of {@code now} present on disk, in whole 512-byte units, with {@code before}
     * after it; fails when the block is anything else.
     */
    private static int prefixOf(MemorySegment disk, MemorySegment now, MemorySegment before) {
        int p = 0;
        while (p < BLOCK && disk.asSlice(p, 512).mismatch(now.asSlice(p, 512)) == -1) p += 512;
        assertEquals(-1, disk.asSlice(p, BLOCK - p).mismatch(before.asSlice(p, BLOCK - p)),
                "neither the new data, a prefix of it, nor the old data");
        return p;
    }

    private record Outcome(int absent, int torn, int whole) {}

    private static Outcome check(String file, int flushed) {
        assertEquals(FLUSHED, flushed, "every flush the child made was reported");
        try (BlockDevice f = BlockDevices.open("file:" + file); SyncIo io = new SyncIo(f)) {
            MemorySegment disk = f.allocateDma(BLOCK), gen0 = f.allocateDma(BLOCK), gen1 = f.allocateDma(BLOCK), zero = f.allocateDma(BLOCK);
            int absent = 0, torn = 0, whole = 0;
            for (int i = 0; i < FLUSHED + FRESH; i++) {
                io.read((long) i * BLOCK, disk, BLOCK);
                FaultyBlockDeviceTest.fill(gen0, BLOCK, seed(i, 0));
                int p;
                if (i < OVERWRITTEN) { // flushed, then overwritten without a flush
                    FaultyBlockDeviceTest.fill(gen1, BLOCK, seed(i, 1));
                    p = prefixOf(disk, gen1, gen0);
                } else if (i < FLUSHED) { // flushed: must be there, whole
                    assertEquals(-1, disk.mismatch(gen0), "flushed block " + i + " lost");
                    continue;
                } else { // written, never flushed
                    p = prefixOf(disk, gen0, zero);
                }
                if (p == 0) absent++;
                else if (p < BLOCK) torn++;
                else whole++;
            }
            return new Outcome(absent, torn, whole);
        }
    }

    @Test
    void withoutLeakNothingUnflushedSurvives(@TempDir Path dir) throws Exception {
        String file = dir.resolve("dev").toString();
        int flushed = runAndKill("faulty:powerloss,leak=0:file:" + file + "?size=4m");
        Outcome o = check(file, flushed);
        assertEquals(new Outcome(FRESH + OVERWRITTEN, 0, 0), o);
    }

    @Test
    void withLeakARandomTornSubsetSurvives(@TempDir Path dir) throws Exception {
        String file = dir.resolve("dev").toString();
        int flushed = runAndKill("faulty:powerloss,leak=0.5,seed=7:file:" + file + "?size=4m");
        Outcome o = check(file, flushed);
        assertTrue(o.absent > 0, "some unflushed writes must be lost: " + o);
        assertTrue(o.torn + o.whole > 0, "some unflushed writes leaked: " + o);
        System.out.println("powerloss leak=0.5 after kill -9: " + o);
    }
}
