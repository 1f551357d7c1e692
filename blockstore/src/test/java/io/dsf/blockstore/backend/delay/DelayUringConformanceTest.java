package io.dsf.blockstore.backend.delay;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The conformance suite through {@code delay:} over {@code uring:}, an inner device that completes asynchronously. */
class DelayUringConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("delay:50:uring:" + tmpDir.resolve("dev.img") + "?size=64m");
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("delay:50:uring:" + tmpDir.resolve("dev.img"));
    }
}
