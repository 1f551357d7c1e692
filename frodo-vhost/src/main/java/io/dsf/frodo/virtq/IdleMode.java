package io.dsf.frodo.virtq;

/**
 * What a virtqueue worker does when a duty cycle found no work: {@code SPIN} polls the available
 * ring continuously (lowest latency, one core per queue), {@code BACKOFF} spins, yields, then parks
 * for growing intervals while polling, {@code BLOCK} asks the guest for a kick (event index) and
 * sleeps in {@code epoll_wait} on the kick and completion eventfds. Immutable constants.
 */
public enum IdleMode {
    SPIN, BACKOFF, BLOCK;

    /** Parses {@code spin|backoff|block}. */
    public static IdleMode parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "spin" -> SPIN;
            case "backoff" -> BACKOFF;
            case "block" -> BLOCK;
            default -> throw new IllegalArgumentException("idle mode must be spin, backoff or block: " + s);
        };
    }
}
