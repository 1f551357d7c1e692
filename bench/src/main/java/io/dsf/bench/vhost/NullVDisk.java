package io.dsf.bench.vhost;

import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;

import java.lang.foreign.MemorySegment;

/**
 * A vDisk with nothing behind it, the counterpart of QEMU's {@code null-co} block driver with
 * {@code read-zeroes=on}: a read zero-fills the buffer (the guest's own memory, in place), a write
 * is dropped, and every request completes inline on the submitting thread. Benchmarks use it to
 * measure a front-end's own cost. Thread safe (stateless).
 */
public final class NullVDisk implements VDisk {
    private final String name;
    private final long size;

    public NullVDisk(String name, long size) {
        if (size <= 0 || size % 4096 != 0) throw new IllegalArgumentException("size must be a positive multiple of 4096: " + size);
        this.name = name;
        this.size = size;
    }

    @Override public String name() { return name; }
    @Override public long size() { return size; }
    @Override public int blockSize() { return 4096; }
    @Override public int maxTransfer() { return 1 << 20; }
    @Override public boolean readOnly() { return false; }

    private int check(long offset, long length) {
        if (length <= 0 || (offset | length) % 4096 != 0 || offset < 0 || offset > size - length) return VDiskStatus.INVALID;
        return VDiskStatus.OK;
    }

    @Override
    public int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int rc = check(offset, length);
        if (rc != VDiskStatus.OK) return rc;
        io.dsf.blockstore.io.Zero.fill(buf, 0, length);
        cb.onComplete(tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int write(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
        int rc = check(offset, length);
        if (rc != VDiskStatus.OK) return rc;
        cb.onComplete(tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int flush(long tag, IoCallback cb) {
        cb.onComplete(tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int unmap(long offset, long length, long tag, IoCallback cb) {
        int rc = check(offset, length);
        if (rc != VDiskStatus.OK) return rc;
        cb.onComplete(tag, VDiskStatus.OK);
        return VDiskStatus.OK;
    }

    @Override
    public int writeZeroes(long offset, long length, long tag, IoCallback cb) {
        return unmap(offset, length, tag, cb);
    }
}
