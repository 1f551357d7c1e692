package io.dsf.blockstore.backend.nulldev;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The subset of the suite that applies to a device that keeps nothing. */
class NullConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("null:1g");
    }

    @Override
    protected boolean retainsData() { return false; }

    @Test
    void writesAreDiscardedAndReadsReturnZeros() {
        try (SyncIo io = new SyncIo(dev)) {
            MemorySegment b = dev.allocateDma(4096);
            b.fill((byte) 9);
            io.write(0, b, 4096);
            io.read(0, b, 4096);
            for (int i = 0; i < 4096; i++) assertEquals(0, b.get(ValueLayout.JAVA_BYTE, i));
        }
    }
}
