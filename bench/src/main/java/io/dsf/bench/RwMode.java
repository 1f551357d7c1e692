package io.dsf.bench;

import java.util.Locale;

/** The I/O pattern of a run, named as fio names them. Immutable. */
public enum RwMode {
    READ(true, false, false),
    WRITE(false, true, false),
    RANDREAD(true, false, true),
    RANDWRITE(false, true, true),
    RANDRW(true, true, true);

    private final boolean reads;
    private final boolean writes;
    private final boolean random;

    RwMode(boolean reads, boolean writes, boolean random) {
        this.reads = reads;
        this.writes = writes;
        this.random = random;
    }

    public boolean hasReads() { return reads; }

    public boolean hasWrites() { return writes; }

    public boolean random() { return random; }

    /** The name on the command line and in the JSON output ({@code randread}). */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /** Parses {@code randread} etc. (case-insensitive). */
    public static RwMode parse(String s) {
        for (RwMode m : values()) if (m.label().equalsIgnoreCase(s)) return m;
        throw new IllegalArgumentException("unknown --rw '" + s + "' (one of read, write, randread, randwrite, randrw)");
    }
}
