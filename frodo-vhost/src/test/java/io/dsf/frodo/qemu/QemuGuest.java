package io.dsf.frodo.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU (TCG) run of the {@link TestGuest} with a per-run workload and vhost-user devices:
 * console on ttyS0 into {@code console.log}, the workload's output on ttyS1 into
 * {@code results.log}. Control path of tests; not thread safe.
 */
final class QemuGuest implements AutoCloseable {
    private final Path dir;
    private final Process process;

    private QemuGuest(Path dir, Process process) {
        this.dir = dir;
        this.process = process;
    }

    /**
     * Boots the guest with 2 vCPUs and 256 MiB of shared (memfd) memory.
     *
     * @param devices extra QEMU arguments ({@code -chardev ... -device ...})
     */
    static QemuGuest boot(TestGuest guest, Path dir, byte[] workload, int cpus, List<String> devices) throws IOException {
        Path initrd = dir.resolve("initrd.gz");
        byte[] base = Files.readAllBytes(guest.initrd);
        byte[] all = new byte[base.length + workload.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(workload, 0, all, base.length, workload.length);
        Files.write(initrd, all);
        List<String> cmd = new ArrayList<>(List.of(
                "qemu-system-x86_64", "-machine", "pc,accel=tcg", "-smp", Integer.toString(cpus), "-m", "256",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-numa", "node,memdev=mem",
                "-kernel", guest.vmlinux.toString(), "-initrd", initrd.toString(),
                "-append", "console=ttyS0 quiet panic=-1 oops=panic mitigations=off no_timer_check cryptomgr.notests",
                "-serial", "file:" + dir.resolve("console.log"), "-serial", "file:" + dir.resolve("results.log")));
        cmd.addAll(devices);
        Process p = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        return new QemuGuest(dir, p);
    }

    /** Waits for the guest to power off; false on timeout (QEMU keeps running). */
    boolean waitExit(long timeoutSeconds) throws InterruptedException {
        return process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
    }

    /** Waits for the guest to power off; false on timeout (QEMU is then killed). */
    boolean awaitExit(long timeoutSeconds) throws InterruptedException {
        if (process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) return true;
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        return false;
    }

    int exitValue() { return process.exitValue(); }

    /** The workload's output between the markers (null when the end marker never came). */
    String results() throws IOException {
        String all = read("results.log");
        int b = all.indexOf(TestGuest.BEGIN), e = all.indexOf(TestGuest.END);
        if (b < 0 || e < b) return null;
        return all.substring(b + TestGuest.BEGIN.length(), e).trim();
    }

    /** What QEMU itself printed (stdout and stderr). */
    String qemuLog() throws IOException {
        return read("qemu.log").strip();
    }

    /** What the run printed, for failure messages. */
    String diagnostics() throws IOException {
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
