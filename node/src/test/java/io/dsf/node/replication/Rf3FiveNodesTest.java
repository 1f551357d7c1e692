package io.dsf.node.replication;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static io.dsf.node.replication.MultiNodeReplicationTest.held;
import static io.dsf.node.replication.MultiNodeReplicationTest.list;
import static io.dsf.node.replication.MultiNodeReplicationTest.map;
import static org.junit.jupiter.api.Assertions.*;

/**
 * RF3 on five {@code dsf up} processes on loopback, with availability domains on the command line:
 * A (the owner) and B share rack r1, C and E are on rack r2, D on rack r3. A workload writes through
 * A's vhost-user-blk socket; afterwards every acknowledged 4 KiB block is found, with the CRC32C of
 * what was acknowledged, on exactly two other nodes, one of them D (rack r3) and the other on rack
 * r2; none on B (the owner's rack); and A's status reports every shard's copies apart by rack.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class Rf3FiveNodesTest {
    @TempDir Path tmp;
    final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void down() {
        for (ClusterNode n : nodes) n.close();
    }

    @Test
    void rf3CopiesOnThreeRacksVerifiedOnEveryReplica() throws Exception {
        String[] ids = {"A", "B", "C", "D", "E"};
        String[] racks = {"r1", "r1", "r2", "r3", "r2"};
        int[] ports = new int[5];
        for (int i = 0; i < 5; i++) ports[i] = MultiNodeReplicationTest.freePort();
        for (int i = 0; i < 5; i++) {
            StringBuilder peers = new StringBuilder();
            for (int j = 0; j < 5; j++)
                if (j != i) peers.append(peers.isEmpty() ? "" : ",").append(ids[j]).append("@127.0.0.1:").append(ports[j]).append("/rack=").append(racks[j]);
            Path d = Files.createDirectories(tmp.resolve(ids[i].toLowerCase()));
            List<String> extra = new ArrayList<>(List.of("--listen", "127.0.0.1:" + ports[i], "--peers", peers.toString(), "--rf", "3", "--replica-drain-after", "off",
                    "--domain", "rack=" + racks[i]));
            if (i == 0) extra.addAll(List.of("--vdisk", "d0:64m"));
            nodes.add(new ClusterNode(ids[i], d, extra));
        }
        ClusterNode.startAll(nodes); // at once: each JVM takes seconds to start
        ClusterNode a = nodes.get(0);

        MultiNodeReplicationTest.Workload w = new MultiNodeReplicationTest.Workload(a.node.endpoints.get("vhost-user-blk d0"));
        Thread wt = Thread.ofPlatform().name("workload").start(w);
        w.awaitAcked(200, 150);
        w.stop = true;
        assertTrue(w.done.await(120, TimeUnit.SECONDS), "workload finished");
        wt.join();
        assertNull(w.error.get(), "the workload saw no error; A's stderr:\n" + a.stderr());
        assertEquals(w.acked.get(), w.readBackOk, "every acknowledged write reads back from A");

        Map<String, Object> st = map(a.json("status"));
        assertEquals("node=A,rack=r1", st.get("domain"));
        assertEquals(3L, st.get("rf"));
        for (Object s : list(map(list(st.get("vdisks")).get(0)).get("shards"))) {
            assertEquals("rack", map(s).get("domain_level"), "copies apart by rack: " + st);
            assertEquals(2, list(map(s).get("peers")).size(), "RF3: two peers per shard: " + st);
        }
        assertEquals(0L, st.get("batches_failed"));

        List<Map<Long, Set<Integer>>> onNode = new ArrayList<>();
        for (int i = 1; i < 5; i++) onNode.add(held(nodes.get(i), "A"));
        int checked = 0;
        for (Map.Entry<Long, Integer> e : w.ackedBlocks.entrySet()) {
            Set<String> holders = new TreeSet<>();
            for (int i = 1; i < 5; i++) if (onNode.get(i - 1).getOrDefault(e.getKey(), Set.of()).contains(e.getValue())) holders.add(ids[i]);
            assertEquals(2, holders.size(), "block " + e.getKey() + " with its acknowledged CRC on two replicas: " + holders);
            assertTrue(holders.contains("D"), "rack r3's only node holds block " + e.getKey() + ": " + holders);
            assertFalse(holders.contains("B"), "no copy on the owner's rack: block " + e.getKey() + ": " + holders);
            checked++;
        }
        assertTrue(checked >= 4 * 200, "checked " + checked + " blocks");
        assertTrue(onNode.get(0).isEmpty(), "B (the owner's rack) holds nothing of A's");
        Map<String, Object> bs = map(nodes.get(1).json("status"));
        assertEquals("node=B,rack=r1", bs.get("domain"));
    }
}
