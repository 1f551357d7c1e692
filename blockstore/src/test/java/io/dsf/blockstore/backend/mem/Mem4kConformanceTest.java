package io.dsf.blockstore.backend.mem;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The suite again with 4 KiB logical blocks, so the alignment rules are exercised at a second size. */
class Mem4kConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("mem:64m?bs=4k");
    }
}
