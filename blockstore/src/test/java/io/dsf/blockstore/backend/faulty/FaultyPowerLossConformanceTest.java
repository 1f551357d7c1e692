package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite through {@code faulty:powerloss} (default leak) over memory: the volatile
 * cache keeps every rule, and a flushed write survives a crash.
 */
class FaultyPowerLossConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("faulty:powerloss:mem:64m");
    }

    @Test
    void aFlushedWriteReadsBackAfterACrash() {
        FaultyBlockDevice d = (FaultyBlockDevice) dev;
        assertTrue(g.volatileCache());
        MemorySegment w = dev.allocateDma(bs()), r = dev.allocateDma(bs());
        FaultyBlockDeviceTest.fill(w, bs(), 99);
        try (SyncIo io = new SyncIo(dev)) {
            io.write(20L << 20, w, bs());
            io.flush();
            io.read(20L << 20, r, bs());
            assertEquals(-1, r.mismatch(w));
        }
        d.injector().crash(1.0);
        assertEquals(-1, PowerLossTest.innerRead(d, 20L << 20, bs()).mismatch(w));
    }
}
