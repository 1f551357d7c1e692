package io.dsf.bench;

import io.dsf.blockstore.io.Sizes;

import java.util.Locale;

/**
 * The outcome of one run. Latencies are submit-to-completion per I/O in microseconds, from a
 * closed loop at fixed depth (see {@link BenchJob}). Immutable.
 *
 * @param ios      I/Os completed inside the measured window (after the ramp)
 * @param reads    of which reads
 * @param writes   of which writes
 * @param errors   I/O errors and verify mismatches over the whole run (ramp and drain included)
 * @param runtimeS length of the measured window in seconds
 * @param regionBytes bytes of the device the run used
 * @param prefilled whether the region was filled before the run
 */
public record BenchResult(BenchConfig config, String target, long ios, long reads, long writes, long errors, double runtimeS,
                          double latMeanUs, double latP50Us, double latP99Us, double latP999Us, double latMaxUs,
                          long regionBytes, boolean prefilled, String placement) {

    /** I/Os per second over the measured window. */
    public double iops() { return runtimeS > 0 ? ios / runtimeS : 0; }

    /** Throughput in MB/s (10^6 bytes per second). */
    public double mbps() { return runtimeS > 0 ? ios * (double) config.blockSize() / runtimeS / 1e6 : 0; }

    /** One JSON object on one line: the machine-readable contract of {@code dsf bench --json}. */
    public String toJson() {
        return new Json()
                .number("iops", round1(iops()))
                .number("mbps", round3(mbps()))
                .number("lat_p50_us", round3(latP50Us))
                .number("lat_p99_us", round3(latP99Us))
                .number("lat_p999_us", round3(latP999Us))
                .number("lat_mean_us", round3(latMeanUs))
                .number("lat_max_us", round3(latMaxUs))
                .number("errors", errors)
                .number("ios", ios)
                .number("reads", reads)
                .number("writes", writes)
                .number("runtime_s", round3(runtimeS))
                .string("placement", placement)
                .string("idle", config.idle().label())
                .string("target", target)
                .string("rw", config.rw().label())
                .number("bs", config.blockSize())
                .number("iodepth", config.iodepth())
                .number("jobs", config.jobs())
                .number("rwmixread", config.readPercent())
                .number("region_bytes", regionBytes)
                .bool("verify", config.verify())
                .bool("flush_each_write", config.flushEachWrite())
                .bool("prefilled", prefilled)
                .toString();
    }

    /** Human summary, several lines, no trailing newline. */
    public String summary() {
        BenchConfig c = config;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "dsf bench: %s rw=%s bs=%s iodepth=%d jobs=%d idle=%s%s%n",
                target, c.rw().label(), Sizes.format(c.blockSize()), c.iodepth(), c.jobs(), c.idle().label(),
                (c.verify() ? " verify" : "") + (c.flushEachWrite() ? " flush-each-write" : "")));
        sb.append(String.format(Locale.ROOT, "  region %s%s, ramp %.1f s, measured %.2f s%s%n", Sizes.format(regionBytes),
                prefilled ? " (prefilled)" : "", c.rampNanos() / 1e9, runtimeS,
                c.rw() == RwMode.RANDRW ? ", rwmixread " + c.readPercent() + "%" : ""));
        sb.append(String.format(Locale.ROOT, "  ios %d (reads %d, writes %d): %.0f IOPS, %.2f MB/s, errors %d%n",
                ios, reads, writes, iops(), mbps(), errors));
        sb.append(String.format(Locale.ROOT, "  latency us: mean %.3f  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f%n",
                latMeanUs, latP50Us, latP99Us, latP999Us, latMaxUs));
        sb.append("  placement: ").append(placement).append(System.lineSeparator());
        sb.append("  note: closed loop at fixed iodepth; latency is submit-to-completion per I/O (no coordinated-omission correction:"
                + " queueing a fixed-rate load would add is not included)");
        return sb.toString();
    }

    private static double round1(double v) { return Math.round(v * 10) / 10.0; }

    private static double round3(double v) { return Math.round(v * 1000) / 1000.0; }
}
