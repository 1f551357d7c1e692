package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/**
 * The conformance suite through {@code faulty:powerloss} over {@code uring:}: early leaks,
 * write-through and reads complete asynchronously on the inner device.
 */
class FaultyPowerLossUringConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("faulty:powerloss,leak=0.5:uring:" + tmpDir.resolve("dev.img") + "?size=64m");
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("faulty:powerloss,leak=0.5:uring:" + tmpDir.resolve("dev.img"));
    }
}
