package io.dsf.bench.jmh;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Compares two variants of one operation on the calling thread's CPU time, which a busy machine
 * disturbs much less than wall time (time spent descheduled does not count): each variant is warmed
 * up for 3 s of CPU and sized to take about {@code ms} of CPU per round, then both run in alternating
 * rounds (which goes first alternates too). Single-threaded; one instance per comparison.
 */
final class CpuTimeRounds {
    private CpuTimeRounds() {}

    /** The medians (min-max) per variant, in ns per request, and of the per-round ratio second/first. */
    record Result(double[][] nsPerRequest, double[] ratio) {
        String summary(int variant) { return CpuTimeRounds.summary(nsPerRequest[variant]); }
        String ratioSummary() { return CpuTimeRounds.summary(ratio); }
    }

    /**
     * @param batch             one call runs {@code requestsPerBatch} requests of variant 0 or 1
     * @param requestsPerBatch  requests per call of {@code batch}
     */
    static Result run(java.util.function.IntConsumer batch, int requestsPerBatch, int rounds, int ms) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long[] batches = new long[2];
        for (int i = 0; i < 2; i++) { // warm-up, and the batch count that takes about ms of CPU
            long t0 = mx.getCurrentThreadCpuTime(), n = 0;
            while (mx.getCurrentThreadCpuTime() - t0 < 3_000_000_000L) {
                for (int k = 0; k < 1000; k++) batch.accept(i);
                n += 1000;
            }
            batches[i] = Math.max(1000, n * ms / 3000);
        }
        double[][] ns = new double[2][rounds];
        double[] ratio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            for (int j = 0; j < 2; j++) {
                int i = (r & 1) == 0 ? j : 1 - j; // alternate which goes first
                long t0 = mx.getCurrentThreadCpuTime();
                for (long k = 0; k < batches[i]; k++) batch.accept(i);
                ns[i][r] = (double) (mx.getCurrentThreadCpuTime() - t0) / (batches[i] * requestsPerBatch);
            }
            ratio[r] = ns[1][r] / ns[0][r];
        }
        return new Result(ns, ratio);
    }

    static String summary(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return String.format("%.2f (%.2f-%.2f)", s[s.length / 2], s[0], s[s.length - 1]);
    }
}
