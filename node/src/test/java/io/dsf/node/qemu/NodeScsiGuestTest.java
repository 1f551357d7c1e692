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
 * End to end against {@code dsf up} in its own process: a Linux guest (QEMU TCG, 2 vCPUs) on
 * {@code vhost-user-scsi-pci,num_queues=2} sees the vDisk with two hardware queues, writes and reads
 * an O_DIRECT pattern at many offsets from both vCPUs (the node's per-queue counters show both
 * queues carried commands), reboots and finds its data, gets a second vDisk hot-plugged as LUN 1
 * ({@code dsf vdisk attach --scsi-target}: it appears in {@code /sys/block}, takes I/O) and
 * hot-unplugged ({@code dsf vdisk detach}: it disappears); then the node is killed with SIGKILL and
 * restarted, and a new guest finds every byte.
 */
class NodeScsiGuestTest {
    static TestGuest guest;
    static GuestDisk disk;

    @BeforeAll
    static void build() throws Exception {
        String missing = TestGuest.missingTools();
        if (missing != null) System.out.println("NodeScsiGuestTest skipped: " + missing);
        Assumptions.assumeTrue(missing == null, missing);
        guest = TestGuest.get();
        disk = new GuestDisk();
    }

    static List<String> scsi(Path sock) {
        return List.of("-chardev", "socket,id=c0,path=" + sock, "-device", "vhost-user-scsi-pci,chardev=c0,num_queues=2");
    }

    /** Boot 1: probe, write, verify, mark phase 1, reboot. Boot 2: verify, then the hot-plug dance with the test. */
    static String firstGuest() {
        String mark = "dd if=/dev/sda bs=4096 skip=" + GuestDisk.MARK_BLOCK + " count=1 iflag=direct 2>/dev/null | head -c 2";
        String setMark = "printf %s | dd of=/dev/sda bs=4096 seek=" + GuestDisk.MARK_BLOCK + " conv=sync,notrunc oflag=direct 2>/dev/null\n";
        return "echo " + TestGuest.BEGIN + "\n"
                + GuestDisk.probe("sda")
                + "mark=$(" + mark + ")\n"
                + "if [ \"$mark\" = P2 ]; then echo \"error booted a third time\"; echo " + TestGuest.END + "; exit 0; fi\n"
                + "if [ \"$mark\" != P1 ]; then\n"
                + "echo \"phase 1\"\n"
                + GuestDisk.write("sda")
                + disk.verify("sda", "1")
                + GuestDisk.hctx("sda")
                + GuestDisk.ioErrors("ioerrors1")
                + setMark.replace("%s", "P1")
                + "sync\necho @@REBOOT\nreboot -f\nsleep 60\nfi\n"
                + "echo \"phase 2\"\n"
                + disk.verify("sda", "2")
                + setMark.replace("%s", "P2")
                + "echo @@HOTPLUG-READY\n"
                + "for i in $(seq 1 600); do [ -b /dev/sdb ] && break; sleep 0.2; done\n"
                + "if [ -b /dev/sdb ]; then\n"
                + "echo \"plugged yes\"\n"
                + "echo \"sdb-bytes $(( $(cat /sys/block/sdb/size) * 512 ))\"\n"
                + "dd if=/pattern.bin of=/dev/sdb bs=65536 seek=64 oflag=direct conv=notrunc 2>/dev/null || echo \"error write sdb\"\n"
                + "dd if=/pattern.bin of=/dev/sdb bs=1048576 seek=20 oflag=direct conv=notrunc 2>/dev/null || echo \"error write sdb\"\n"
                + "echo \"sumb x $(dd if=/dev/sdb bs=65536 skip=64 count=16 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)\"\n"
                + "echo \"sumb y $(dd if=/dev/sdb bs=1048576 skip=20 count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)\"\n"
                + "else echo \"error no-hotplug\"; ls /sys/block; fi\n"
                + "echo @@UNPLUG-READY\n"
                + "for i in $(seq 1 600); do [ -e /sys/block/sdb ] || break; sleep 0.2; done\n"
                + "if [ -e /sys/block/sdb ]; then echo \"error still-plugged\"; else echo \"unplugged yes\"; fi\n"
                + GuestDisk.ioErrors("ioerrors2")
                + "echo " + TestGuest.END + "\n";
    }

