package io.dsf.blockstore.backend.delay;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.nio.file.Path;

/** The conformance suite through {@code delay:} over memory: held completions change no rule. */
class DelayConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("delay:50:mem:64m");
    }
}
