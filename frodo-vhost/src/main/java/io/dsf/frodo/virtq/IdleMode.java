package io.dsf.frodo.virtq;

/**
 * What a queue runner does when a duty cycle found no work: {@code SPIN} polls the rings
 * continuously (lowest latency, one core per runner), {@code BACKOFF} keeps polling for 32 us after
 * the last work (QEMU's adaptive polling default) and then sleeps as {@code BLOCK} does,
 * {@code BLOCK} asks the guest for a kick (event index) and sleeps in {@code epoll_wait} on the kick
 * and completion eventfds at once. Immutable constants.
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
