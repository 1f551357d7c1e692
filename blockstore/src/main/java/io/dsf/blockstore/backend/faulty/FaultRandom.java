package io.dsf.blockstore.backend.faulty;

/**
 * Stateless, seeded pseudo-randomness for fault decisions: a value is a pure function of
 * (seed, sequence number, purpose), so decisions are reproducible across runs and need no shared
 * generator state between threads. Thread safe (no state).
 */
final class FaultRandom {
    private FaultRandom() {}

    /** A 64-bit avalanche mix (every input bit affects every output bit). */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    /** A uniform double in [0, 1) for the {@code n}-th decision of kind {@code purpose} under {@code seed}. */
    static double unit(long seed, long n, int purpose) {
        long h = mix(mix(seed ^ 0x9e3779b97f4a7c15L) + n * 0x2545f4914f6cdd1dL + purpose);
        return (h >>> 11) * 0x1.0p-53;
    }
}
