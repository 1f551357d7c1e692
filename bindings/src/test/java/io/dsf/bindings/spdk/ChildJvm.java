package io.dsf.bindings.spdk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the test classpath in a fresh JVM, because the SPDK environment can be
 * initialised once per process. Lines {@code CHECK key=value} on the child's stdout become a map.
 */
final class ChildJvm {
    record Result(int exit, String stdout, String stderr, Map<String, String> checks) {
        String check(String key) {
            String v = checks.get(key);
            if (v == null) throw new AssertionError("child printed no CHECK " + key + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr);
            return v;
        }

        @Override
        public String toString() { return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr; }
    }

    private ChildJvm() {}

    static Result run(Path workDir, Map<String, String> env, Class<?> main, String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-cp", cp, main.getName()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(workDir, "child", ".out");
        Path err = Files.createTempFile(workDir, "child", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
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
