package io.dsf.bindings.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the test classpath in a fresh JVM (the SPDK environment can be initialised
 * once per process; crash tests kill their children). Lines {@code CHECK key=value} on the child's
 * stdout become a map. Shared by the modules' tests through dsf-bindings' test-jar; stateless.
 */
public final class ChildJvm {
    public record Result(int exit, String stdout, String stderr, Map<String, String> checks) {
        public String check(String key) {
            String v = checks.get(key);
            if (v == null) throw new AssertionError("child printed no CHECK " + key + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr);
            return v;
        }

        @Override
        public String toString() { return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr; }
    }

    private ChildJvm() {}

    /**
     * The command line that runs {@code main} on this test classpath in a JVM like the one the
     * tests run in (native access, the Agrona export), with {@code jvmArgs} added.
     */
    public static List<String> command(List<String> jvmArgs, Class<?> main, String... args) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", cp, main.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs {@code main} to its end (60 s at most); a {@code null} value in {@code env} removes that variable. */
    public static Result run(Path workDir, Map<String, String> env, List<String> jvmArgs, Class<?> main, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = command(jvmArgs, main, args);
        Path out = Files.createTempFile(workDir, "child", ".out");
        Path err = Files.createTempFile(workDir, "child", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        env.forEach((k, v) -> {
            if (v == null) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish in 60 s: " + cmd + "\n" + Files.readString(err));
        }
        String stdout = Files.readString(out);
        Map<String, String> checks = new HashMap<>();
        for (String line : stdout.split("\n")) {
            if (!line.startsWith("CHECK ")) continue;
            int eq = line.indexOf('=');
            checks.put(line.substring(6, eq), line.substring(eq + 1));
        }
        return new Result(p.exitValue(), stdout, Files.readString(err), checks);
    }
}
