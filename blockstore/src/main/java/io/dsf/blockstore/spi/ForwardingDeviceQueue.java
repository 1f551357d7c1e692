package io.dsf.blockstore.spi;

import java.lang.foreign.MemorySegment;

/**
 * A queue that passes every call to another queue, for wrappers that watch or alter a few of them
 * (override those). {@link #device()} names the wrapping device. Owned by the inner queue's thread,
 * like the queue it wraps.
 */
public abstract class ForwardingDeviceQueue implements DeviceQueue {
    protected final DeviceQueue inner;
    private final BlockDevice device;

    protected ForwardingDeviceQueue(DeviceQueue inner, BlockDevice device) {
        this.inner = inner;
        this.device = device;
    }

    @Override public int read(long offset, MemorySegment buffer, int length, long userData) { return inner.read(offset, buffer, length, userData); }
    @Override public int write(long offset, MemorySegment buffer, int length, long userData) { return inner.write(offset, buffer, length, userData); }
    @Override public int flush(long userData) { return inner.flush(userData); }
    @Override public int trim(long offset, long length, long userData) { return inner.trim(offset, length, userData); }
    @Override public int submit() { return inner.submit(); }
    @Override public int poll(int max) { return inner.poll(max); }
    @Override public int await(int max, long timeoutNanos) { return inner.await(max, timeoutNanos); }
    @Override public int inFlight() { return inner.inFlight(); }
    @Override public int depth() { return inner.depth(); }
    @Override public BlockDevice device() { return device; }
    @Override public void registerBuffers(MemorySegment region) { inner.registerBuffers(region); }
    @Override public void close() { inner.close(); }
}
