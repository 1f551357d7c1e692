package io.dsf.blockstore.backend.uring;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The device conformance suite on {@code uring:} over a file on the disk filesystem (O_DIRECT). */
class UringConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("uring:" + tmpDir.resolve("dev.img") + "?size=64m");
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("uring:" + tmpDir.resolve("dev.img"));
    }
}
