package io.dsf.node.qemu;

import io.dsf.bindings.testing.ChildJvm;
import io.dsf.node.Main;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code dsf up} in a child JVM, as a user runs it: started with a data directory and a 1 GiB
 * {@code file:} device, ready once it printed its {@code endpoint admin} line; admin commands run
 * through the real command line against its admin socket. Control path of tests; not thread safe.
 */
public final class NodeProcess implements AutoCloseable {
    public final Process process;
    /** Endpoint sockets by "KIND NAME" ("vhost-user-blk d1", "admin -"). */
    public final Map<String, Path> endpoints;
    public final Path err;
    public String out = "", errText = "";

    private NodeProcess(Process process, Map<String, Path> endpoints, Path err) {
        this.process = process;
        this.endpoints = endpoints;
        this.err = err;
    }

    /** Starts {@code dsf up --data DIR --device file:DIR/dev0.img?size=1g --queues 2 --shards 2 EXTRA...} and waits for its endpoints. */
    static NodeProcess start(Path dir, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("up", "--data", dir.toString(), "--device", "file:" + dir.resolve("dev0.img") + "?size=1g",
                "--queues", "2", "--shards", "2"));
        args.addAll(List.of(extra));
        return launch(dir, args, "dsf up");
    }

    /**
     * Starts {@code dsf ARGS} (an {@code up} command line) in a child JVM, its stderr in a file under
     * {@code dir}, and waits up to 90 s for its endpoint lines; {@code label} names it in failures.
     */
    public static NodeProcess launch(Path dir, List<String> args, String label) throws Exception {
        return launch(dir, List.of(), args, label);
    }

    /** As {@link #launch(Path, List, String)}, the JVM's command line run behind {@code prefix} (e.g. {@code ip netns exec NS}). */
    public static NodeProcess launch(Path dir, List<String> prefix, List<String> args, String label) throws Exception {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(ChildJvm.command(List.of("-Ddsf.native.dir=" + System.getProperty("dsf.native.dir", "native/target")),
                Main.class, args.toArray(String[]::new)));
        Path err = dir.resolve("up-" + System.nanoTime() + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) lines.add(l);
            } catch (Exception ignored) {
                // the child went away: <eof> follows
            }
            lines.add("<eof>");
        }, "up-stdout " + label);
        reader.setDaemon(true);
        reader.start();
        Map<String, Path> eps = new LinkedHashMap<>();
        while (!eps.containsKey("admin -")) {
            String l = lines.poll(90, TimeUnit.SECONDS);
            if (l == null || l.equals("<eof>")) {
                p.destroyForcibly();
                fail(label + " printed no admin endpoint (" + l + "); stderr:\n" + Files.readString(err));
            }
            String[] f = l.split(" ");
            assertEquals(4, f.length, "endpoint line: " + l);
            assertEquals("endpoint", f[0], l);
            eps.put(f[1] + " " + f[2], Path.of(f[3]));
        }
        return new NodeProcess(p, eps, err);
    }

    public Path admin() { return endpoints.get("admin -"); }

    /** Runs {@code dsf ARGS --node ADMIN} in this JVM; its stdout in {@link #out}, stderr in {@link #errText}. */
    public int dsf(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        String[] all = java.util.Arrays.copyOf(args, args.length + 2);
        all[args.length] = "--node";
        all[args.length + 1] = admin().toString();
        int rc = Main.execute(all, new PrintWriter(o, true), new PrintWriter(e, true));
        out = o.toString();
        errText = e.toString();
        return rc;
    }

    /** Kills the node with SIGKILL (no shutdown hook runs) and waits until it is gone. */
    public void kill9() throws Exception {
        process.destroyForcibly(); // SIGKILL on Linux
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the node died");
        assertEquals(137, process.exitValue(), "killed by SIGKILL");
    }

    /** SIGTERM; returns the exit status. */
    public int stop() throws Exception {
        process.destroy();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "dsf up stops on SIGTERM");
        return process.exitValue();
    }

    public String stderr() throws Exception { return Files.readString(err); }

    @Override
    public void close() {
        if (process.isAlive()) process.destroyForcibly();
    }
}
