package io.dsf.blockstore.backend.file;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceException;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("file:" + tmpDir.resolve("dev.img") + "?size=64m");
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("file:" + tmpDir.resolve("dev.img"));
    }

    @Test
    void sizeCreatesASparseFileAndAMissingFileIsAClearError() throws Exception {
        Path p = tmp.resolve("sparse.img");
        try (BlockDevice d = BlockDevices.open("file:" + p + "?size=1g")) {
            assertEquals(1L << 30, d.geometry().capacity());
            assertEquals(1L << 30, Files.size(p));
            Process stat = new ProcessBuilder("stat", "-c", "%b", p.toString()).start();
            long blocks = Long.parseLong(new String(stat.getInputStream().readAllBytes()).trim());
            assertTrue(blocks * 512 < (1L << 20), "sparse: " + blocks + " blocks allocated");
        }
        DeviceException e = assertThrows(DeviceException.class, () -> BlockDevices.open("file:" + tmp.resolve("absent.img")));
        assertTrue(e.getMessage().contains("?size="), e.getMessage());
    }
}
