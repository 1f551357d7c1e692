package io.dsf.node.qemu;

import io.dsf.frodo.qemu.LiveGuest;
import io.dsf.frodo.qemu.TestGuest;
import io.dsf.node.admin.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * End to end against {@code dsf up} in its own process, virtio-blk: a Linux guest (QEMU TCG, 2 vCPUs)
 * on {@code vhost-user-blk-pci,num-queues=2} with {@code reconnect=1} writes an O_DIRECT pattern at
 * many offsets from both vCPUs in three rounds; while the second round runs the node is killed with
 * SIGKILL and restarted; QEMU reconnects, the requests in flight are resubmitted, and the guest
 * finishes without an I/O error and reads every byte back.
 */
class NodeBlkGuestTest {
    static final int ROUNDS = 3;
    static TestGuest guest;
    static GuestDisk disk;

    @BeforeAll
    static void build() throws Exception {
        String missing = TestGuest.missingTools();
        if (missing != null) System.out.println("NodeBlkGuestTest skipped: " + missing);
        Assumptions.assumeTrue(missing == null, missing);
        guest = TestGuest.get();
        disk = new GuestDisk();
    }

    static String workload() {
        StringBuilder s = new StringBuilder("echo " + TestGuest.BEGIN + "\n" + GuestDisk.probe("vda"));
        s.append("set -- $(cat /sys/block/vda/stat); w=$7\n");
        for (int round = 1; round <= ROUNDS; round++) {
            s.append("echo @@WRITING ").append(round).append('\n');
            s.append(GuestDisk.write("vda").replace("echo \"written", "echo \"round" + round));
        }
        s.append("set -- $(cat /sys/block/vda/stat); echo \"written $(( $7 - w ))\"\n");
        s.append(disk.verify("vda", "")).append(GuestDisk.hctx("vda")).append(GuestDisk.ioErrors("ioerrors"));
        s.append("echo ").append(TestGuest.END).append('\n');
        return s.toString();
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void guestKeepsRunningThroughANodeKillAndRestart(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        NodeProcess first = NodeProcess.start(dir, "--vdisk", "d1:64m");
        Path sock = first.endpoints.get("vhost-user-blk d1");
        List<String> devices = List.of("-chardev", "socket,id=c0,path=" + sock + ",reconnect=1",
                "-device", "vhost-user-blk-pci,chardev=c0,num-queues=2");
        String res;
        try (LiveGuest g = LiveGuest.boot(guest, dir.resolve("guest"), workload(), disk.files(), 2, devices)) {
            try {
                assertNotNull(g.awaitLine("@@WRITING 2", 200), "the guest finished round 1\n" + g.diagnostics());
                first.kill9();
            } finally {
                first.close();
            }
            try (NodeProcess second = NodeProcess.start(dir)) {
                assertEquals(sock, second.endpoints.get("vhost-user-blk d1"), "the same socket again");
                boolean exited = g.awaitExit(200);
                res = g.results();
                assertTrue(exited && res != null, "guest finished its workload\n" + g.diagnostics() + "\n--- node\n" + second.stderr());
                Map<String, String> r = LiveGuest.parse(res);
                assertFalse(r.containsKey("error"), "guest errors: " + res);
                assertEquals("4096", r.get("lbs"), res);
                assertEquals("2", r.get("hwq"), "two hardware queues: " + res);
                assertEquals(Long.toString(ROUNDS * GuestDisk.writtenSectors()), r.get("written"),
                        "every write completed once, as direct I/O: " + res);
                disk.assertVerified(r, "", res);
                GuestDisk.assertBothQueuesRan(r.get("hctx"), res);
                assertEquals("0", r.get("ioerrors"), "no I/O error in the guest: " + res);

                assertEquals(0, second.dsf("stats", "--json", "d1"), second.errText);
                Map<?, ?> st = (Map<?, ?>) ((List<?>) Json.parse(second.out.trim())).getFirst();
                long q0 = (Long) st.get("blk_q0_requests"), q1 = (Long) st.get("blk_q1_requests");
                assertTrue(q0 > 0 && q1 > 0, "both queues carried requests after the reconnect: " + st);
                System.out.println("NodeBlkGuestTest: requests per queue after the restart " + q0 + ", " + q1 + "; "
                        + r.get("hctx").replace('\n', ';') + (second.stderr().contains("resubmitting") ? "; in-flight requests resubmitted" : ""));
                assertEquals(0, second.stop(), "SIGTERM: exit 0\n" + second.stderr());
            }
        }
        System.out.printf("NodeBlkGuestTest: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
