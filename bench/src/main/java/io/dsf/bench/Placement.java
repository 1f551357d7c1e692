package io.dsf.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Describes where the client (job) threads may run: the process's {@code Cpus_allowed_list}
 * from {@code /proc/self/status}, compared with the online CPUs to tell whether the caller
 * pinned it (taskset, a cpuset). Thread safe (stateless).
 */
public final class Placement {
    private Placement() {}

    /** E.g. {@code "client cpus 0-1 (unpinned), 1 job thread; client=server thread"}. */
    public static String describe(int jobs, String serverPlacement) {
        String allowed = cpusAllowed();
        String online = read(Path.of("/sys/devices/system/cpu/online"));
        String pin;
        if (allowed == null) pin = "cpus unknown";
        else if (online != null && online.equals(allowed)) pin = "cpus " + allowed + " (unpinned)";
        else pin = "cpus " + allowed + " (pinned by caller: taskset/cpuset" + (online != null ? ", online " + online : "") + ")";
        return "client " + pin + ", " + jobs + " job thread" + (jobs == 1 ? "" : "s") + " unpinned within; " + serverPlacement;
    }

    /** The {@code Cpus_allowed_list} of this process, or null when unknown. */
    public static String cpusAllowed() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).trim();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
