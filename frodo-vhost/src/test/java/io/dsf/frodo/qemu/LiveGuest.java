package io.dsf.frodo.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A QEMU (TCG) run of the {@link TestGuest} that a test follows while it runs: the workload prints
 * marker lines on ttyS1 ({@code results.log}) and the test waits for them ({@link #awaitLine}) to
 * act on the host at the right moment (kill the back-end, hot-plug a disk). Unlike
 * {@link QemuGuest}, a guest reboot ({@code reboot -f}) resets the machine and boots the same kernel
 * and initramfs again, so a workload can check its data across a reboot; {@code poweroff -f} ends
 * QEMU. Console on ttyS0 into {@code console.log}. Control path of tests; not thread safe.
 */
public final class LiveGuest implements AutoCloseable {
    private final Path dir;
    private final Process process;

    private LiveGuest(Path dir, Process process) {
        this.dir = dir;
        this.process = process;
    }

    /**
     * Boots {@code guest} with {@code cpus} vCPUs and 256 MiB of shared (memfd) memory, the workload
     * {@code script} ({@code /work.sh}) plus {@code files} appended to its initramfs.
     *
     * @param devices QEMU arguments for the disks ({@code -chardev ... -device ...})
     */
    public static LiveGuest boot(TestGuest guest, Path dir, String script, Map<String, byte[]> files, int cpus, List<String> devices)
            throws IOException {
        Files.createDirectories(dir);
        Path initrd = dir.resolve("initrd.gz");
        byte[] base = Files.readAllBytes(guest.initrd);
        byte[] work = TestGuest.workload(script, files);
        byte[] all = new byte[base.length + work.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(work, 0, all, base.length, work.length);
        Files.write(initrd, all);
        List<String> cmd = new ArrayList<>(List.of(
                "qemu-system-x86_64", "-machine", "pc,accel=tcg", "-smp", Integer.toString(cpus), "-m", "256",
                "-nodefaults", "-no-user-config", "-display", "none",
                "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-numa", "node,memdev=mem",
                "-kernel", guest.vmlinux.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 quiet panic=-1 oops=panic mitigations=off no_timer_check cryptomgr.notests",
                "-serial", "file:" + dir.resolve("console.log"), "-serial", "file:" + dir.resolve("results.log")));
        cmd.addAll(devices);
        Process p = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        return new LiveGuest(dir, p);
    }

    /**
     * Waits until the workload printed a line starting with {@code prefix} (checking its output file
     * every 50 ms), QEMU ended, or the deadline passed.
     *
     * @return the line, or null when QEMU ended or the deadline passed without it
     */
    public String awaitLine(String prefix, long timeoutSeconds) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
            for (String l : read("results.log").split("\n")) if (l.startsWith(prefix)) return l.trim();
            if (!process.isAlive() || System.nanoTime() > deadline) {
                for (String l : read("results.log").split("\n")) if (l.startsWith(prefix)) return l.trim();
                return null;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    /** Waits for the guest to power off; false on timeout (QEMU is then killed). */
    public boolean awaitExit(long timeoutSeconds) throws InterruptedException {
        if (process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) return true;
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        return false;
    }

    public boolean alive() { return process.isAlive(); }

    /** The workload's output from the first begin marker to the last end marker (null when no end marker came). */
    public String results() throws IOException {
        String all = read("results.log");
        int b = all.indexOf(TestGuest.BEGIN), e = all.lastIndexOf(TestGuest.END);
        if (b < 0 || e < b) return null;
        return all.substring(b + TestGuest.BEGIN.length(), e).trim();
    }

    /** {@code key value} lines of the results; repeated keys are joined with newlines. */
    public static Map<String, String> parse(String results) {
        Map<String, String> m = new HashMap<>();
        for (String line : results.split("\n")) {
            String[] w = line.trim().split("\\s+", 2);
            if (w.length == 2) m.merge(w[0], w[1], (a, b) -> a + "\n" + b);
        }
        return m;
    }

    /** What the run printed, for failure messages. */
    public String diagnostics() throws IOException {
        return "--- qemu.log\n" + tail(read("qemu.log")) + "\n--- console.log\n" + tail(read("console.log"))
                + "\n--- results.log\n" + tail(read("results.log"));
    }

    private static String tail(String s) {
        return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    }

    private String read(String name) throws IOException {
        Path p = dir.resolve(name);
        return Files.exists(p) ? new String(Files.readAllBytes(p), StandardCharsets.UTF_8) : "";
    }

    @Override
    public void close() {
        if (process.isAlive()) process.destroyForcibly();
    }
}
