package io.dsf.blockstore.backend.delay;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The conformance suite through {@code delay:} over a file, so that reopening is checked too. */
class DelayFileConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("delay:20:file:" + tmpDir.resolve("dev") + "?size=64m");
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("delay:20:file:" + tmpDir.resolve("dev"));
    }
}
