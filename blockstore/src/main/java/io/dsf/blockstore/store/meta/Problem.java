package io.dsf.blockstore.store.meta;

/**
 * One thing wrong with a store, precisely located. Immutable.
 *
 * @param severity how bad it is
 * @param where    which structure and position ("superblock copy B @4294963200", "unit 17", ...)
 * @param what     what is wrong
 */
public record Problem(Severity severity, String where, String what) {
    public enum Severity {
        /** The store cannot be opened safely (lost metadata, committed journal records lost). */
        FATAL,
        /** Opening the store for writing repairs it (a bad superblock copy, a leaked unit). */
        REPAIRABLE,
        /** Data damage confined to some slices: reads of them fail with a checksum error. */
        DATA
    }

    @Override
    public String toString() { return severity + " " + where + ": " + what; }
}
