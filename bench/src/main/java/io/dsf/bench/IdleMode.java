package io.dsf.bench;

import java.util.Locale;

/**
 * What a job thread does when its queue has no completion ready. Immutable.
 * <ul>
 *   <li>{@code spin}: poll in a busy loop ({@link Thread#onSpinWait()}): lowest latency, burns a core;</li>
 *   <li>{@code backoff}: spin on empty polls, then yield, then block in the queue as {@code block}
 *       does (a timed park would sleep at least the kernel's timer slack, ~50 us);</li>
 *   <li>{@code block}: {@code DeviceQueue.await}: the backend sleeps until a completion arrives.</li>
 * </ul>
 */
public enum IdleMode {
    SPIN, BACKOFF, BLOCK;

    public String label() { return name().toLowerCase(Locale.ROOT); }

    public static IdleMode parse(String s) {
        for (IdleMode m : values()) if (m.label().equalsIgnoreCase(s)) return m;
        throw new IllegalArgumentException("unknown --idle '" + s + "' (one of spin, backoff, block)");
    }
}
