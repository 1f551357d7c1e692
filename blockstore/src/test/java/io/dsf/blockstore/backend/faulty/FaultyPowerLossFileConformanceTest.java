package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The conformance suite through {@code faulty:powerloss} over a file, reopening included. */
class FaultyPowerLossFileConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("faulty:powerloss,leak=0.5,seed=3:file:" + tmpDir.resolve("dev") + "?size=64m");
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("faulty:powerloss,leak=0.5,seed=3:file:" + tmpDir.resolve("dev"));
    }
}
