package io.dsf.node.replication;

import io.dsf.node.admin.Json;
import io.dsf.node.qemu.NodeProcess;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * One {@code dsf up} of a loopback cluster in a child JVM ({@link NodeProcess}): its own data
 * directory and 1 GiB {@code file:} device, {@code --node-id --listen --peers --rf}; restartable
 * with the same command line. Admin commands run through the real command line. Control path of
 * tests; not thread safe.
 */
final class ClusterNode implements AutoCloseable {
    final String id;
    final Path dir;
    final List<String> args;
    /** The running process (the last one started). */
    NodeProcess node;

    ClusterNode(String id, Path dir, List<String> extra) {
        this.id = id;
        this.dir = dir;
        this.args = new ArrayList<>(List.of("up", "--data", dir.toString(), "--device", "file:" + dir.resolve("dev0.img") + "?size=1g",
                "--queues", "1", "--shards", "2", "--node-id", id));
        this.args.addAll(extra);
    }

    /** Starts (or restarts) the process and waits up to 90 s for its endpoint lines. */
    ClusterNode start() throws Exception {
        node = NodeProcess.launch(dir, args, "node " + id);
        return this;
    }

    int dsf(String... a) { return node.dsf(a); }

    /** {@code dsf ARGS --json} parsed (the last line of stdout); fails the test on a non-zero exit. */
    Object json(String... a) {
        String[] all = java.util.Arrays.copyOf(a, a.length + 1);
        all[a.length] = "--json";
        assertEquals(0, node.dsf(all), "dsf " + String.join(" ", all) + " on " + id + ": " + node.errText);
        String[] lines = node.out.strip().split("\n");
        return Json.parse(lines[lines.length - 1]);
    }

    void kill9() throws Exception { node.kill9(); }

    String stderr() {
        try {
            return node == null ? "" : node.stderr();
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }

    @Override
    public void close() {
        if (node != null) node.close();
    }
}
