package io.dsf.bench;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test-only wrapper that corrupts successful reads: every {@code everyNth} read gets one byte
 * flipped before its completion is delivered. Thread safe as the wrapped device; each queue is
 * owned by its thread (allocation per I/O is fine here: tests only).
 */
final class TamperingBlockDevice implements BlockDevice {
    private final BlockDevice inner;
    private final int everyNth;
    final AtomicLong tampered = new AtomicLong();

    TamperingBlockDevice(BlockDevice inner, int everyNth) {
        this.inner = inner;
        this.everyNth = everyNth;
    }

    @Override public String uri() { return "tamper:" + inner.uri(); }

    @Override public Geometry geometry() { return inner.geometry(); }

    @Override public MemorySegment allocateDma(long size) { return inner.allocateDma(size); }

    @Override public void close() { inner.close(); }

    @Override
    public DeviceQueue openQueue(int depth, CompletionHandler handler) {
        Map<Long, MemorySegment> reads = new HashMap<>();
        long[] count = new long[1];
        CompletionHandler h = (userData, status) -> {
            MemorySegment buf = reads.remove(userData);
            if (buf != null && status == 0 && ++count[0] % everyNth == 0) {
                long at = buf.byteSize() / 2 + 3;
                buf.set(ValueLayout.JAVA_BYTE, at, (byte) (buf.get(ValueLayout.JAVA_BYTE, at) ^ 0x10));
                tampered.incrementAndGet();
            }
            handler.onComplete(userData, status);
        };
        return new io.dsf.blockstore.spi.ForwardingDeviceQueue(inner.openQueue(depth, h), this) {
            @Override public int read(long offset, MemorySegment buffer, int length, long userData) {
                int st = inner.read(offset, buffer, length, userData);
                if (st == ACCEPTED) reads.put(userData, buffer.asSlice(0, length));
                return st;
            }
        };
    }
}
