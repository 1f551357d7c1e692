package io.dsf.blockstore.backend.spdk;

/**
 * The address ranges of the DMA memory one device handed out, so a queue can refuse a buffer SPDK
 * could not translate. Copy on write: {@link #add} on the control path, {@link #contains} lock free
 * and allocation free on any queue thread. Thread safe.
 */
final class DmaRegions {
    private volatile long[] bounds = new long[0]; // start0, end0, start1, end1, ...

    synchronized void add(long start, long size) {
        long[] b = bounds;
        long[] n = java.util.Arrays.copyOf(b, b.length + 2);
        n[b.length] = start;
        n[b.length + 1] = start + size;
        bounds = n;
    }

    /** Whether {@code [address, address + length)} lies inside one region. */
    boolean contains(long address, long length) {
        long[] b = bounds;
        for (int i = 0; i < b.length; i += 2) {
            if (address >= b[i] && length <= b[i + 1] - address) return true;
        }
        return false;
    }
}
