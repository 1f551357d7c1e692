package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;

import java.lang.foreign.MemorySegment;

/** One-shot synchronous I/O for tests. */
final class DeviceContractHelpers {
    private DeviceContractHelpers() {}

    static void write(BlockDevice d, long offset, MemorySegment buf, long seed) {
        SpdkDeviceContract.fill(buf, seed);
        try (SyncIo io = new SyncIo(d, 10_000_000_000L)) {
            io.write(offset, buf, (int) buf.byteSize());
        }
    }

    static void read(BlockDevice d, long offset, MemorySegment buf) {
        try (SyncIo io = new SyncIo(d, 10_000_000_000L)) {
            io.read(offset, buf, (int) buf.byteSize());
        }
    }
}
