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
import java.util.concurrent.TimeUnit;

import static io.dsf.node.replication.MultiNodeReplicationTest.held;
import static io.dsf.node.replication.MultiNodeReplicationTest.list;
import static io.dsf.node.replication.MultiNodeReplicationTest.map;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Three {@code dsf up} processes, RF2, every one of them owner and replica at once: each writes its
 * own vDisk through its vhost-user-blk socket while holding the others' replicas. No write fails,
 * every acknowledged write reads back from its owner, and every acknowledged block is, with its
 * CRC32C, on one of the two other nodes.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EveryNodeWritesTest {
    @TempDir Path tmp;
    final List<ClusterNode> nodes = new ArrayList<>();

    @AfterEach
    void down() {
        for (ClusterNode n : nodes) n.close();
    }

    @Test
    void threeOwnersReplicatingToEachOtherAtOnce() throws Exception {
        String[] ids = {"A", "B", "C"};
        int[] ports = new int[3];
        for (int i = 0; i < 3; i++) ports[i] = MultiNodeReplicationTest.freePort();
        for (int i = 0; i < 3; i++) {
            StringBuilder peers = new StringBuilder();
            for (int j = 0; j < 3; j++) if (j != i) peers.append(peers.isEmpty() ? "" : ",").append(ids[j]).append("@127.0.0.1:").append(ports[j]);
            Path d = Files.createDirectories(tmp.resolve(ids[i].toLowerCase()));
            nodes.add(new ClusterNode(ids[i], d, List.of("--vdisk", "d0:64m", "--listen", "127.0.0.1:" + ports[i], "--peers", peers.toString(), "--rf", "2", "--replica-drain-after", "off")));
        }
        ClusterNode.startAll(nodes); // at once: each JVM takes seconds to start

        List<MultiNodeReplicationTest.Workload> ws = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (ClusterNode n : nodes) {
            MultiNodeReplicationTest.Workload w = new MultiNodeReplicationTest.Workload(n.node.endpoints.get("vhost-user-blk d0"));
            ws.add(w);
            threads.add(Thread.ofPlatform().name("workload " + n.id).start(w));
        }
        try {
            for (MultiNodeReplicationTest.Workload w : ws) w.awaitAcked(300, 150);
        } catch (AssertionError e) {
            StringBuilder b = new StringBuilder(e.getMessage());
            for (ClusterNode n : nodes) b.append("\n--- ").append(n.id).append("'s stderr:\n").append(n.stderr());
            throw new AssertionError(b.toString(), e);
        }
        for (MultiNodeReplicationTest.Workload w : ws) w.stop = true;
        for (int i = 0; i < 3; i++) {
            MultiNodeReplicationTest.Workload w = ws.get(i);
            assertTrue(w.done.await(120, TimeUnit.SECONDS), "workload " + ids[i] + " finished");
            threads.get(i).join();
            assertNull(w.error.get(), "workload on " + ids[i] + " saw no error; its stderr:\n" + nodes.get(i).stderr());
            assertEquals(w.acked.get(), w.readBackOk, "every acknowledged write reads back from " + ids[i]);
        }
        for (int i = 0; i < 3; i++) {
            Map<String, Object> st = map(nodes.get(i).json("status"));
            assertEquals(0L, st.get("batches_failed"), ids[i] + ": " + st);
            List<Map<Long, Set<Integer>>> others = new ArrayList<>();
            for (int j = 0; j < 3; j++) if (j != i) others.add(held(nodes.get(j), ids[i]));
            for (Map.Entry<Long, Integer> e : ws.get(i).ackedBlocks.entrySet()) {
                boolean found = false;
                for (Map<Long, Set<Integer>> h : others) found |= h.getOrDefault(e.getKey(), Set.of()).contains(e.getValue());
                assertTrue(found, "block " + e.getKey() + " acknowledged by " + ids[i] + " is on a replica");
            }
            assertFalse(list(st.get("vdisks")).isEmpty(), ids[i] + " replicates: " + st);
        }
    }
}