    static String verifyingGuest() {
        return "echo " + TestGuest.BEGIN + "\n" + GuestDisk.probe("sda") + disk.verify("sda", "3") + GuestDisk.ioErrors("ioerrors3")
                + "echo " + TestGuest.END + "\n";
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void guestOnDsfUpSurvivesRebootHotplugAndNodeKill(@TempDir Path dir) throws Exception {
        long t0 = System.nanoTime();
        String res;
        try (NodeProcess node = NodeProcess.start(dir, "--vdisk", "d1:64m")) {
            assertEquals(0, node.dsf("vdisk", "create", "d2", "32m"), node.errText);
            Path sock = node.endpoints.get("vhost-user-scsi d1");
            try (LiveGuest g = LiveGuest.boot(guest, dir.resolve("guest-a"), firstGuest(), disk.files(), 2, scsi(sock))) {
                assertNotNull(g.awaitLine("@@HOTPLUG-READY", 200), "the guest wrote, rebooted and verified\n" + g.diagnostics());
                assertEquals(0, node.dsf("vdisk", "attach", "d2", "--scsi-target", "d1", "--json"), node.errText);
                Map<String, Object> attach = Json.parseObject(node.out.trim());
                assertEquals("delivered", attach.get("hotplug"), "the guest's event buffer took the event: " + node.out);
                assertNotNull(g.awaitLine("@@UNPLUG-READY", 120), "the hot-plugged disk appeared\n" + g.diagnostics());
                assertEquals(0, node.dsf("vdisk", "detach", "d2"), node.errText);
                assertTrue(node.out.contains("delivered"), node.out);
                boolean exited = g.awaitExit(120);
                res = g.results();
                assertTrue(exited && res != null, "guest finished its workload\n" + g.diagnostics());
            }
            Map<String, String> r = LiveGuest.parse(res);
            assertFalse(r.containsKey("error"), "guest errors: " + res);
            assertEquals("4096", r.get("lbs").lines().findFirst().orElseThrow(), res);
            assertEquals("2", r.get("hwq").lines().findFirst().orElseThrow(), "two hardware queues: " + res);
            assertEquals(Long.toString(GuestDisk.writtenSectors()), r.get("written"), "every write reached the device as direct I/O: " + res);
            disk.assertVerified(r, "1", res);
            disk.assertVerified(r, "2", res); // after the guest's reboot
            GuestDisk.assertBothQueuesRan(r.get("hctx"), res);
            assertEquals("yes", r.get("plugged"), res);
            assertEquals(Long.toString(32L << 20), r.get("sdb-bytes"), res);
            assertEquals("x " + disk.md5 + "\ny " + disk.md5, r.get("sumb"), "I/O on the hot-plugged LUN: " + res);
            assertEquals("yes", r.get("unplugged"), res);
            assertEquals("0", r.get("ioerrors1"), res);
            assertEquals("0", r.get("ioerrors2"), res);

            assertEquals(0, node.dsf("stats", "--json", "d1"), node.errText);
            Map<?, ?> st = (Map<?, ?>) ((List<?>) Json.parse(node.out.trim())).getFirst();
            long q0 = (Long) st.get("scsi_q0_requests"), q1 = (Long) st.get("scsi_q1_requests");
            assertTrue(q0 > 0 && q1 > 0, "both request queues carried commands: " + st);
            assertTrue((Long) st.get("total_write_ops") > 0 && (Long) st.get("total_read_ops") > 0, st.toString());
            System.out.println("NodeScsiGuestTest: requests per request queue " + q0 + ", " + q1 + "; " + r.get("hctx").replace('\n', ';'));
            node.kill9();
        }
        try (NodeProcess node = NodeProcess.start(dir)) {
            assertEquals(List.of("vhost-user-scsi d1", "vhost-user-blk d1", "admin -"), List.copyOf(node.endpoints.keySet()),
                    "after the restart: d1 served again, d2 (detached) not");
            try (LiveGuest g = LiveGuest.boot(guest, dir.resolve("guest-b"), verifyingGuest(), disk.files(), 2,
                    scsi(node.endpoints.get("vhost-user-scsi d1")))) {
                boolean exited = g.awaitExit(150);
                res = g.results();
                assertTrue(exited && res != null, "guest finished its workload\n" + g.diagnostics());
            }
            Map<String, String> r = LiveGuest.parse(res);
            assertFalse(r.containsKey("error"), "guest errors: " + res);
            disk.assertVerified(r, "3", res); // after kill -9 and restart of the node
            assertEquals("0", r.get("ioerrors3"), res);
            assertEquals(0, node.stop(), "SIGTERM: exit 0\n" + node.stderr());
        }
        System.out.printf("NodeScsiGuestTest: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
