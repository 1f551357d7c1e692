package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.BeforeAll;

import java.nio.file.Path;

/**
 * The shared device conformance suite on {@code spdk:trtype:PCIe traddr:0000:00:04.0} over
 * native/'s emulator: the same Java code that drives a real SPDK. Each test gets a fresh namespace
 * (the emulator's backing files go to the test's temporary directory).
 */
class SpdkConformanceTest extends DeviceConformanceSuite {
    static final String URI = "spdk:" + SpdkEmulatorSupport.TRID;

    @BeforeAll
    static void needsTheEmulator() {
        SpdkEmulatorSupport.assumeEmulator();
    }

    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        SpdkEmulatorSupport.freshNamespaces(tmpDir, "64M");
        return BlockDevices.open(URI);
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open(URI); // same backing file: the controller reconnects
    }
}
