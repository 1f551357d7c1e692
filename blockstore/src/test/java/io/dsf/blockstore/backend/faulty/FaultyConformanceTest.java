package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The conformance suite through {@code faulty:none}: a device with nothing armed behaves like its inner one. */
class FaultyConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("faulty:none:mem:64m");
    }
}
