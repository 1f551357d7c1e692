package io.dsf.node.up;

import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.scsi.VirtioScsiDevice;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserProtocol;
import io.dsf.frodo.virtq.IdleMode;
import io.dsf.node.Main;
import io.dsf.node.admin.AdminClient;
import io.dsf.node.admin.Json;
import io.dsf.stargate.core.StargateOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The admin commands through the real command line ({@code dsf vdisk ...}, {@code dsf stats}) against
 * a node running in this JVM: create with units, list, snapshot, clone, attach (own sockets, and as
 * a hot-plugged LUN of another vDisk's target with the event seen by a vhost-user driver), detach,
 * delete, stats, clear errors; the attached set survives a restart; a second node on the same data
 * directory is refused.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NodeAdminTest {
    @TempDir Path dir;
    StringWriter out = new StringWriter(), err = new StringWriter();

    Node.Config config(boolean explicit, String... vdisks) {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (String v : vdisks) m.put(v, 64L << 20);
        return new Node.Config(dir, "file:" + dir.resolve("dev0.img") + "?size=512m", m, explicit,
                VhostOptions.defaults().withQueues(2).withIdle(IdleMode.BACKOFF), StargateOptions.defaults().withShards(1).withIdle("backoff"));
    }

    Node start(Node.Config c) throws Exception {
        return Node.start(c, new PrintWriter(new StringWriter(), true));
    }

    int dsf(String... args) {
        out = new StringWriter();
        err = new StringWriter();
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--data";
        all[args.length + 1] = dir.toString();
        return Main.execute(all, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void vdiskLifecycleThroughTheCommandLine() throws Exception {
        try (Node n = start(config(false, "vdisk0"))) {
            assertEquals(List.of("vdisk0"), n.vdisks().stream().map(i -> i.name()).toList(), "first start: the default vDisk");
            assertEquals(dir.resolve("admin.sock"), n.adminSocket());
            assertEquals("endpoint admin - " + dir.resolve("admin.sock"), n.endpoints().getLast().line());

            assertEquals(0, dsf("vdisk", "create", "db", "10G", "--shards", "2"), err::toString);
            assertEquals("created vDisk db (10.0 GiB, 2 shards, thin)", out.toString().trim());
            assertEquals(1, dsf("vdisk", "create", "db", "1g"));
            assertEquals("dsf vdisk create: vDisk db already exists", err.toString().trim());
            assertEquals(2, dsf("vdisk", "create", "x", "10Q"));
            assertTrue(err.toString().contains("not a size"), err::toString);
            assertEquals(2, dsf("vdisk", "create", "x", "1000"));
            assertTrue(err.toString().contains("multiple of 4 KiB"), err::toString);
            assertEquals(1, dsf("vdisk", "create", "bad/name", "1g"));
            assertTrue(err.toString().contains("vDisk name 'bad/name'"), err::toString);

            assertEquals(0, dsf("vdisk", "attach", "db"), err::toString);
            assertEquals("endpoint vhost-user-scsi db " + dir.resolve("db.scsi.sock") + "\nendpoint vhost-user-blk db " + dir.resolve("db.blk.sock"),
                    out.toString().trim());
            assertTrue(Files.exists(dir.resolve("db.blk.sock")));
            assertEquals(1, dsf("vdisk", "attach", "db"));
            assertTrue(err.toString().contains("attached already"), err::toString);
            assertEquals(1, dsf("vdisk", "attach", "nope"));
            assertEquals("dsf vdisk attach: no vDisk named nope", err.toString().trim());

            assertEquals(0, dsf("vdisk", "snapshot", "db", "db-snap"), err::toString);
            assertEquals(0, dsf("vdisk", "clone", "db-snap", "db-clone"), err::toString);
            assertEquals(1, dsf("vdisk", "clone", "missing", "c2"));
            assertTrue(err.toString().contains("no vDisk named missing"), err::toString);
            assertEquals(0, dsf("vdisk", "list"), err::toString);
            String list = out.toString();
            assertTrue(list.lines().anyMatch(l -> l.startsWith("db-snap") && l.contains(" ro ") && l.contains(" db ")), list);
            assertTrue(list.lines().anyMatch(l -> l.startsWith("db ") && l.contains("10.0 GiB") && l.contains("LUN 0")), list);
            assertTrue(list.lines().anyMatch(l -> l.startsWith("db-clone") && l.endsWith("-")), "not attached: " + list);
            assertEquals(0, dsf("vdisk", "list", "--json"), err::toString);
            List<?> vs = (List<?>) Json.parse(out.toString().trim());
            assertEquals(4, vs.size(), out::toString);

            assertEquals(1, dsf("vdisk", "delete", "db"));
            assertEquals("dsf vdisk delete: vDisk db is attached: detach it first", err.toString().trim());
            assertEquals(0, dsf("vdisk", "delete", "db-clone"), err::toString);
            assertEquals(1, dsf("vdisk", "detach", "db-clone"));
            assertEquals("dsf vdisk detach: no vDisk named db-clone", err.toString().trim());
            assertEquals(1, dsf("vdisk", "detach", "db-snap"));
            assertEquals("dsf vdisk detach: vDisk db-snap is not attached", err.toString().trim());

            assertEquals(0, dsf("stats", "--json"), err::toString);
            List<?> stats = (List<?>) Json.parse(out.toString().trim());
            assertEquals(3, stats.size(), "db, db-snap, vdisk0: " + out);
            Map<?, ?> db = (Map<?, ?>) stats.getFirst();
            assertEquals("db", db.get("name"));
            assertEquals(0L, db.get("blk_q0_requests"), "queue counters of an attached vDisk");
            assertFalse(((Map<?, ?>) stats.get(1)).containsKey("blk_q0_requests"), "a vDisk that is not attached has none");
            assertEquals(0, dsf("stats", "vdisk0"), err::toString);
            assertTrue(out.toString().startsWith("vdisk0 ") && out.toString().contains("errors 0"), out::toString);
            assertTrue(out.toString().contains("requests per queue: vhost-user-scsi [0] vhost-user-blk [0]"), out::toString);
            assertEquals(1, dsf("stats", "nope"));
            assertTrue(err.toString().contains("no vDisk named nope"), err::toString);

            assertEquals(0, dsf("vdisk", "detach", "vdisk0"), err::toString);
            assertFalse(Files.exists(dir.resolve("vdisk0.blk.sock")), "its sockets are gone");
            assertEquals(List.of("db"), n.endpoints().stream().filter(e -> !e.kind().equals("admin")).map(Node.Endpoint::vdisk).distinct().toList());
        }
        assertFalse(Files.exists(dir.resolve("admin.sock")));
        assertEquals(1, dsf("vdisk", "list"), "no node");
        assertTrue(err.toString().contains("no node is running at " + dir.resolve("admin.sock")), err::toString);

        // a restart without --vdisk serves what was attached: db, not vdisk0 (detached) and no new default
        try (Node n = start(config(false, "vdisk0"))) {
            assertEquals(List.of("db", "db", "-"), n.endpoints().stream().map(Node.Endpoint::vdisk).toList(), n.endpoints().toString());
            assertEquals(3, n.vdisks().size());
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> start(config(false)));
            assertTrue(twice.getMessage().contains("another node is running"), twice.getMessage());
            assertEquals(0, dsf("vdisk", "list"), "the first node still serves: " + err);
        }
        // an explicit --vdisk attaches it again
        try (Node n = start(config(true, "vdisk0"))) {
            assertNotNull(n.attachment("vdisk0"));
            assertNotNull(n.attachment("db"));
        }
    }

    @Test
    void attachAsALunHotPlugsIntoTheRunningTarget() throws Exception {
        try (Node n = start(config(true, "host"))) {
            assertEquals(0, dsf("vdisk", "create", "extra", "32m"), err::toString);
            try (VhostUserDriver drv = VhostUserDriver.connect(dir.resolve("host.scsi.sock"))) {
                long acked = drv.negotiate(0);
                assertNotEquals(0, acked & VirtioScsiDevice.F_HOTPLUG);
                drv.createGuestMemory(4L << 20);
                drv.startQueue(0, 8, true);
                DriverQueue evt = drv.startQueue(1, 8, true);
                drv.getU64(VhostUserProtocol.GET_FEATURES);
                long buf = drv.alloc(16, 8);
                evt.offer(evt.chain(new long[] {buf}, new int[] {16}, new boolean[] {true}));
                evt.kick();
                // the worker takes the buffer asynchronously: an attach before that reports "missed", after it "delivered";
                // either way the driver gets the news in that buffer
                assertEquals(0, dsf("vdisk", "attach", "extra", "--scsi-target", "host", "--json"), err::toString);
                Map<String, Object> r = Json.parseObject(out.toString().trim());
                assertTrue(List.of("delivered", "missed").contains(r.get("hotplug")), out::toString);
                assertEquals(1, evt.awaitUsed(1, 10_000), "the event buffer came back");
                assertEquals(16, (int) evt.takeUsed());
                MemorySegment e = drv.at(buf, 16);
                if (r.get("hotplug").equals("delivered")) {
                    assertEquals(1, e.get(JAVA_INT_UNALIGNED, 0), "VIRTIO_SCSI_T_TRANSPORT_RESET");
                    assertEquals(1, e.get(JAVA_BYTE, 7), "LUN 1");
                    assertEquals(1, e.get(JAVA_INT_UNALIGNED, 12), "RESCAN");
                } else {
                    assertEquals(0x80000000, e.get(JAVA_INT_UNALIGNED, 0), "EVENTS_MISSED");
                }
                assertEquals("endpoint vhost-user-scsi extra " + dir.resolve("host.scsi.sock"), n.attachment("extra").endpoints().get(0).line());
                assertEquals(1, n.attachment("extra").lun());

                assertEquals(1, dsf("vdisk", "detach", "host"));
                assertTrue(err.toString().contains("also serves extra: detach them first"), err::toString);
                assertEquals(1, dsf("vdisk", "attach", "vdisk0", "--scsi-target", "extra"));
                assertTrue(err.toString().contains("no vDisk named vdisk0") , err::toString);
                assertEquals(0, dsf("vdisk", "create", "third", "8m"), err::toString);
                assertEquals(1, dsf("vdisk", "attach", "third", "--scsi-target", "extra"));
                assertTrue(err.toString().contains("is a LUN of host's SCSI target"), err::toString);
            }
        }
        // the LUN assignment is recorded: a restart serves extra as LUN 1 of host again
        try (Node n = start(config(false))) {
            assertEquals(1, n.attachment("extra").lun());
            assertEquals(dir.resolve("host.scsi.sock"), n.attachment("extra").scsiSocket());
            assertEquals(0, dsf("vdisk", "detach", "extra"), err::toString);
            assertEquals("detached extra; hot-plug event not sent (no guest with hot-plug connected): a guest sees the change at its next scan",
                    out.toString().trim());
            assertEquals(0, dsf("vdisk", "detach", "host"), err::toString);
            try (AdminClient c = AdminClient.connect(n.adminSocket())) {
                Map<String, Object> ping = c.call(Map.of("op", "ping"), 10_000);
                assertEquals(0L, ping.get("attached"));
                assertEquals(3L, ping.get("vdisks"));
                assertTrue(c.exchange("{\"op\":\"vdisk.create\",\"name\":\"q\",\"size\":true}", 10_000).contains("\"size\\\" must be a number"));
                assertTrue(c.exchange("{\"op\":\"vdisk.create\",\"name\":\"q\",\"size\":\"1g\",\"shards\":0}", 10_000).contains("1..64"));
                assertEquals(1L << 30, ((Map<?, ?>) c.call(Map.of("op", "vdisk.create", "name", "q", "size", "1g"), 10_000).get("vdisk")).get("size"));
            }
        }
    }
}
