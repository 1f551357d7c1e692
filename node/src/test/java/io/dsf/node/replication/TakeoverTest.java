package io.dsf.node.replication;

import io.dsf.frodo.blk.VirtioBlkDevice;
import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
 * Three {@code dsf up} processes on loopback, RF2. A workload writes (and zeroes) through owner A's
 * vhost-user-blk socket at QD1, overwriting places many times; A is {@code kill -9}ed mid-workload;
 * {@code dsf vdisk takeover d0 --from A} on B rebuilds the vDisk from the replicas on B and C;
 * {@code dsf vdisk attach d0} on B serves it, and every acknowledged write reads back through B's
 * vhost-user-blk socket with its CRC32C (the one write in flight at the kill may read either way).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TakeoverTest {
    static final int WRITE = 16 << 10, PLACES = (16 << 20) / WRITE;
    static final int ZERO_CRC;

    static {
        CRC32C c = new CRC32C();
        c.update(new byte[4096]);
        ZERO_CRC = (int) c.getValue();
    }

    @TempDir Path tmp;
    final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void down() {
        for (ClusterNode n : nodes) n.close();
    }

    /** QD1 writes of 16 KiB over 1024 places of the first 16 MiB (each written several times), every 8th a write-zeroes. */
    static final class Workload implements Runnable {
        final Path socket;
        /** 4 KiB block -> CRC32C of the last acknowledged content. */
        final Map<Long, Integer> acked = new ConcurrentHashMap<>();
        /** The operation in flight: its blocks may read old or new after a crash (block -> CRC32C of the new content). */
        final Map<Long, Integer> inFlight = new ConcurrentHashMap<>();
        final AtomicInteger count = new AtomicInteger();
        final AtomicReference<String> error = new AtomicReference<>();
        final CountDownLatch done = new CountDownLatch(1);
        /** Set once the owner is killed: the operation in flight is abandoned instead of waited for. */
        volatile boolean ownerDead;

        Workload(Path socket) { this.socket = socket; }

        @Override
        public void run() {
            try (VhostUserDriver drv = VhostUserDriver.connect(socket)) {
                drv.negotiate(0);
                drv.createGuestMemory(4L << 20);
                DriverQueue q = drv.startQueue(0, 64, true);
                long hdr = drv.alloc(16, 16), status = drv.alloc(1, 1), data = drv.alloc(WRITE, 4096);
                Random rnd = new Random(7);
                CRC32C crc = new CRC32C();
                byte[] bytes = new byte[WRITE];
                for (int i = 0; ; i++) {
                    long off = (long) ((i * 7919L) % PLACES) * WRITE;
                    boolean zero = i % 8 == 7;
                    int[] crcs = new int[WRITE / 4096];
                    if (zero) {
                        java.util.Arrays.fill(crcs, ZERO_CRC);
                        MemorySegment seg = drv.at(data, 16);
                        seg.set(JAVA_LONG_UNALIGNED, 0, off / 512);
                        seg.set(JAVA_INT_UNALIGNED, 8, WRITE / 512);
                        seg.set(JAVA_INT_UNALIGNED, 12, 0);
                    } else {
                        rnd.nextBytes(bytes);
                        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, drv.at(data, WRITE), 0, WRITE);
                        for (int b = 0; b < crcs.length; b++) {
                            crc.reset();
                            crc.update(bytes, b * 4096, 4096);
                            crcs[b] = (int) crc.getValue();
                        }
                    }
                    inFlight.clear();
                    for (int b = 0; b < crcs.length; b++) inFlight.put(off / 4096 + b, crcs[b]);
                    int st = zero ? io(drv, q, hdr, status, data, 16, VirtioBlkDevice.T_WRITE_ZEROES, off, () -> ownerDead)
                            : io(drv, q, hdr, status, data, WRITE, VirtioBlkDevice.T_OUT, off, () -> ownerDead);
                    if (st != VirtioBlkDevice.S_OK) {
                        error.set("operation " + i + " at " + off + ": status " + st);
                        return;
                    }
                    for (int b = 0; b < crcs.length; b++) acked.put(off / 4096 + b, crcs[b]);
                    inFlight.clear();
                    count.incrementAndGet();
                }
            } catch (Throwable t) {
                error.set(t.toString()); // the owner died under us: expected once it is killed
            } finally {
                done.countDown();
            }
        }
    }

    static int io(VhostUserDriver drv, DriverQueue q, long hdr, long status, long data, int len, int type, long off) {
        return io(drv, q, hdr, status, data, len, type, off, () -> false);
    }

    /** One request; -1 when no answer within 60 s, or as soon as {@code abandon} says the backend is gone. */
    static int io(VhostUserDriver drv, DriverQueue q, long hdr, long status, long data, int len, int type, long off,
                  java.util.function.BooleanSupplier abandon) {
        MemorySegment h = drv.at(hdr, 16);
        h.set(JAVA_INT_UNALIGNED, 0, type);
        h.set(JAVA_INT_UNALIGNED, 4, 0);
        h.set(JAVA_LONG_UNALIGNED, 8, type == VirtioBlkDevice.T_WRITE_ZEROES ? 0 : off / 512);
        drv.at(status, 1).set(JAVA_BYTE, 0, (byte) 0x7f);
        int head = q.chain(new long[] {hdr, data, status}, new int[] {16, len, 1}, new boolean[] {false, type == VirtioBlkDevice.T_IN, true});
        q.offer(head);
        q.kick();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (q.awaitUsed(1, 100) < 1) if (abandon.getAsBoolean() || System.nanoTime() > until) return -1;
        q.takeUsed();
        return drv.at(status, 1).get(JAVA_BYTE, 0);
    }

    /** Attaches d0 on {@code n} and reads every place back through its vhost-user-blk socket against the workload's record. */
    static void readBack(ClusterNode n, Workload w) throws Exception {
        Map<String, Object> att = map(n.json("vdisk", "attach", "d0"));
        Path blk = null;
        for (Object e : list(att.get("endpoints"))) if (map(e).get("kind").equals("vhost-user-blk")) blk = Path.of((String) map(e).get("socket"));
        assertNotNull(blk, att.toString());
        int checked = 0;
        try (VhostUserDriver drv = VhostUserDriver.connect(blk)) {
            drv.negotiate(0);
            drv.createGuestMemory(4L << 20);
            DriverQueue q = drv.startQueue(0, 64, true);
            long hdr = drv.alloc(16, 16), status = drv.alloc(1, 1), data = drv.alloc(WRITE, 4096);
            CRC32C crc = new CRC32C();
            for (int p = 0; p < PLACES; p++) {
                long off = (long) p * WRITE;
                assertEquals(VirtioBlkDevice.S_OK, io(drv, q, hdr, status, data, WRITE, VirtioBlkDevice.T_IN, off), "read at " + off);
                for (int k = 0; k < WRITE / 4096; k++) {
                    long block = off / 4096 + k;
                    crc.reset();
                    crc.update(drv.at(data + k * 4096L, 4096).asByteBuffer());
                    int got = (int) crc.getValue();
                    Integer want = w.acked.get(block), maybe = w.inFlight.get(block);
                    int expect = want == null ? ZERO_CRC : want;
                    assertTrue(got == expect || (maybe != null && got == maybe), "block " + block + " reads other data than acknowledged"
                            + (maybe != null ? " (nor the write in flight at the kill)" : ""));
                    checked++;
                }
            }
        }
        assertEquals(PLACES * (WRITE / 4096), checked);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) { return (Map<String, Object>) o; }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) { return (List<Object>) o; }

    @Test
    void rf2TakeoverAfterTheOwnerIsKilledServesEveryAcknowledgedWrite() throws Exception {
        String[] ids = {"A", "B", "C"};
        int[] ports = {MultiNodeReplicationTest.freePort(), MultiNodeReplicationTest.freePort(), MultiNodeReplicationTest.freePort()};
        for (int i = 0; i < 3; i++) {
            StringBuilder peers = new StringBuilder();
            for (int j = 0; j < 3; j++) if (j != i) peers.append(peers.isEmpty() ? "" : ",").append(ids[j]).append("@127.0.0.1:").append(ports[j]);
            Path d = Files.createDirectories(tmp.resolve(ids[i].toLowerCase()));
            nodes.add(new ClusterNode(ids[i], d, List.of("--vdisk", i == 0 ? "d0:64m" : "x" + i + ":4m", "--listen", "127.0.0.1:" + ports[i],
                    "--peers", peers.toString(), "--rf", "2")));
        }
        ClusterNode.startAll(nodes); // at once: each JVM takes seconds to start
        ClusterNode a = nodes.get(0), b = nodes.get(1);

        Workload w = new Workload(a.node.endpoints.get("vhost-user-blk d0"));
        Thread wt = Thread.ofPlatform().name("workload").start(w);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (w.count.get() < 1500) { // about 1.5 passes over the places: overwrites, zeroes over data and data over zeroes
            assertNull(w.error.get(), "workload failed before the kill; A's stderr:\n" + a.stderr());
            assertTrue(System.nanoTime() < deadline, "only " + w.count.get() + " operations in time");
            if (w.done.await(5, TimeUnit.MILLISECONDS)) break; // polls a counter; not a synchronisation sleep
        }
        a.kill9();
        w.ownerDead = true;
        assertTrue(w.done.await(90, TimeUnit.SECONDS), "the workload noticed the owner's death");
        wt.join();
        assertTrue(w.count.get() >= 1500);

        // a wrong owner and a name that exists are refused; then the real takeover
        assertNotEquals(0, b.dsf("vdisk", "takeover", "d0", "--from", "C"));
        assertTrue(b.node.errText.contains("alive"), b.node.errText);
        assertNotEquals(0, b.dsf("vdisk", "takeover", "x1", "--from", "A"));
        Map<String, Object> r = map(b.json("vdisk", "takeover", "d0", "--from", "A"));
        assertEquals("d0", map(r.get("vdisk")).get("name"));
        assertEquals(64L << 20, map(r.get("vdisk")).get("size"));
        assertEquals(2L, map(r.get("vdisk")).get("shards"));
        assertEquals(List.of("B", "C"), list(r.get("sources")).stream().sorted().toList());
        assertTrue((Long) r.get("batches") > 0 && (Long) r.get("zero_blocks") > 0, r.toString());
        assertEquals(r.get("blocks_total"), r.get("blocks_done"));
        Map<String, Object> tk = map(map(b.json("status")).get("takeover"));
        assertEquals("done", tk.get("phase"));
        assertEquals(r.get("blocks_total"), tk.get("blocks_done"));

        readBack(b, w);
        // B now owns d0 and replicates it to C
        Map<String, Object> st = map(b.json("status"));
        assertEquals(0L, st.get("batches_failed"));
        assertTrue((Long) st.get("batches_acked") > 0, st.toString());
    }

    /**
     * Four nodes, RF2, a short grace period: the replica A's shard 0 uses is {@code kill -9}ed
     * mid-workload; A re-replicates (status: passes done, no shard below RF); then A is killed too.
     * Two of four nodes are gone, which RF2 survives only because re-replication restored the second
     * copies in between: a takeover refuses while the dead replica might hold the only copy, and with
     * it declared {@code --lost} returns every acknowledged write from the two survivors.
     */
    @Test
    void afterReReplicationATakeoverSurvivesTheLostReplicaToo() throws Exception {
        String[] ids = {"A", "B", "C", "D"};
        int[] ports = new int[4];
        for (int i = 0; i < 4; i++) ports[i] = MultiNodeReplicationTest.freePort();
        for (int i = 0; i < 4; i++) {
            StringBuilder peers = new StringBuilder();
            for (int j = 0; j < 4; j++) if (j != i) peers.append(peers.isEmpty() ? "" : ",").append(ids[j]).append("@127.0.0.1:").append(ports[j]);
            Path d = Files.createDirectories(tmp.resolve(ids[i].toLowerCase()));
            nodes.add(new ClusterNode(ids[i], d, List.of("--vdisk", i == 0 ? "d0:64m" : "x" + i + ":4m", "--listen", "127.0.0.1:" + ports[i],
                    "--peers", peers.toString(), "--rf", "2", "--rereplicate-after", "1")));
        }
        ClusterNode.startAll(nodes);
        ClusterNode a = nodes.get(0);
        Workload w = new Workload(a.node.endpoints.get("vhost-user-blk d0"));
        Thread wt = Thread.ofPlatform().name("workload").start(w);
        awaitCount(w, a, 800);

        Map<String, Object> st = map(a.json("status"));
        List<Object> p0 = list(map(list(map(list(st.get("vdisks")).get(0)).get("shards")).get(0)).get("peers"));
        assertEquals(1, p0.size(), st.toString());
        String victimId = (String) p0.get(0);
        ClusterNode victim = nodes.stream().filter(n -> n.id.equals(victimId)).findFirst().orElseThrow();
        victim.kill9();
        awaitCount(w, a, w.count.get() + 800);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (true) { // writes go on meanwhile
            st = map(a.json("status"));
            Map<String, Object> rr = map(st.get("rereplication"));
            if ((Long) rr.get("passes_done") >= 1 && st.get("shards_below_rf").equals(0L) && rr.get("running") == null) break;
            assertNull(w.error.get(), "workload failed; A's stderr:\n" + a.stderr());
            assertTrue(System.nanoTime() < deadline, "re-replication did not finish: " + st + "\nA's stderr:\n" + a.stderr());
            Thread.sleep(100);
        }
        awaitCount(w, a, w.count.get() + 200); // history after the base
        a.kill9();
        w.ownerDead = true;
        assertTrue(w.done.await(90, TimeUnit.SECONDS), "the workload noticed the owner's death");
        wt.join();

        ClusterNode on = nodes.stream().filter(n -> n != a && n != victim).findFirst().orElseThrow();
        assertNotEquals(0, on.dsf("vdisk", "takeover", "d0", "--from", "A"));
        assertTrue(on.node.errText.contains("unreachable"), on.node.errText);
        Map<String, Object> r = map(on.json("vdisk", "takeover", "d0", "--from", "A", "--lost", victimId));
        assertEquals(List.of(victimId), r.get("lost"));
        assertEquals(List.of(), r.get("unreachable"));
        readBack(on, w);
    }

    static void awaitCount(Workload w, ClusterNode owner, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (w.count.get() < n) {
            assertNull(w.error.get(), "workload failed; owner's stderr:\n" + owner.stderr());
            assertTrue(System.nanoTime() < deadline, "only " + w.count.get() + " operations in time");
            if (w.done.await(5, TimeUnit.MILLISECONDS)) break; // polls a counter; not a synchronisation sleep
        }
    }
}
