package io.dsf.node.replication;

import io.dsf.bindings.testing.ChildJvm;
import io.dsf.node.Main;
import io.dsf.node.admin.Json;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One {@code dsf up} in a child JVM inside a network namespace ({@code ip netns exec NS java ...},
 * which execs the JVM: the process is the node itself), its own data directory and 1 GiB
 * {@code file:} device; ready once it printed its {@code endpoint admin} line. Its vhost-user and
 * admin sockets are path-named Unix sockets, reachable from any namespace, so admin commands run
 * through the real command line in the test JVM. Control path of tests; not thread safe.
 */
final class NetnsNode implements AutoCloseable {
    final String id;
    final String netns;
    final Path dir;
    final List<String> args;
    Process process;
    /** Endpoint sockets by "KIND NAME" ("vhost-user-blk d0", "admin -"). */
    final Map<String, Path> endpoints = new LinkedHashMap<>();
    Path err;
    String out = "", errText = "";

    NetnsNode(String id, String netns, Path dir, List<String> extra) {
        this.id = id;
        this.netns = netns;
        this.dir = dir;
        this.args = new ArrayList<>(List.of("up", "--data", dir.toString(), "--device", "file:" + dir.resolve("dev0.img") + "?size=1g",
                "--queues", "1", "--shards", "2", "--node-id", id));
        this.args.addAll(extra);
    }

    /** Starts the node in its namespace and waits up to 90 s for its endpoint lines. */
    NetnsNode start() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        cmd.addAll(ChildJvm.command(List.of("-Ddsf.native.dir=" + System.getProperty("dsf.native.dir", "native/target")),
                Main.class, args.toArray(String[]::new)));
        err = dir.resolve("up-" + System.nanoTime() + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        process = p;
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) lines.add(l);
            } catch (Exception ignored) {
                // the child went away: <eof> follows
            }
            lines.add("<eof>");
        }, "up-stdout " + id);
        reader.setDaemon(true);
        reader.start();
        endpoints.clear();
        while (!endpoints.containsKey("admin -")) {
            String l = lines.poll(90, TimeUnit.SECONDS);
            if (l == null || l.equals("<eof>")) {
                p.destroyForcibly();
                fail("node " + id + " in " + netns + " printed no admin endpoint (" + l + "); stderr:\n" + Files.readString(err));
            }
            String[] f = l.split(" ");
            assertEquals(4, f.length, "endpoint line: " + l);
            assertEquals("endpoint", f[0], l);
            endpoints.put(f[1] + " " + f[2], Path.of(f[3]));
        }
        return this;
    }

    /** Runs {@code dsf ARGS --node ADMIN} in this JVM; stdout in {@link #out}, stderr in {@link #errText}. */
    int dsf(String... a) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        String[] all = Arrays.copyOf(a, a.length + 2);
        all[a.length] = "--node";
        all[a.length + 1] = endpoints.get("admin -").toString();
        int rc = Main.execute(all, new PrintWriter(o, true), new PrintWriter(e, true));
        out = o.toString();
        errText = e.toString();
        return rc;
    }

    /** {@code dsf ARGS --json} parsed (the last line of stdout); fails the test on a non-zero exit. */
    Object json(String... a) {
        String[] all = Arrays.copyOf(a, a.length + 1);
        all[a.length] = "--json";
        assertEquals(0, dsf(all), "dsf " + String.join(" ", all) + " on " + id + ": " + errText);
        String[] ls = out.strip().split("\n");
        return Json.parse(ls[ls.length - 1]);
    }

    String stderr() {
        try {
            return err == null ? "" : Files.readString(err);
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }

    /** Kills the node (SIGKILL) and waits for it to be gone. */
    @Override
    public void close() {
        if (process == null) return;
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
