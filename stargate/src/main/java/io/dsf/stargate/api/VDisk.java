package io.dsf.stargate.api;

import java.lang.foreign.MemorySegment;

/**
 * Asynchronous block I/O on one vDisk. Safe for any number of submitting threads at once; each
 * call returns {@link VDiskStatus#OK} when the request was accepted, in which case the callback
 * runs exactly once later (possibly before the call returns, on the submitting thread), or a
 * negative {@link VDiskStatus} when it was refused, in which case the callback never runs.
 *
 * <p>Offsets and lengths are bytes and must be multiples of {@link #blockSize()}; a single request
 * moves at most {@link #maxTransfer()} bytes. A buffer must stay valid and untouched until its
 * request completes; it may be any memory segment (heap or native, e.g. mapped guest memory).
 * A write that completes with {@code OK} is durable (there is no volatile write cache): a crash
 * of any process afterwards does not lose it. {@link #flush} exists for frontends whose protocol
 * has one; it completes once every write completed before it is durable.
 */
public interface VDisk {
    /** The vDisk's name, unique on its node. */
    String name();

    /** Size in bytes; a multiple of the block size. */
    long size();

    /** Logical block size in bytes (4096): the unit of addressing and alignment. */
    int blockSize();

    /** Largest {@code length} of one read or write, in bytes. */
    int maxTransfer();

    /** True for an immutable vDisk (a snapshot base); writes, unmaps and write-zeroes complete with {@link VDiskStatus#READ_ONLY}. */
    boolean readOnly();

    /** Reads {@code length} bytes at {@code offset} into {@code buf}; never-written blocks read as zeros. */
    int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb);

    /** Writes {@code length} bytes from {@code buf} at {@code offset}. */
    int write(long offset, MemorySegment buf, int length, long tag, IoCallback cb);

    /** Completes when everything completed before it is durable. */
    int flush(long tag, IoCallback cb);

    /** Deallocates a range; it reads as zeros afterwards. {@code length} may exceed {@link #maxTransfer()}. */
    int unmap(long offset, long length, long tag, IoCallback cb);

    /** Makes a range read as zeros. {@code length} may exceed {@link #maxTransfer()}. */
    int writeZeroes(long offset, long length, long tag, IoCallback cb);
}
