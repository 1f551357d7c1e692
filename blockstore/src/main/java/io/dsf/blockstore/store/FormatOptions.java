package io.dsf.blockstore.store;

import io.dsf.blockstore.io.Sizes;

/**
 * Choices made once, when a device is formatted. Immutable.
 *
 * @param unitSize     allocation unit {@code U}: a power of two from 64 KiB to 64 MiB (extent
 *                     groups want 1–4 MiB; default 1 MiB)
 * @param sliceSize    checksum slice {@code S} and write alignment of objects: a power of two,
 *                     4 KiB ≤ S ≤ U, at most 16384 slices per unit (default 4 KiB)
 * @param journalBytes journal ring size, a multiple of 4 KiB and at least 64 KiB; 0 picks
 *                     capacity/128 clamped to [512 KiB, 64 MiB]
 * @param maxObjects   object table entries; 0 picks capacity/U clamped to [1024, 1048576]
 */
public record FormatOptions(int unitSize, int sliceSize, long journalBytes, int maxObjects) {
    public static final FormatOptions DEFAULTS = new FormatOptions(1 << 20, 4096, 0, 0);

    public FormatOptions {
        if (unitSize < (64 << 10) || unitSize > (64 << 20) || Integer.bitCount(unitSize) != 1)
            throw new IllegalArgumentException("unit size must be a power of two from 64KiB to 64MiB: " + unitSize);
        if (sliceSize < 4096 || sliceSize > unitSize || Integer.bitCount(sliceSize) != 1)
            throw new IllegalArgumentException("slice size must be a power of two from 4KiB to the unit size: " + sliceSize);
        if (unitSize / sliceSize > 16384)
            throw new IllegalArgumentException("at most 16384 slices per unit: unit " + unitSize + " / slice " + sliceSize);
        if (journalBytes != 0 && (journalBytes < (64 << 10) || journalBytes % 4096 != 0 || journalBytes > (1L << 32)))
            throw new IllegalArgumentException("journal size must be a multiple of 4KiB from 64KiB to 4GiB: " + journalBytes);
        if (maxObjects < 0 || maxObjects > (1 << 24))
            throw new IllegalArgumentException("max objects must be between 1 and 16777216 (0 = automatic): " + maxObjects);
    }

    public FormatOptions withUnitSize(int u) { return new FormatOptions(u, sliceSize, journalBytes, maxObjects); }

    public FormatOptions withSliceSize(int s) { return new FormatOptions(unitSize, s, journalBytes, maxObjects); }

    public FormatOptions withJournalBytes(long j) { return new FormatOptions(unitSize, sliceSize, j, maxObjects); }

    public FormatOptions withMaxObjects(int n) { return new FormatOptions(unitSize, sliceSize, journalBytes, n); }

    /** Parses {@code unit=1m,slice=4k,journal=8m,objects=4096} (any subset, any order). */
    public static FormatOptions parse(String spec) {
        FormatOptions o = DEFAULTS;
        if (spec == null || spec.isBlank()) return o;
        for (String kv : spec.split(",")) {
            int e = kv.indexOf('=');
            if (e < 0) throw new IllegalArgumentException("format option '" + kv + "' needs key=value (keys: unit, slice, journal, objects)");
            String k = kv.substring(0, e).trim();
            String v = kv.substring(e + 1).trim();
            long n = Sizes.parse(v);
            if (n > Integer.MAX_VALUE && !k.equals("journal")) throw new IllegalArgumentException("format option " + k + " too large: " + v);
            o = switch (k) {
                case "unit" -> o.withUnitSize((int) n);
                case "slice" -> o.withSliceSize((int) n);
                case "journal" -> o.withJournalBytes(n);
                case "objects" -> o.withMaxObjects((int) n);
                default -> throw new IllegalArgumentException("unknown format option '" + k + "' (keys: unit, slice, journal, objects)");
            };
        }
        return o;
    }
}
