package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.check.StoreChecker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Crash test: a child JVM ({@link CrashWorkload}) runs a random workload on a store and is
 * {@code kill -9}ed at a random moment; the parent reopens the store (recovery) and verifies that
 * every write acknowledged by a completed sync reads back exactly — slices written again after the
 * last acknowledged sync may read as any version written or fail with a checksum error, never as
 * anything else — that objects and sizes match, that free space adds up, and that check is clean.
 * 50 cycles per backend ({@code -Ddsf.long=true}: 500).
 */
class CrashTest {
    static final int SLICE = CrashWorkload.SLICE;
    static final long BAD = -1;
    static final boolean LONG = Boolean.getBoolean("dsf.long");
    static final int CYCLES = Integer.getInteger("dsf.crash.cycles", LONG ? 500 : 50);
    /** Backstop only: each backend's run has its own budget (see {@link #run}). */
    static final long LONG_TIMEOUT = 3600;

    @TempDir
    Path tmp;

    @Test
    @Timeout(LONG_TIMEOUT)
    void fileBackend() throws Exception {
        Path f = tmp.resolve("file-dev");
        run("file:" + f + "?size=64m", 1);
    }

    @Test
    @Timeout(LONG_TIMEOUT)
    void uringBackend() throws Exception {
        Path f = tmp.resolve("uring-dev");
        String uri = "uring:" + f + "?size=64m";
        try (BlockDevice d = BlockDevices.open(uri)) {
            assumeTrue(d.geometry().capacity() > 0);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            System.out.println("CrashTest.uringBackend skipped: io_uring unavailable here: " + e);
            assumeTrue(false, "io_uring unavailable: " + e);
        }
        run(uri, 2);
    }

    @Test
    @Timeout(LONG_TIMEOUT)
    void powerlossBackend() throws Exception {
        Path f = tmp.resolve("pl-dev");
        String probe = "faulty:powerloss:mem:1m";
        try (BlockDevice d = BlockDevices.open(probe)) {
            assumeTrue(d.geometry().capacity() > 0);
        } catch (RuntimeException e) {
            System.out.println("CrashTest.powerlossBackend skipped: faulty:powerloss unavailable: " + e);
            assumeTrue(false, "faulty:powerloss unavailable: " + e);
        }
        run("faulty:powerloss,seed=SEED:file:" + f + "?size=64m", 3);
    }

    // ------------------------------------------------------------------ model

    static final class Obj {
        long size;
        final TreeMap<Long, Long> slices = new TreeMap<>(); // slice offset -> version (absent: zeros), BAD

        Obj(long size) { this.size = size; }

        Obj copy() {
            Obj o = new Obj(size);
            o.slices.putAll(slices);
            return o;
        }
    }

    record Op(char kind, long id, long a, long b, long c) {}

    private Map<Long, Obj> model = new HashMap<>();
    /** Whether slices overwritten without an acknowledged sync may stay unreadable (checksum error) after a crash. */
    static final boolean ALLOW_TORN_OVERWRITES = false;
    private int tornReported, lostByRecovery;

