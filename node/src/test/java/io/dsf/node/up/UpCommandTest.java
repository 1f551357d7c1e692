package io.dsf.node.up;

import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.node.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code dsf up} in a child JVM, as scripts run it: endpoint lines on stdout (the admin socket last),
 * an admin command against it, I/O through the vhost-user-blk socket with the test front-end, SIGTERM
 * giving exit 0, and a restart serving the same vDisk with the data written before (the catalog, the
 * attached set and the data persist in the BlockStore).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UpCommandTest {
    static final int LEN = 64 << 10;
    static final long SECTOR = 2048 + 8; // 1 MiB + 4 KiB into the vDisk

    /** A running child node: its endpoints by "kind name", and its stderr for diagnostics. */
    record Child(Process p, Map<String, Path> endpoints, Path err) {}

    static Child up(Path dir, String... extra) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-Ddsf.native.dir=" + System.getProperty("dsf.native.dir", "native/target"), "-cp", cp, Main.class.getName(),
                "up", "--data", dir.toString(), "--device", "file:" + dir.resolve("dev0.img") + "?size=1g",
                "--queues", "2", "--shards", "2", "--idle", "backoff"));
        cmd.addAll(List.of(extra));
        Path err = dir.resolve("up-" + System.nanoTime() + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) lines.add(l);
            } catch (Exception ignored) {
            }
            lines.add("<eof>");
        }, "up-stdout");
        reader.setDaemon(true);
        reader.start();
        Map<String, Path> eps = new HashMap<>();
        while (!eps.containsKey("admin -")) { // the admin endpoint comes last
            String l = lines.poll(60, TimeUnit.SECONDS);
            if (l == null || l.equals("<eof>")) {
                p.destroyForcibly();
                fail("dsf up printed no endpoints (" + l + "); stderr:\n" + Files.readString(err));
            }
            String[] f = l.split(" ");
            assertEquals(4, f.length, "endpoint line: " + l);
            assertEquals("endpoint", f[0]);
            Path sock = Path.of(f[3]);
            assertTrue(sock.isAbsolute() && f[3].getBytes(StandardCharsets.UTF_8).length <= 107, l);
            eps.put(f[1] + " " + f[2], sock);
        }
        return new Child(p, eps, err);
    }

    static int stop(Child c) throws Exception {
        c.p().destroy(); // SIGTERM
        assertTrue(c.p().waitFor(60, TimeUnit.SECONDS), "dsf up stops on SIGTERM");
        return c.p().exitValue();
    }

    /** One virtio-blk request (type 0 read, 1 write) of LEN bytes at SECTOR on queue {@code q}; returns the status byte. */
    static int blk(VhostUserDriver drv, DriverQueue q, int type, long hdr, long data, long status) {
        MemorySegment h = drv.at(hdr, 16);
        h.set(JAVA_INT_UNALIGNED, 0, type);
        h.set(JAVA_INT_UNALIGNED, 4, 0);
        h.set(JAVA_LONG_UNALIGNED, 8, SECTOR);
        drv.at(status, 1).set(JAVA_BYTE, 0, (byte) 0x7f);
        q.offer(q.chain(new long[] {hdr, data, status}, new int[] {16, LEN, 1}, new boolean[] {false, type == 0, true}));
        q.kick();
        assertEquals(1, q.awaitUsed(1, 30_000), "request completed");
        q.takeUsed();
        return drv.at(status, 1).get(JAVA_BYTE, 0);
    }

    static MemorySegment pattern() {
        MemorySegment m = MemorySegment.ofArray(new byte[LEN]);
        for (int i = 0; i < LEN; i += 4) m.set(JAVA_INT_UNALIGNED, i, 0x5eed0000 ^ (i * 31 + 7));
        return m;
    }

    @Test
    void servesWritesSurvivesSigtermAndRestart(@TempDir Path dir) throws Exception {
        MemorySegment expect = pattern();
        Child first = up(dir, "--vdisk", "d1:64m");
        try {
            assertTrue(first.endpoints().containsKey("vhost-user-scsi d1"), first.endpoints().toString());
            assertEquals(dir.resolve("d1.blk.sock").toAbsolutePath(), first.endpoints().get("vhost-user-blk d1"));
            assertTrue(Files.readString(first.err()).contains("formatted blank device"));
            assertEquals(dir.resolve("admin.sock").toAbsolutePath(), first.endpoints().get("admin -"));
            assertEquals(3, first.endpoints().size(), "d1's two sockets and the admin socket: " + first.endpoints());
            StringWriter out = new StringWriter(), err = new StringWriter();
            assertEquals(0, Main.execute(new String[] {"vdisk", "list", "--node", first.endpoints().get("admin -").toString()},
                    new PrintWriter(out, true), new PrintWriter(err, true)), err::toString);
            assertTrue(out.toString().lines().anyMatch(l -> l.startsWith("d1 ") && l.contains("64.0 MiB")), out::toString);
            err.getBuffer().setLength(0);
            assertEquals(Main.EXIT_FAILURE, Main.execute(new String[] {"up", "--data", dir.toString(), "--device", "file:" + dir.resolve("other.img") + "?size=64m"},
                    new PrintWriter(out, true), new PrintWriter(err, true)), "a second node on the same data directory is refused");
            assertTrue(err.toString().startsWith("dsf up: another node is running: its admin socket " + dir.resolve("admin.sock")), err::toString);
            assertFalse(Files.exists(dir.resolve("other.img")), "before it touches any device");
            try (VhostUserDriver drv = VhostUserDriver.connect(first.endpoints().get("vhost-user-blk d1"))) {
                drv.negotiate(0);
                drv.createGuestMemory(4L << 20);
                DriverQueue q = drv.startQueue(0, 16, true);
                long hdr = drv.alloc(16, 16), status = drv.alloc(1, 1), data = drv.alloc(LEN, 4096);
                MemorySegment.copy(expect, 0, drv.at(data, LEN), 0, LEN);
                assertEquals(0, blk(drv, q, 1, hdr, data, status), "write OK");
                drv.at(data, LEN).fill((byte) 0);
                assertEquals(0, blk(drv, q, 0, hdr, data, status), "read OK");
                assertEquals(-1, drv.at(data, LEN).mismatch(expect));
            }
        } finally {
            assertEquals(0, stop(first), "exit status after SIGTERM; stderr:\n" + Files.readString(first.err()));
        }
        assertFalse(Files.exists(dir.resolve("admin.sock")), "a clean stop removes the admin socket");
        // restart without --vdisk flags: d1 is still attached (recorded in the store); no default vDisk on an existing store;
        // the restart also runs the shared threading mode
        Child second = up(dir, "--threading", "shared");
        try {
            assertFalse(Files.readString(second.err()).contains("formatted"), "the store is opened, not formatted again");
            assertEquals(3, second.endpoints().size(), second.endpoints().toString());
            assertTrue(second.endpoints().containsKey("vhost-user-blk d1"), second.endpoints().toString());
            try (VhostUserDriver drv = VhostUserDriver.connect(second.endpoints().get("vhost-user-blk d1"))) {
                drv.negotiate(0);
                drv.createGuestMemory(4L << 20);
                DriverQueue q = drv.startQueue(1, 16, true);
                long hdr = drv.alloc(16, 16), status = drv.alloc(1, 1), data = drv.alloc(LEN, 4096);
                assertEquals(0, blk(drv, q, 0, hdr, data, status), "read OK");
                assertEquals(-1, drv.at(data, LEN).mismatch(expect), "data written before the restart reads back");
            }
        } finally {
            assertEquals(0, stop(second), "exit status after SIGTERM; stderr:\n" + Files.readString(second.err()));
        }
    }

    @Test
    void refusesUnknownThreadingAndBadVdiskSpecs() {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = Main.execute(new String[] {"up", "--threading", "pooled"}, new PrintWriter(out), new PrintWriter(err));
        assertEquals(Main.EXIT_USAGE, rc);
        assertTrue(err.toString().contains("dedicated or shared"), err.toString());
        err.getBuffer().setLength(0);
        rc = Main.execute(new String[] {"up", "--vdisk", "nosize"}, new PrintWriter(out), new PrintWriter(err));
        assertEquals(Main.EXIT_USAGE, rc);
        assertTrue(err.toString().contains("NAME:SIZE"), err.toString());
        assertEquals("", out.toString(), "nothing on stdout");
    }

    @Test
    void refusesBadClusterFlagsWithTheReason() {
        String[][] cases = {
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--domain", "shelf=3"}, {"unknown key 'shelf'"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--domain", "rack=r1,rack=r2"}, {"rack given twice"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--peers", "B@h:1/rack"}, {"peer B: domain: expected key=value"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--peers", "B@h:1", "--rf", "3"}, {"needs at least 2 peers"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--peers", "A@h:1"}, {"names this node"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--replica-drain-after", "-1"}, {"negative size"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--replica-drain-after", "lots"}, {"not a size"},
                {"--node-id", "A", "--listen", "127.0.0.1:0", "--replica-drain-after", "offf"}, {"not a size"},
                {"--replica-drain-after", "1m"}, {"need --listen"},
                {"--checkpoint-after", "1g"}, {"need --listen"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            String[] args = new String[cases[i].length + 1];
            args[0] = "up";
            System.arraycopy(cases[i], 0, args, 1, cases[i].length);
            int rc = Main.execute(args, new PrintWriter(out), new PrintWriter(err));
            assertEquals(Main.EXIT_USAGE, rc, String.join(" ", args));
            assertTrue(err.toString().contains(cases[i + 1][0]), String.join(" ", args) + ": " + err);
            assertEquals("", out.toString(), "nothing on stdout");
        }
    }
}
