package io.dsf.node.replication;

import io.dsf.frodo.blk.VirtioBlkDevice;
import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Three {@code dsf up} processes on loopback, RF2, static peer lists. A workload writes through node
 * A's vDisk over vhost-user-blk; the replica node that shard 0 uses is {@code kill -9}ed midway.
 * Asserted: no write fails; A's status shows the dead peer failed and every shard on the survivor;
 * every acknowledged write reads back from A; every acknowledged block is, with its CRC32C, in a
 * replica batch on B or C (the killed node is restarted first: its replicas were synced before they
 * were acknowledged), and every block acknowledged after the kill is on the survivor. The nodes
 * drain what they hold as replicas into their images past 256 KiB ({@code --replica-drain-after}),
 * so the survivor's copies come from its image and its segments both.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MultiNodeReplicationTest {
    static final int WRITE = 16 << 10, SLOTS = (64 << 20) / WRITE;

    @TempDir Path tmp;
    final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void down() {
        for (ClusterNode n : nodes) n.close();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Drives A's vhost-user-blk socket at QD1 with 16 KiB writes to distinct places; one thread owns the driver. */
    static final class Workload implements Runnable {
        final Path socket;
        final Map<Long, Integer> ackedBlocks = new ConcurrentHashMap<>(); // 4 KiB block -> CRC32C of what was acknowledged
        final List<Long> ackOrder = java.util.Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger acked = new AtomicInteger();
        final AtomicReference<String> error = new AtomicReference<>();
        final CountDownLatch done = new CountDownLatch(1);
        volatile boolean stop;
        volatile int readBackOk = -1;

        Workload(Path socket) { this.socket = socket; }

        @Override
        public void run() {
            try (VhostUserDriver drv = VhostUserDriver.connect(socket)) {
                drv.negotiate(0);
                drv.createGuestMemory(4L << 20);
                DriverQueue q = drv.startQueue(0, 64, true);
                long hdr = drv.alloc(16, 16), status = drv.alloc(1, 1), data = drv.alloc(WRITE, 4096);
                Random rnd = new Random(42);
                CRC32C crc = new CRC32C();
                byte[] bytes = new byte[WRITE];
                for (int i = 0; !stop && i < SLOTS; i++) {
                    long off = (long) ((i * 7919L) % SLOTS) * WRITE; // a permutation: each place written once, both shards
                    rnd.nextBytes(bytes);
                    MemorySegment.copy(MemorySegment.ofArray(bytes), 0, drv.at(data, WRITE), 0, WRITE);
                    int st = io(drv, q, hdr, status, data, VirtioBlkDevice.T_OUT, off);
                    if (st != VirtioBlkDevice.S_OK) {
                        error.set("write " + i + " at " + off + ": status " + st);
                        return;
                    }
                    for (int b = 0; b < WRITE / 4096; b++) {
                        crc.reset();
                        crc.update(bytes, b * 4096, 4096);
                        ackedBlocks.put(off / 4096 + b, (int) crc.getValue());
                    }
                    ackOrder.add(off);
                    acked.incrementAndGet();
                }
                // every acknowledged write reads back from the owner
                int ok = 0;
                for (long off : new ArrayList<>(ackOrder)) {
                    int st = io(drv, q, hdr, status, data, VirtioBlkDevice.T_IN, off);
                    if (st != VirtioBlkDevice.S_OK) {
                        error.set("read at " + off + ": status " + st);
                        return;
                    }
                    for (int b = 0; b < WRITE / 4096; b++) {
                        crc.reset();
                        crc.update(drv.at(data + b * 4096L, 4096).asByteBuffer());
                        if ((int) crc.getValue() != ackedBlocks.get(off / 4096 + b)) {
                            error.set("block " + (off / 4096 + b) + " reads back other data");
                            return;
                        }
                    }
                    ok++;
                }
                readBackOk = ok;
            } catch (Throwable t) {
                error.set(t.toString());
            } finally {
                done.countDown();
            }
        }

        static int io(VhostUserDriver drv, DriverQueue q, long hdr, long status, long data, int type, long off) {
            MemorySegment h = drv.at(hdr, 16);
            h.set(JAVA_INT_UNALIGNED, 0, type);
            h.set(JAVA_INT_UNALIGNED, 4, 0);
            h.set(JAVA_LONG_UNALIGNED, 8, off / 512);
            drv.at(status, 1).set(JAVA_BYTE, 0, (byte) 0x7f);
            int head = q.chain(new long[] {hdr, data, status}, new int[] {16, WRITE, 1}, new boolean[] {false, type == VirtioBlkDevice.T_IN, true});
            q.offer(head);
            q.kick();
            if (q.awaitUsed(1, 60_000) < 1) return -1;
            q.takeUsed();
            return drv.at(status, 1).get(JAVA_BYTE, 0);
        }

        void awaitAcked(int n, long timeoutSeconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            while (acked.get() < n) {
                assertNull(error.get(), "workload failed");
                assertTrue(System.nanoTime() < deadline, "only " + acked.get() + " of " + n + " writes acknowledged in time");
                if (done.await(5, TimeUnit.MILLISECONDS)) break; // polls a counter; not a synchronisation sleep
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) { return (Map<String, Object>) o; }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) { return (List<Object>) o; }

    /** Block -> CRC32Cs held on {@code n} for owner {@code owner}, from {@code dsf replicas --json --blocks}. */
    static Map<Long, Set<Integer>> held(ClusterNode n, String owner) {
        Map<Long, Set<Integer>> h = new HashMap<>();
        for (Object so : list(n.json("replicas", "--blocks"))) {
            Map<String, Object> s = map(so);
            if (!owner.equals(s.get("owner"))) continue;
            for (Object bo : list(s.get("batch_list")))
                for (Object p : list(map(bo).get("blocks"))) {
                    List<Object> pair = list(p);
                    h.computeIfAbsent((Long) pair.get(0), k -> new HashSet<>()).add((int) (long) (Long) pair.get(1));
                }
        }
        return h;
    }

    @Test
    void rf2OnThreeNodesSurvivesAReplicaKilledMidway() throws Exception {
        String[] ids = {"A", "B", "C"};
        int[] ports = {freePort(), freePort(), freePort()};
        for (int i = 0; i < 3; i++) {
            StringBuilder peers = new StringBuilder();
            for (int j = 0; j < 3; j++) if (j != i) peers.append(peers.isEmpty() ? "" : ",").append(ids[j]).append("@127.0.0.1:").append(ports[j]);
            Path d = Files.createDirectories(tmp.resolve(ids[i].toLowerCase()));
            nodes.add(new ClusterNode(ids[i], d, List.of("--vdisk", "d0:64m", "--listen", "127.0.0.1:" + ports[i], "--peers", peers.toString(),
                    "--rf", "2", "--rereplicate-after", "1", "--replica-drain-after", "256k")));
        }
        ClusterNode.startAll(nodes); // at once: each JVM takes seconds to start
        ClusterNode a = nodes.get(0);

        Map<String, Object> st = map(a.json("status"));
        assertEquals(0L, map(st.get("rereplication")).get("passes_done"));
        assertEquals("A", st.get("node"));
        assertEquals(2L, st.get("rf"));
        assertEquals("tcp", st.get("transport"));
        assertEquals(List.of("B", "C"), list(st.get("peers")).stream().map(p -> map(p).get("id")).toList());

        Workload w = new Workload(a.node.endpoints.get("vhost-user-blk d0"));
        Thread wt = Thread.ofPlatform().name("workload").start(w);
        w.awaitAcked(150, 120);

        // the replica shard 0 uses right now dies mid-workload
        st = map(a.json("status"));
        List<Object> shards = list(map(list(st.get("vdisks")).get(0)).get("shards"));
        List<Object> p0 = list(map(shards.get(0)).get("peers"));
        assertEquals(1, p0.size(), "RF2: one peer per shard: " + st);
        String victimId = (String) p0.get(0);
        ClusterNode victim = victimId.equals("B") ? nodes.get(1) : nodes.get(2);
        ClusterNode survivor = victim == nodes.get(1) ? nodes.get(2) : nodes.get(1);
        victim.kill9();
        int atKill = w.acked.get();
        w.awaitAcked(atKill + 150, 120);
        w.stop = true;
        assertTrue(w.done.await(120, TimeUnit.SECONDS), "workload finished");
        wt.join();
        assertNull(w.error.get(), "the workload saw no error; A's stderr:\n" + a.stderr());
        assertEquals(w.acked.get(), w.readBackOk, "every acknowledged write reads back from A");

        st = map(a.json("status"));
        Map<String, Object> vp = null;
        for (Object p : list(st.get("peers"))) if (map(p).get("id").equals(victimId)) vp = map(p);
        assertNotNull(vp);
        assertEquals("failed", vp.get("state"), "status: " + st);
        assertNotNull(vp.get("last_error"));
        for (Object s : list(map(list(st.get("vdisks")).get(0)).get("shards")))
            assertEquals(List.of(survivor.id), map(s).get("peers"), "every shard replicates to the survivor now: " + st);
        assertEquals(0L, st.get("batches_failed"));
        assertTrue((Long) vp.get("batches_held") > 0, "the victim held batches before it died: " + vp);

        // RF is restored: after the grace period A writes the shards' data again to the survivor
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) {
            st = map(a.json("status"));
            Map<String, Object> rr = map(st.get("rereplication"));
            if ((Long) rr.get("passes_done") >= 1 && st.get("shards_below_rf").equals(0L) && rr.get("running") == null) break;
            assertTrue(System.nanoTime() < deadline, "re-replication did not finish: " + st + "\nA's stderr:\n" + a.stderr());
            Thread.sleep(200);
        }
        assertEquals(0L, map(st.get("rereplication")).get("passes_failed"), "status: " + st);
        assertTrue((Long) map(st.get("rereplication")).get("blocks_rewritten") > 0, "status: " + st);
        assertEquals(0, a.dsf("status"), a.node.errText);
        assertTrue(a.node.out.contains("re-replication: "), a.node.out);
        assertFalse(a.node.out.contains("RF not met"), a.node.out);

        // the survivor drained A's batches into its image (a drain threshold of 256 KiB): some of what it
        // holds comes from its image, as dsf replicas --json lists it
        long imageBlocks = 0;
        for (Object so : list(survivor.json("replicas"))) {
            Map<String, Object> s = map(so);
            if ("image".equals(s.get("kind")) && "A".equals(s.get("owner"))) {
                imageBlocks += (Long) s.get("image_blocks");
                assertFalse(list(s.get("drained_ranges")).isEmpty(), "an image with blocks has drained ranges: " + s);
            }
        }
        assertTrue(imageBlocks > 0, "the survivor drained A's batches into its image: " + survivor.json("replicas"));

        // every acknowledged write is on the survivor now, the victim's copies no longer needed
        Map<Long, Set<Integer>> onSurvivor = held(survivor, "A");
        int checked = 0;
        List<Long> order = new ArrayList<>(w.ackOrder);
        for (int i = 0; i < order.size(); i++) {
            long off = order.get(i);
            for (int b = 0; b < WRITE / 4096; b++) {
                long block = off / 4096 + b;
                int crc = w.ackedBlocks.get(block);
                assertTrue(onSurvivor.getOrDefault(block, Set.of()).contains(crc), "acknowledged block " + block + " (write " + i
                        + ", the victim died at write " + atKill + ") is not on the survivor");
                checked++;
            }
        }

        // the victim comes back: told the bases, it deletes its copies of A's data (over-replicated now)
        victim.start();
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (map(map(map(victim.json("status")).get("held")).get("owners")).containsKey("A")) {
            assertTrue(System.nanoTime() < deadline, "the victim still holds A's segments: " + victim.json("status") + "\nA: " + a.json("status"));
            Thread.sleep(200);
        }
        assertEquals(Map.of(), map(map(a.json("status")).get("rereplication")).get("announcements_pending"));
        assertTrue(checked >= 4 * 300, "checked " + checked + " blocks");
        Map<String, Object> sv = map(survivor.json("status"));
        assertTrue(map(map(sv.get("held")).get("owners")).containsKey("A"), "survivor holds A's segments: " + sv);
        assertTrue((Long) sv.get("replica_batches_stored") > 0, "survivor stored batches: " + sv);
    }
}