    /** Runs the cycles within 60 s + 4 s per cycle (a hang fails the test instead of stalling CI). */
    private void run(String uriTemplate, long salt) {
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60 + 4L * CYCLES), () -> cycles(uriTemplate, salt));
    }

    private void cycles(String uriTemplate, long salt) throws Exception {
        SplittableRandom rnd = new SplittableRandom(Long.getLong("dsf.crash.seed", System.nanoTime()) ^ salt);
        long seed0 = rnd.nextLong();
        System.out.println("CrashTest " + uriTemplate + ": " + CYCLES + " cycles, seed " + seed0);
        rnd = new SplittableRandom(seed0);
        long t0 = System.nanoTime();
        int kills = 0, acked = 0;
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            String uri = uriTemplate.replace("SEED", Integer.toString(cycle + 1));
            List<String> lines = child(uri, rnd.nextLong(), cycle + 1, cycle == 0, rnd);
            if (lines == null) { // killed before it could even format: try again
                assertTrue(cycle == 0, "child produced nothing");
                cycle--;
                continue;
            }
            kills++;
            acked += verify(uri, lines, cycle);
        }
        System.out.printf("CrashTest %s: %d kills, %d acknowledged syncs verified, %d torn overwrites recorded lost by recovery"
                        + " (%d reported by check), in %.1f s%n", uriTemplate, kills, acked, lostByRecovery, tornReported, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Runs one child and kills it. Its stdout goes to a file, not a pipe: a write(2) to a file is
     * in the page cache the moment it returns, so nothing the child printed is lost to the kill.
     */
    private List<String> child(String uri, long seed, int cycle, boolean format, SplittableRandom rnd) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path err = tmp.resolve("child-" + cycle + ".err");
        Path log = tmp.resolve("child-" + cycle + ".out");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Xshare:auto", "-cp", System.getProperty("java.class.path"), CrashWorkload.class.getName(),
                uri, Long.toString(seed), Integer.toString(cycle), format ? "format" : "open", "2000");
        pb.redirectError(err.toFile());
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        boolean early = !format && rnd.nextInt(5) == 0; // sometimes kill during open/recovery
        long wait = early ? rnd.nextLong(0, 700) : rnd.nextLong(5, 350);
        if (!early) {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (p.isAlive() && System.nanoTime() < deadline && !ready(log)) Thread.sleep(2);
        }
        if (!p.waitFor(wait, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            p.waitFor();
        }
        List<String> lines = Files.readAllLines(log);
        String stderr = Files.readString(err);
        if (!lines.contains("DONE") && p.exitValue() != 137 && !stderr.isBlank()) fail("child failed (exit " + p.exitValue() + "):\n" + stderr);
        if (format && !lines.contains("READY")) return null;
        return lines;
    }

    private static boolean ready(Path log) throws IOException {
        if (Files.size(log) < 6) return false;
        try (BufferedReader r = Files.newBufferedReader(log)) {
            String l = r.readLine();
            return "READY".equals(l);
        }
    }

    static List<String> DEBUG_LINES = List.of();

    private int verify(String uri, List<String> lines, int cycle) {
        DEBUG_LINES = lines;
        List<Op> ops = new ArrayList<>();
        int ackAt = 0, syncsAcked = 0; // ops before index ackAt are covered by an acknowledged sync
        Map<Long, Integer> syncBegin = new HashMap<>();
        for (String l : lines) {
            String[] f = l.split(" ");
            switch (f[0]) {
                case "C" -> ops.add(new Op('C', Long.parseLong(f[1]), Long.parseLong(f[2]), 0, 0));
                case "R" -> ops.add(new Op('R', Long.parseLong(f[1]), Long.parseLong(f[2]), 0, 0));
                case "D" -> ops.add(new Op('D', Long.parseLong(f[1]), 0, 0, 0));
                case "W" -> ops.add(new Op('W', Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4])));
                case "SB" -> syncBegin.put(Long.parseLong(f[1]), ops.size());
                case "SA" -> {
                    ackAt = syncBegin.get(Long.parseLong(f[1]));
                    syncsAcked++;
                }
                default -> { }
            }
        }
        // A: the model with every acknowledged operation applied
        Map<Long, Obj> a = new HashMap<>();
        model.forEach((k, v) -> a.put(k, v.copy()));
        for (int i = 0; i < ackAt; i++) apply(a, ops.get(i));
        // what the unacknowledged suffix may have done
        Set<Long> sufCreated = new HashSet<>(), sufDeleted = new HashSet<>(), sufResized = new HashSet<>();
        Map<Long, Set<Long>> sufSizes = new HashMap<>();
        Map<Long, Map<Long, Set<Long>>> sufWrites = new HashMap<>();
        for (int i = ackAt; i < ops.size(); i++) {
            Op op = ops.get(i);
            switch (op.kind) {
                case 'C' -> { sufCreated.add(op.id); sufSizes.computeIfAbsent(op.id, k -> new HashSet<>()).add(op.a); }
                case 'R' -> { sufResized.add(op.id); sufSizes.computeIfAbsent(op.id, k -> new HashSet<>()).add(op.a); }
                case 'D' -> sufDeleted.add(op.id);
                case 'W' -> {
                    Map<Long, Set<Long>> m = sufWrites.computeIfAbsent(op.id, k -> new HashMap<>());
                    for (int s = 0; s < op.b; s++) m.computeIfAbsent(op.a + (long) s * SLICE, k -> new HashSet<>()).add(op.c);
                }
                default -> { }
            }
        }
        Map<Long, Obj> actual = new HashMap<>();
        String ctx = "cycle " + cycle + " on " + uri;
        try (BlockDevice dev = BlockDevices.open(uri)) {
            try (BlockStore s = BlockStore.open(dev); StoreChannel ch = s.openChannel(4, 64 << 10, 4, (t, st) -> { })) {
                lostByRecovery += s.lostAtOpen();
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                int unitsOwned = 0;
                for (StoreObject o : s.objects()) {
                    unitsOwned += o.allocatedUnits();
                    long id = o.id();
                    Obj want = a.get(id);
                    if (want == null && !sufCreated.contains(id)) fail(ctx + ": object " + id + " exists but was never created (or deleted and acknowledged)");
                    Set<Long> sizes = new HashSet<>(sufSizes.getOrDefault(id, Set.of()));
                    if (want != null) sizes.add(want.size);
                    if (!sizes.contains(o.size())) fail(ctx + ": object " + id + " has size " + o.size() + ", expected one of " + sizes);
                    Obj got = new Obj(o.size());
                    actual.put(id, got);
                    Map<Long, Set<Long>> w = sufWrites.getOrDefault(id, Map.of());
                    boolean resized = sufResized.contains(id) || sufCreated.contains(id);
                    for (long off = 0; off < o.size(); off += SLICE) {
                        long v = readSlice(ch, o, off, b, ctx);
                        Set<Long> ok = new HashSet<>();
                        ok.add(want != null && off < want.size ? want.slices.getOrDefault(off, 0L) : 0L);
                        if (resized) ok.add(0L);
                        Set<Long> ws = w.get(off);
                        if (ws != null) {
                            ok.addAll(ws);
                            ok.add(BAD);
                        }
                        if (!ok.contains(v))
                            fail(history(lines, id, off) + diag(s, ch, o, off) + ctx + ": object " + id + " slice @" + off + " reads " + (v == BAD ? "a checksum error" : "version " + v)
                                    + ", allowed " + ok + (ws == null && want != null && want.slices.containsKey(off) ? " (acknowledged data lost or changed)" : ""));
                        if (v != 0) got.slices.put(off, v);
                    }
                }
                for (Map.Entry<Long, Obj> e : a.entrySet())
                    if (s.find(e.getKey()) == null && !sufDeleted.contains(e.getKey()))
                        fail(ctx + ": acknowledged object " + e.getKey() + " is missing");
                StoreStats st = s.stats();
                assertEquals(st.unitCount(), st.usedUnits() + st.freeUnits() + st.cachedUnits() + st.pendingFreeUnits(), ctx + ": units add up " + st);
                assertEquals(unitsOwned, st.usedUnits(), ctx + ": units owned by objects vs used " + st);
            }
            StoreChecker.Report rep = StoreChecker.check(dev);
            List<io.dsf.blockstore.store.meta.Problem> unexpected = new ArrayList<>();
            for (io.dsf.blockstore.store.meta.Problem pr : rep.problems()) {
                if (!ALLOW_TORN_OVERWRITES || pr.severity() != io.dsf.blockstore.store.meta.Problem.Severity.DATA) { unexpected.add(pr); continue; }
                String[] w = pr.where().split(" ");
                Obj o = actual.get(Long.parseLong(w[1]));
                if (o == null || o.slices.getOrDefault(Long.parseLong(w[3]), 0L) != BAD) unexpected.add(pr);
                else tornReported++;
            }
            if (!unexpected.isEmpty()) fail(ctx + ": check found problems after recovery: " + unexpected);
        }
        model = actual;
        return syncsAcked;
    }

    private static String diag(BlockStore s, StoreChannel ch, StoreObject o, long off) {
        int idx = (int) (off / s.unitSize());
        int u = o.units[idx] - 1;
        if (u < 0) return "no unit at index " + idx + "\n";
        int[] arr = s.image.crcArray(u);
        int spu = s.layout().slicesPerUnit, slice = (int) (off % s.unitSize() / SLICE);
        StringBuilder sb = new StringBuilder("unit " + u + " gen " + arr[spu] + " owner " + s.image.unitOwner[u] + " idx " + s.image.unitIndex[u] + "; stored crc " + Integer.toHexString(arr[slice]) + "\n");
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment raw = arena.allocate(SLICE, 4096);
            io.dsf.blockstore.store.meta.BlockingBatch bio = new io.dsf.blockstore.store.meta.BlockingBatch(s.device, 1);
            bio.read(s.layout().unitOffset(u) + (long) slice * SLICE, raw, SLICE);
            bio.await();
            bio.close();
            long hv = raw.get(ValueLayout.JAVA_LONG_UNALIGNED, 16);
            for (String l : DEBUG_LINES) if (l.endsWith(" " + hv)) sb.append("line with that version: ").append(l).append('\n');
            sb.append("data header id ").append(raw.get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).append(" off ").append(raw.get(ValueLayout.JAVA_LONG_UNALIGNED, 8))
              .append(" ver ").append(raw.get(ValueLayout.JAVA_LONG_UNALIGNED, 16)).append('\n');
            for (int g = arr[spu] - 3; g <= arr[spu] + 1; g++)
                sb.append(" crc with gen ").append(g).append(": ").append(Integer.toHexString(io.dsf.blockstore.store.format.Crc.ofSlice(new java.util.zip.CRC32C(), raw.asByteBuffer(), u, slice, g, new byte[12]))).append('\n');
            for (int k = 0; k < spu; k++) {
                bio = new io.dsf.blockstore.store.meta.BlockingBatch(s.device, 1);
                bio.read(s.layout().unitOffset(u) + (long) k * SLICE, raw, SLICE);
                bio.await();
                bio.close();
                int c = io.dsf.blockstore.store.format.Crc.ofSlice(new java.util.zip.CRC32C(), raw.asByteBuffer(), u, k, arr[spu], new byte[12]);
                sb.append(arr[k] == 0 ? "." : c == arr[k] ? "+" : "X");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String history(List<String> lines, long id, long off) {
        StringBuilder sb = new StringBuilder(lines.size() + " lines, last: " + (lines.isEmpty() ? "-" : lines.get(lines.size() - 1)) + "\nops of this cycle on object " + id + " (slice @" + off + " marked *):\n");
        for (String l : lines) {
            String[] f = l.split(" ");
            boolean mine = f.length > 1 && !f[0].startsWith("S") && f[1].equals(Long.toString(id));
            if (mine || f[0].startsWith("S")) {
                boolean hit = f[0].equals("W") && Long.parseLong(f[2]) <= off && off < Long.parseLong(f[2]) + Long.parseLong(f[3]) * SLICE;
                if (mine || l.startsWith("SA")) sb.append(hit ? " * " : "   ").append(l).append('\n');
            }
        }
        return sb.toString();
    }

    private static void apply(Map<Long, Obj> m, Op op) {
        switch (op.kind) {
            case 'C' -> m.put(op.id, new Obj(op.a));
            case 'R' -> {
                Obj o = m.get(op.id);
                o.slices.tailMap(op.a, true).clear();
                o.size = op.a;
            }
            case 'D' -> m.remove(op.id);
            case 'W' -> {
                Obj o = m.get(op.id);
                for (int s = 0; s < op.b; s++) o.slices.put(op.a + (long) s * SLICE, op.c);
            }
            default -> { }
        }
    }

    /** The version a slice holds: 0 for zeros, BAD for a checksum error; fails on anything else. */
    private static long readSlice(StoreChannel ch, StoreObject o, long off, MemorySegment b, String ctx) {
        try {
            ch.readBlocking(o, off, b, SLICE);
        } catch (ChecksumException e) {
            assertEquals(o.id(), e.objectId());
            assertEquals(off, e.offset());
            return BAD;
        }
        long id = b.get(ValueLayout.JAVA_LONG_UNALIGNED, 0), at = b.get(ValueLayout.JAVA_LONG_UNALIGNED, 8), ver = b.get(ValueLayout.JAVA_LONG_UNALIGNED, 16);
        boolean zero = true;
        for (int i = 0; i < SLICE && zero; i += 8) zero = b.get(ValueLayout.JAVA_LONG_UNALIGNED, i) == 0;
        if (zero) return 0;
        if (id != o.id() || at != off) fail(ctx + ": object " + o.id() + " slice @" + off + " holds data of object " + id + " @" + at + " (wrong data, not detected)");
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment want = arena.allocate(SLICE);
            CrashWorkload.content(want, 0, id, off, ver);
            if (want.mismatch(b.asSlice(0, SLICE)) != -1) fail(ctx + ": object " + o.id() + " slice @" + off + " version " + ver + " is garbled (wrong data, not detected)");
        }
        return ver;
    }
}
