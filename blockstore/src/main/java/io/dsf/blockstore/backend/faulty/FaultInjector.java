package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.spi.IoError;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Arms faults on one {@link FaultyBlockDevice} at run time and counts what was injected. The
 * device's {@code MODE} from its URI is simply the first rule armed here, so URI modes and this
 * API share one mechanism. Rules are evaluated in the order they were armed; the first that hits
 * decides the request (later rules do not count it). Queues see a newly armed rule on their next
 * submission. Thread safe.
 */
public final class FaultInjector {
    private static final FaultRule[] NONE = new FaultRule[0];
    private final FaultyBlockDevice device;
    private final Object armLock = new Object();
    private volatile FaultRule[] rules = NONE; // copy on write under armLock
    private volatile boolean crashed;
    final AtomicLong injectedErrors = new AtomicLong();
    final AtomicLong corruptedReads = new AtomicLong();
    final AtomicLong corruptedWrites = new AtomicLong();
    final AtomicLong leakedWrites = new AtomicLong();
    final AtomicLong tornWrites = new AtomicLong();
    final AtomicLong overflowWrites = new AtomicLong();

    FaultInjector(FaultyBlockDevice device) {
        this.device = device;
    }

    /** Arms {@code rule}; returns it so the caller can watch its {@link FaultRule#hits()}. */
    public FaultRule arm(FaultRule rule) {
        if (rule == null) throw new IllegalArgumentException("rule required");
        synchronized (armLock) {
            FaultRule[] old = rules;
            FaultRule[] n = java.util.Arrays.copyOf(old, old.length + 1);
            n[old.length] = rule;
            rules = n;
        }
        return rule;
    }

    /** Fails the next {@code count} requests of {@code op} with {@code error} (nothing written for a failed write). */
    public FaultRule failNext(IoOp op, IoError error, int count) {
        return arm(FaultRule.fail(op, error).limit(count));
    }

    /** Flips bits in the data returned by every read overlapping {@code [offset, offset + length)}; the device content stays intact. */
    public FaultRule corruptReadsIn(long offset, long length) {
        return arm(FaultRule.corrupt(IoOp.READ).inRange(offset, length));
    }

    /** Stores flipped bits for every write overlapping {@code [offset, offset + length)}. */
    public FaultRule corruptWritesIn(long offset, long length) {
        return arm(FaultRule.corrupt(IoOp.WRITE).inRange(offset, length));
    }

    /** Removes {@code rule}; returns whether it was armed. */
    public boolean disarm(FaultRule rule) {
        synchronized (armLock) {
            FaultRule[] old = rules;
            for (int i = 0; i < old.length; i++) {
                if (old[i] == rule) {
                    FaultRule[] n = new FaultRule[old.length - 1];
                    System.arraycopy(old, 0, n, 0, i);
                    System.arraycopy(old, i + 1, n, i, old.length - i - 1);
                    rules = n;
                    return true;
                }
            }
            return false;
        }
    }

    /** Removes every rule, including the one from the URI's {@code MODE}. */
    public void disarmAll() {
        synchronized (armLock) {
            rules = NONE;
        }
    }

    /** The armed rules, in evaluation order. */
    public java.util.List<FaultRule> rules() { return java.util.List.of(rules); }

    /**
     * The first rule hitting this request, or {@code null}. Hot path: allocation free; a rule
     * counts the request as a candidate only if every earlier rule let it pass.
     */
    FaultRule match(IoOp op, long offset, long length) {
        FaultRule[] rs = rules;
        for (int i = 0; i < rs.length; i++) if (rs[i].hits(op, offset, length)) return rs[i];
        return null;
    }

    /**
     * Simulates a power cut now: unflushed writes held by a {@code powerloss} device are dropped
     * (only what already leaked early stays on the inner device) and every later request, and every
     * request not yet delivered, completes with {@link IoError#DEVICE_LOST}. Reopening the inner
     * device shows the post-crash state. Idempotent. Control path; blocks while a flush on another
     * thread finishes.
     */
    public void crash() { crash(0.0); }

    /**
     * As {@link #crash()}, but first each run of unflushed sectors within one overlay page reaches
     * the inner device with probability {@code leakProbability}, whole or as a prefix, as a drive
     * destaging part of its cache when the power goes (seeded by the device's {@code seed=}).
     */
    public void crash(double leakProbability) {
        if (!(leakProbability >= 0 && leakProbability <= 1))
            throw new IllegalArgumentException("leak probability must be in [0, 1]: " + leakProbability);
        PowerLossCache cache = device.cache();
        if (cache == null) {
            crashed = true;
            return;
        }
        cache.crash(this, leakProbability);
    }

    /** Marks the device crashed; the power-loss cache calls this under its lock. */
    void markCrashed() { crashed = true; }

    /** Whether {@link #crash()} happened: every request now fails with {@link IoError#DEVICE_LOST}. */
    public boolean crashed() { return crashed; }

    /** Requests completed with an injected error. */
    public long injectedErrors() { return injectedErrors.get(); }

    /** Reads whose returned data was corrupted. */
    public long corruptedReads() { return corruptedReads.get(); }

    /** Writes stored with corrupted data. */
    public long corruptedWrites() { return corruptedWrites.get(); }

    /** {@code powerloss}: unflushed writes that also reached the inner device early (whole or torn). */
    public long leakedWrites() { return leakedWrites.get(); }

    /** {@code powerloss}: the subset of {@link #leakedWrites()} that reached it only as a prefix. */
    public long tornWrites() { return tornWrites.get(); }

    /** {@code powerloss}: writes sent straight to the inner device because the overlay was at {@code max=}. */
    public long overflowWrites() { return overflowWrites.get(); }

    /** {@code powerloss}: bytes written and not yet covered by a completed flush (0 for other modes). */
    public long unflushedBytes() {
        PowerLossCache cache = device.cache();
        return cache == null ? 0 : cache.unflushedBytes();
    }

    @Override
    public String toString() {
        return "FaultInjector[" + device.uri() + (crashed ? ", crashed" : "") + ", rules=" + java.util.Arrays.toString(rules)
                + ", errors=" + injectedErrors + ", corruptReads=" + corruptedReads + ", corruptWrites=" + corruptedWrites
                + ", leaked=" + leakedWrites + ", torn=" + tornWrites + ", overflow=" + overflowWrites + "]";
    }
}
