package io.dsf.blockstore.io;

import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;

/**
 * The request validation every backend applies before touching a device, so all backends
 * reject the same bad requests with the same {@link IoError}. Allocation free. Thread safe.
 */
public final class RequestChecks {
    private RequestChecks() {}

    /** Checks a read or write; returns {@link DeviceQueue#ACCEPTED} or a negative error code. */
    public static int checkRw(Geometry g, long offset, MemorySegment buffer, int length) {
        if (length == 0) return IoError.ZERO_LENGTH.code();
        if (length < 0 || offset < 0) return IoError.OUT_OF_RANGE.code();
        if (((offset | length) & (g.blockSize() - 1)) != 0) return IoError.UNALIGNED.code();
        if (offset > g.capacity() - length) return IoError.OUT_OF_RANGE.code();
        if (length > g.maxTransfer()) return IoError.TOO_LARGE.code();
        if (buffer == null || !buffer.isNative() || buffer.byteSize() < length
                || (buffer.address() & (g.bufferAlignment() - 1)) != 0) return IoError.BAD_BUFFER.code();
        return DeviceQueue.ACCEPTED;
    }

    /** Checks a trim range; returns {@link DeviceQueue#ACCEPTED} or a negative error code. */
    public static int checkTrim(Geometry g, long offset, long length) {
        if (length == 0) return IoError.ZERO_LENGTH.code();
        if (length < 0 || offset < 0) return IoError.OUT_OF_RANGE.code();
        if (((offset | length) & (g.blockSize() - 1)) != 0) return IoError.UNALIGNED.code();
        if (offset > g.capacity() - length) return IoError.OUT_OF_RANGE.code();
        return DeviceQueue.ACCEPTED;
    }
}
