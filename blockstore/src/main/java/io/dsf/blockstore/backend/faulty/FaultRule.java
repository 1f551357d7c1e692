package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.spi.IoError;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One armed fault: which operation it selects, what it does (fail with an {@link IoError}, or
 * corrupt data), and which of the matching requests it hits. The {@code faulty:MODE} URI modes
 * and {@link FaultInjector} build the same rules.
 *
 * <p>Selection, all conditions combined (AND), counted over the requests of this rule's
 * operation that overlap its range (the <em>candidates</em>), numbered 1, 2, ...:
 * <ul>
 *   <li>{@link #inRange(long, long)}: only requests overlapping that byte range are candidates
 *       (default: all);</li>
 *   <li>{@link #after(long)}: candidates 1..N are spared, all later ones may be hit (default 0);</li>
 *   <li>{@link #every(long)}: only every N-th candidate (N, 2N, ...) may be hit (default 1);</li>
 *   <li>{@link #probability(double, long)}: each remaining candidate is hit with probability P,
 *       reproducibly from the seed and its candidate number (default 1);</li>
 *   <li>{@link #limit(long)}: at most N hits in total (default unlimited).</li>
 * </ul>
 * A corrupting rule flips one bit in each device block of the request that lies in its range:
 * for reads in the data returned (the device keeps the right data), for writes in the data stored
 * (the caller's buffer is restored when the write completes).
 *
 * <p>Configuration is immutable (the {@code with} methods return a new rule); the counters are
 * atomic. Thread safe.
 */
public final class FaultRule {
    private final IoOp op;
    private final IoError error; // null: corrupt
    private final long every;
    private final long after;
    private final long limit;
    private final double prob;
    private final long seed;
    private final long start; // -1: any offset
    private final long end;   // exclusive
    private final AtomicLong candidates = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();

    private FaultRule(IoOp op, IoError error, long every, long after, long limit, double prob, long seed, long start, long end) {
        this.op = op;
        this.error = error;
        this.every = every;
        this.after = after;
        this.limit = limit;
        this.prob = prob;
        this.seed = seed;
        this.start = start;
        this.end = end;
    }

    /** A rule failing every {@code op} with {@code error} (narrow it with the {@code with} methods). */
    public static FaultRule fail(IoOp op, IoError error) {
        if (op == null || error == null) throw new IllegalArgumentException("fail rule needs an operation and an error");
        return new FaultRule(op, error, 1, 0, Long.MAX_VALUE, 1.0, 0, -1, -1);
    }

    /** A rule flipping bits in the data of every {@code op} ({@link IoOp#READ} or {@link IoOp#WRITE}). */
    public static FaultRule corrupt(IoOp op) {
        if (op != IoOp.READ && op != IoOp.WRITE) throw new IllegalArgumentException("only reads and writes can be corrupted, not " + op);
        return new FaultRule(op, null, 1, 0, Long.MAX_VALUE, 1.0, 0, -1, -1);
    }

    /** Hits only every {@code n}-th candidate. */
    public FaultRule every(long n) {
        if (n < 1) throw new IllegalArgumentException("every must be >= 1: " + n);
        return new FaultRule(op, error, n, after, limit, prob, seed, start, end);
    }

    /** Spares the first {@code n} candidates. */
    public FaultRule after(long n) {
        if (n < 0) throw new IllegalArgumentException("after must be >= 0: " + n);
        return new FaultRule(op, error, every, n, limit, prob, seed, start, end);
    }

    /** Hits at most {@code n} times. */
    public FaultRule limit(long n) {
        if (n < 1) throw new IllegalArgumentException("count must be >= 1: " + n);
        return new FaultRule(op, error, every, after, n, prob, seed, start, end);
    }

    /** Hits each candidate with probability {@code p} in (0, 1], reproducibly from {@code seed}. */
    public FaultRule probability(double p, long seed) {
        if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("prob must be in (0, 1]: " + p);
        return new FaultRule(op, error, every, after, limit, p, seed, start, end);
    }

    /** Only requests overlapping bytes {@code [offset, offset + length)} are candidates. */
    public FaultRule inRange(long offset, long length) {
        if (op == IoOp.FLUSH) throw new IllegalArgumentException("a flush has no byte range: offset= does not apply");
        if (offset < 0 || length <= 0 || offset > Long.MAX_VALUE - length)
            throw new IllegalArgumentException("bad byte range: offset " + offset + " length " + length);
        return new FaultRule(op, error, every, after, limit, prob, seed, offset, offset + length);
    }

    public IoOp op() { return op; }

    /** The error this rule completes requests with, or {@code null} for a corrupting rule. */
    public IoError error() { return error; }

    public boolean corrupts() { return error == null; }

    /** Start of the byte range, or -1 when the rule applies anywhere. */
    public long rangeStart() { return start; }

    /** End (exclusive) of the byte range, or -1 when the rule applies anywhere. */
    public long rangeEnd() { return end; }

    /** Requests this rule has seen as candidates. */
    public long candidates() { return candidates.get(); }

    /** Requests this rule has hit. */
    public long hits() { return hits.get(); }

    /** Whether the limit is used up: the rule will not hit again. */
    public boolean exhausted() { return hits.get() >= limit; }

    /**
     * Decides whether this rule hits a request; counts it as a candidate when it matches.
     * Hot path: allocation free.
     */
    boolean hits(IoOp o, long offset, long length) {
        if (o != op) return false;
        if (start >= 0 && (offset >= end || offset + length <= start)) return false;
        if (hits.get() >= limit) return false;
        long n = candidates.incrementAndGet();
        if (n <= after) return false;
        if (every > 1 && n % every != 0) return false;
        if (prob < 1.0 && FaultRandom.unit(seed, n, 0) >= prob) return false;
        long h;
        do {
            h = hits.get();
            if (h >= limit) return false;
        } while (!hits.compareAndSet(h, h + 1));
        return true;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(error == null ? "corrupt-" + op.name().toLowerCase() : error.name() + " on " + op.name().toLowerCase());
        if (start >= 0) b.append(" offset=").append(start).append('-').append(end);
        if (after > 0) b.append(" after=").append(after);
        if (every > 1) b.append(" every=").append(every);
        if (prob < 1) b.append(" prob=").append(prob).append(" seed=").append(seed);
        if (limit != Long.MAX_VALUE) b.append(" count=").append(limit);
        return b.append(" (hits ").append(hits.get()).append(')').toString();
    }
}
