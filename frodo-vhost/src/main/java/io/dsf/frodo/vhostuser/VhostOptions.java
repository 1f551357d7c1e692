package io.dsf.frodo.vhostuser;

import io.dsf.frodo.virtq.IdleMode;
import io.dsf.frodo.virtq.QueueRunners;

import java.util.Locale;

/**
 * How vhost-user servers run their queues: request queues offered ({@code --queues}, default 16;
 * a worker runs only for queues the guest enables), the idle strategy of the queue threads, the
 * threading mode, and how long a stopping queue waits for its requests in flight.
 *
 * <p>{@code dedicated}: each enabled virtqueue has a thread of its own. {@code shared}: every
 * virtqueue of every server started with the same options object runs on one pool of
 * {@link #sharedThreads()} threads ({@link #sharedRunners()}), each thread cycling through its
 * queues' duty cycles; a pool thread exists only while it has queues, its wake eventfd for the life of
 * the process. Immutable apart from that pool, which is made on first use; thread safe.
 */
public final class VhostOptions {
    /** {@code dedicated}: one thread per virtqueue; {@code shared}: the virtqueues multiplexed on a few threads. */
    public enum Threading {
        DEDICATED, SHARED;

        /** Parses {@code dedicated|shared}. */
        public static Threading parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "dedicated" -> DEDICATED;
                case "shared" -> SHARED;
                default -> throw new IllegalArgumentException("threading must be dedicated or shared: " + s);
            };
        }
    }

    /** Threads of the shared pool unless set: one (the build machines have two cores). */
    public static final int DEFAULT_SHARED_THREADS = 1;

    private final int queues;
    private final IdleMode idle;
    private final Threading threading;
    private final int sharedThreads;
    private final long stopTimeoutMillis;
    private QueueRunners pool; // guarded by this

    public VhostOptions(int queues, IdleMode idle, Threading threading, int sharedThreads, long stopTimeoutMillis) {
        if (queues < 1 || queues > 64) throw new IllegalArgumentException("queues must be in 1..64: " + queues);
        if (idle == null || threading == null) throw new IllegalArgumentException("idle and threading are required");
        if (sharedThreads < 1 || sharedThreads > 256) throw new IllegalArgumentException("shared threads must be in 1..256: " + sharedThreads);
        if (stopTimeoutMillis <= 0) throw new IllegalArgumentException("stop timeout must be positive");
        this.queues = queues;
        this.idle = idle;
        this.threading = threading;
        this.sharedThreads = sharedThreads;
        this.stopTimeoutMillis = stopTimeoutMillis;
    }

    public VhostOptions(int queues, IdleMode idle, Threading threading, long stopTimeoutMillis) {
        this(queues, idle, threading, DEFAULT_SHARED_THREADS, stopTimeoutMillis);
    }

    public static VhostOptions defaults() {
        return new VhostOptions(16, IdleMode.BLOCK, Threading.DEDICATED, 30_000);
    }

    public int queues() { return queues; }

    public IdleMode idle() { return idle; }

    public Threading threading() { return threading; }

    /** Threads of the shared pool ({@code shared} threading only). */
    public int sharedThreads() { return sharedThreads; }

    public long stopTimeoutMillis() { return stopTimeoutMillis; }

    public VhostOptions withQueues(int n) { return new VhostOptions(n, idle, threading, sharedThreads, stopTimeoutMillis); }

    public VhostOptions withIdle(IdleMode m) { return new VhostOptions(queues, m, threading, sharedThreads, stopTimeoutMillis); }

    public VhostOptions withThreading(Threading t) { return new VhostOptions(queues, idle, t, sharedThreads, stopTimeoutMillis); }

    /** {@code shared} threading on {@code threads} threads. */
    public VhostOptions withSharedThreads(int threads) {
        return new VhostOptions(queues, idle, Threading.SHARED, threads, stopTimeoutMillis);
    }

    public VhostOptions withStopTimeoutMillis(long ms) { return new VhostOptions(queues, idle, threading, sharedThreads, ms); }

    /** The pool every server started with these options shares in {@code shared} threading (made on first use). */
    public synchronized QueueRunners sharedRunners() {
        if (pool == null) pool = new QueueRunners("frodo-shared", sharedThreads, idle);
        return pool;
    }

    @Override
    public String toString() {
        return "VhostOptions[queues=" + queues + ", idle=" + idle + ", threading=" + threading
                + (threading == Threading.SHARED ? " on " + sharedThreads : "") + ", stopTimeoutMillis=" + stopTimeoutMillis + "]";
    }
}
