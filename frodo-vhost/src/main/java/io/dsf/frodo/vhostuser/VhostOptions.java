package io.dsf.frodo.vhostuser;

import io.dsf.frodo.virtq.IdleMode;

/**
 * How a vhost-user server runs its queues: request queues offered ({@code --queues}, default 16;
 * a worker runs only for queues the guest enables), the idle strategy of the workers, the threading
 * mode, and how long a stopping queue waits for its requests in flight. Immutable.
 */
public record VhostOptions(int queues, IdleMode idle, Threading threading, long stopTimeoutMillis) {
    /** {@code dedicated}: one thread per virtqueue; {@code shared}: several queues on one agent thread (not yet). */
    public enum Threading { DEDICATED, SHARED }

    public VhostOptions {
        if (queues < 1 || queues > 64) throw new IllegalArgumentException("queues must be in 1..64: " + queues);
        if (idle == null || threading == null) throw new IllegalArgumentException("idle and threading are required");
        if (threading == Threading.SHARED) throw new UnsupportedOperationException("threading mode shared is not implemented yet; use dedicated");
        if (stopTimeoutMillis <= 0) throw new IllegalArgumentException("stop timeout must be positive");
    }

    public static VhostOptions defaults() {
        return new VhostOptions(16, IdleMode.BLOCK, Threading.DEDICATED, 30_000);
    }

    public VhostOptions withQueues(int n) { return new VhostOptions(n, idle, threading, stopTimeoutMillis); }

    public VhostOptions withIdle(IdleMode m) { return new VhostOptions(queues, m, threading, stopTimeoutMillis); }
}
