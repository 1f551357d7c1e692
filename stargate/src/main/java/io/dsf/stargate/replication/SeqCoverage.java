package io.dsf.stargate.replication;

import java.util.Arrays;

/**
 * The sequence numbers of one shard a puller has accounted for: single sequences (entries it got,
 * from batches or images) and ranges (what replicas drained into their images, {@link ReplicaPuller#COVERED});
 * {@link #holes} says which sequences from a base up to the highest none of them covers. A sequence
 * may be added many times (copies on several replicas). Owned by one thread; not thread safe.
 */
final class SeqCoverage {
    private long[] points = new long[64];
    private int np;
    private long[] firsts = new long[8], lasts = new long[8];
    private int nr;

    void add(long seq) {
        if (np == points.length) points = Arrays.copyOf(points, np * 2);
        points[np++] = seq;
    }

    /** Adds {@code pairs} (first, last, ...). */
    void addRanges(long[] pairs) {
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            if (nr == firsts.length) {
                firsts = Arrays.copyOf(firsts, nr * 2);
                lasts = Arrays.copyOf(lasts, nr * 2);
            }
            firsts[nr] = pairs[i];
            lasts[nr++] = pairs[i + 1];
        }
    }

    /** The highest sequence accounted for (0: none). */
    long max() {
        long m = 0;
        for (int i = 0; i < np; i++) m = Math.max(m, points[i]);
        for (int i = 0; i < nr; i++) m = Math.max(m, lasts[i]);
        return m;
    }

    /**
     * The missing ranges (first, last, ...) from {@code from} up to {@link #max}, at most {@code limit}
     * of them; empty when everything from {@code from} is accounted for.
     */
    long[] holes(long from, int limit) {
        long[] p = Arrays.copyOf(points, np);
        Arrays.sort(p);
        Integer[] order = new Integer[nr];
        for (int i = 0; i < nr; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Long.compare(firsts[x], firsts[y]));
        long[] out = new long[2 * limit];
        int o = 0;
        long expect = from;
        int i = 0, j = 0;
        while (i < p.length || j < nr) {
            long a, b;
            if (j >= nr || i < p.length && p[i] <= firsts[order[j]]) {
                a = b = p[i++];
            } else {
                a = firsts[order[j]];
                b = lasts[order[j++]];
            }
            if (b < expect) continue;
            if (a > expect && o < out.length) {
                out[o++] = expect;
                out[o++] = a - 1;
            }
            expect = Math.max(expect, b + 1);
        }
        return Arrays.copyOf(out, o);
    }

    /** "sequence X missing" / "sequence X..Y missing" for each hole, joined by "; " with {@code prefix} before each. */
    static String describe(String prefix, long[] holes) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < holes.length; i += 2)
            b.append(b.length() == 0 ? "" : "; ").append(prefix).append("sequence ").append(holes[i])
                    .append(holes[i + 1] == holes[i] ? "" : ".." + holes[i + 1]).append(" missing");
        return b.toString();
    }
}
