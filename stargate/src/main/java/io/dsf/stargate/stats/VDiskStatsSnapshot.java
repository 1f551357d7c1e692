package io.dsf.stargate.stats;

import java.util.Locale;

/**
 * The statistics of one vDisk at one instant: the interval since the previous snapshot and the
 * totals since the stats were created, plus the OpLog gauges. Immutable.
 *
 * <p>Units: IOPS per second, MB/s in 10^6 bytes per second, latencies in microseconds (kept by
 * HdrHistogram to its configured precision, 1% by default), cache counts per 4 KiB block.
 *
 * @param name            the vDisk
 * @param timestampMillis wall-clock time of the snapshot (epoch milliseconds)
 * @param oplogBytes      bytes held in the vDisk's OpLog now
 * @param oplogCapacity   bytes the vDisk's OpLog may hold now (0 if it has none)
 * @param interval        since the previous snapshot
 * @param total           since the stats were created
 */
public record VDiskStatsSnapshot(String name, long timestampMillis, long oplogBytes, long oplogCapacity,
                                 Period interval, Period total) {

    /**
     * One kind of request over a period. Immutable.
     *
     * @param ops    requests completed
     * @param bytes  bytes they moved (covered, for unmap)
     * @param iops   ops per second
     * @param mbps   10^6 bytes per second
     * @param p50Us  median latency
     * @param p99Us  99th percentile latency
     * @param p999Us 99.9th percentile latency
     * @param maxUs  largest latency
     */
    public record OpStats(long ops, long bytes, double iops, double mbps, double p50Us, double p99Us, double p999Us,
                          double maxUs) {}

    /**
     * A period's figures. Immutable.
     *
     * @param seconds     its length
     * @param read        reads
     * @param write       writes
     * @param flush       flushes
     * @param unmap       unmaps and write-zeroes
     * @param errors      requests that failed
     * @param cacheHits   Unified Cache hits (4 KiB blocks)
     * @param cacheMisses Unified Cache misses (4 KiB blocks)
     */
    public record Period(double seconds, OpStats read, OpStats write, OpStats flush, OpStats unmap, long errors,
                         long cacheHits, long cacheMisses) {
        /** Hits over lookups, 0 when there were none. */
        public double cacheHitRate() {
            long n = cacheHits + cacheMisses;
            return n == 0 ? 0.0 : (double) cacheHits / n;
        }
    }

    /** OpLog bytes held as a percentage of what it may hold now (0 without an OpLog). */
    public double oplogFillPercent() {
        return oplogCapacity <= 0 ? 0.0 : 100.0 * oplogBytes / oplogCapacity;
    }

    public double intervalSeconds() { return interval.seconds(); }

    public double readIops() { return interval.read().iops(); }

    public double writeIops() { return interval.write().iops(); }

    public double readMbps() { return interval.read().mbps(); }

    public double writeMbps() { return interval.write().mbps(); }

    /** Interval cache hit rate, 0..1. */
    public double cacheHitRate() { return interval.cacheHitRate(); }

    /** Interval errors. */
    public long errors() { return interval.errors(); }

    // ------------------------------------------------------------------------------------ JSON

    /**
     * One line of JSON, an object of numbers plus the string {@code name}. Interval figures have
     * plain keys ({@code read_iops}, {@code read_lat_p99_us}, {@code cache_hit_rate} ...), totals
     * the same keys prefixed {@code total_}; rates are fractions (0..1), fills percentages.
     */
    public String toJson() {
        StringBuilder b = new StringBuilder(1536).append('{');
        b.append("\"name\":");
        quote(b, name);
        num(b, "timestamp_ms", timestampMillis);
        num(b, "oplog_bytes", oplogBytes);
        num(b, "oplog_capacity", oplogCapacity);
        num(b, "oplog_fill_pct", oplogFillPercent());
        period(b, "", interval);
        period(b, "total_", total);
        return b.append('}').toString();
    }

    private static void period(StringBuilder b, String prefix, Period p) {
        num(b, prefix + "interval_s", p.seconds());
        op(b, prefix + "read_", p.read());
        op(b, prefix + "write_", p.write());
        op(b, prefix + "flush_", p.flush());
        op(b, prefix + "unmap_", p.unmap());
        num(b, prefix + "errors", p.errors());
        num(b, prefix + "cache_hits", p.cacheHits());
        num(b, prefix + "cache_misses", p.cacheMisses());
        num(b, prefix + "cache_hit_rate", p.cacheHitRate());
    }

    private static void op(StringBuilder b, String prefix, OpStats o) {
        num(b, prefix + "ops", o.ops());
        num(b, prefix + "bytes", o.bytes());
        num(b, prefix + "iops", o.iops());
        num(b, prefix + "mbps", o.mbps());
        num(b, prefix + "lat_p50_us", o.p50Us());
        num(b, prefix + "lat_p99_us", o.p99Us());
        num(b, prefix + "lat_p999_us", o.p999Us());
        num(b, prefix + "lat_max_us", o.maxUs());
    }

    private static void num(StringBuilder b, String key, long v) {
        b.append(",\"").append(key).append("\":").append(v);
    }

    private static void num(StringBuilder b, String key, double v) {
        b.append(",\"").append(key).append("\":");
        if (!Double.isFinite(v)) b.append('0');
        else if (v == Math.rint(v) && Math.abs(v) < 1e15) b.append((long) v);
        else b.append(String.format(Locale.ROOT, "%.3f", v));
    }

    /** Appends {@code s} as a JSON string (quotes, escapes; U+2028/2029 escaped too). Shared with the node's admin JSON. */
    public static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }

    // ----------------------------------------------------------------------------------- human

    /**
     * One human line of the interval, e.g.
     * {@code vd0 1.0s  read 12.3k IOPS 50.3 MB/s p50/p99/p999 12.1/40.2/95.0 us | write ... |
     * flush 3 IOPS p99 120 us | oplog 12.0 MiB/64.0 MiB 18.8% | cache hit 93.1% | errors 0};
     * kinds with no requests in the interval are left out.
     */
    public String format() {
        StringBuilder b = new StringBuilder(256);
        b.append(name).append(' ').append(String.format(Locale.ROOT, "%.1fs", interval.seconds()));
        String sep = "  ";
        for (int k = 0; k < 4; k++) {
            OpStats o = switch (k) { case 0 -> interval.read(); case 1 -> interval.write(); case 2 -> interval.flush(); default -> interval.unmap(); };
            String kind = switch (k) { case 0 -> "read"; case 1 -> "write"; case 2 -> "flush"; default -> "unmap"; };
            if (o.ops() == 0) continue;
            b.append(sep).append(kind).append(' ').append(si(o.iops())).append(" IOPS");
            if (k != 2) b.append(' ').append(String.format(Locale.ROOT, "%.1f", o.mbps())).append(" MB/s");
            b.append(" p50/p99/p999 ").append(lat(o.p50Us())).append('/').append(lat(o.p99Us())).append('/')
                    .append(lat(o.p999Us())).append(" us");
            sep = " | ";
        }
        if (sep.equals("  ")) b.append("  idle");
        if (oplogCapacity > 0)
            b.append(" | oplog ").append(bytes(oplogBytes)).append('/').append(bytes(oplogCapacity))
                    .append(String.format(Locale.ROOT, " %.1f%%", oplogFillPercent()));
        if (interval.cacheHits() + interval.cacheMisses() > 0)
            b.append(" | cache hit ").append(String.format(Locale.ROOT, "%.1f%%", 100 * interval.cacheHitRate()));
        b.append(" | errors ").append(interval.errors());
        return b.toString();
    }

    private static String si(double v) {
        if (v >= 1e6) return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        if (v >= 1e3) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static String lat(double us) {
        return us >= 100 ? String.format(Locale.ROOT, "%.0f", us) : String.format(Locale.ROOT, "%.1f", us);
    }

    private static String bytes(long n) {
        if (n >= 1L << 30) return String.format(Locale.ROOT, "%.1f GiB", n / (double) (1L << 30));
        if (n >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1L << 20));
        if (n >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        return n + " B";
    }
}
