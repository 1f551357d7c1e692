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

    /** Put before the JVM's command line ({@code ip netns exec NS} for a node in a network namespace). */
    final List<String> prefix;

    ClusterNode(String id, Path dir, List<String> extra) { this(id, dir, extra, List.of()); }

    ClusterNode(String id, Path dir, List<String> extra, List<String> prefix) {
        this.id = id;
        this.prefix = List.copyOf(prefix);
        this.dir = dir;
        this.args = new ArrayList<>(List.of("up", "--data", dir.toString(), "--device", "file:" + dir.resolve("dev0.img") + "?size=1g",
                "--queues", "1", "--shards", "2", "--node-id", id));
        this.args.addAll(extra);
    }

    /** Starts (or restarts) the process and waits up to 90 s for its endpoint lines. */
    ClusterNode start() throws Exception {
        node = NodeProcess.launch(dir, prefix, args, "node " + id);
        return this;
    }

    /** Starts every node at once (each JVM takes seconds to start); fails if any did not start. */
    static void startAll(List<ClusterNode> nodes) throws InterruptedException {
        List<Thread> starters = new ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (ClusterNode n : nodes) starters.add(Thread.ofPlatform().start(() -> {
            try {
                n.start();
            } catch (Throwable t) {
                failure.set(t);
            }
        }));
        for (Thread t : starters) t.join();
        if (failure.get() != null) throw new AssertionError("a node did not start", failure.get());
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

    /** Admin output of the last {@link #dsf} call: stdout, then stderr. */
    String lastOutput() { return node.out + node.errText; }

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
