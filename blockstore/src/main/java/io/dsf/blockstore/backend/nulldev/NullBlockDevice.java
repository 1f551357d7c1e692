package io.dsf.blockstore.backend.nulldev;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.ImmediateQueue;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;

import java.lang.foreign.MemorySegment;

/**
 * {@code null:SIZE[?bs=512]}: writes are discarded, reads return zeros, everything completes at
 * once. For measuring the software overhead above the device. Thread safe; queues per thread.
 */
public final class NullBlockDevice extends AbstractBlockDevice {
    private NullBlockDevice(String uri, Geometry g) { super(uri, g); }

    public static NullBlockDevice open(DeviceUri u) {
        u.allowOnly("bs", "nozero");
        int bs = u.blockSize(512);
        long size = Sizes.parse(u.path());
        size -= size % bs;
        if (size <= 0) throw new IllegalArgumentException("null: size must be at least one block: " + u.uri());
        NullBlockDevice d = new NullBlockDevice(u.uri(), new Geometry(size, bs, bs, 1 << 20, true, true, false));
        d.zeroReads = !u.flag("nozero");
        return d;
    }

    private boolean zeroReads = true;

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        final boolean zero = zeroReads;
        return new ImmediateQueue(this, depth, handler) {
            @Override protected int doRead(long offset, MemorySegment b, int len) {
                if (zero) io.dsf.blockstore.io.Zero.fill(b, 0, len);
                return 0;
            }
            @Override protected int doWrite(long offset, MemorySegment b, int len) { return 0; }
            @Override protected int doFlush() { return 0; }
            @Override protected int doTrim(long offset, long len) { return 0; }
        };
    }

    @Override protected void release() {}
}
