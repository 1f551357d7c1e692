package io.dsf.blockstore.backend.uring;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.IoError;
import io.dsf.blockstore.spi.Geometry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The conformance suite on {@code uring:} over a real block device: a loop device attached to a
 * sparse 64 MiB file for each test (BLKGETSIZE64, BLKSSZGET and BLKDISCARD paths). Needs root and
 * {@code losetup}; skips with the reason otherwise.
 */
class UringLoopDeviceConformanceTest extends DeviceConformanceSuite {
    private String loop;

    @Override
    protected BlockDevice openDevice(Path tmpDir) throws Exception {
        Path backing = tmpDir.resolve("loop-backing.img");
        try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        String out;
        int rc;
        try {
            Process p = new ProcessBuilder("losetup", "-f", "--show", backing.toString()).redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assumeTrue(p.waitFor(20, TimeUnit.SECONDS), "losetup hung");
            rc = p.exitValue();
        } catch (IOException e) {
            assumeTrue(false, "losetup not available: " + e.getMessage());
            return null;
        }
        if (rc != 0 || !out.startsWith("/dev/loop")) {
            System.out.println("skipping the loop-device conformance run: losetup failed (needs root and loop support): " + out);
            assumeTrue(false, "losetup failed: " + out);
        }
        loop = out;
        return BlockDevices.open("uring:" + loop);
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open("uring:" + loop);
    }

    @AfterEach
    void detach() throws Exception {
        if (loop == null) return;
        // runs before the suite closes the device: a busy loop device detaches once its last user closes it
        Process p = new ProcessBuilder("losetup", "-d", loop).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        p.waitFor(20, TimeUnit.SECONDS);
    }

    @Test
    void blockDeviceGeometryComesFromIoctls() {
        UringBlockDevice u = assertInstanceOf(UringBlockDevice.class, dev);
        Geometry g = dev.geometry();
        assertTrue(u.isBlockDevice());
        assertEquals(64L << 20, g.capacity(), "BLKGETSIZE64");
        assertEquals(512, g.blockSize(), "BLKSSZGET of a loop device");
        assertTrue(g.trimSupported(), "loop devices accept BLKDISCARD");
        assertFalse(g.trimReadsZero(), "discard gives no zeroing guarantee on a block device");
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("uring:" + loop + "?size=1m"),
                "size= is for files only");
        DeviceException busy = assertThrows(DeviceException.class, () -> BlockDevices.open("uring:" + loop),
                "a block device is opened exclusively");
        assertTrue(busy.getMessage().contains("busy"), busy.getMessage());
    }

    @Test
    void iopollOnADeviceWithoutPollQueuesIsRefusedAtOpen() {
        dev.close(); // block devices are exclusive: release it first
        long t0 = System.nanoTime();
        try (BlockDevice d = BlockDevices.open("uring:" + loop + "?iopoll")) {
            System.out.println("this loop device accepts IOPOLL: " + d.geometry());
        } catch (DeviceException e) {
            assertEquals(IoError.UNSUPPORTED, e.error());
            assertTrue(e.getMessage().contains("IOPOLL") && e.getMessage().contains("drop ?iopoll"), e.getMessage());
            System.out.println("IOPOLL refused in " + (System.nanoTime() - t0) / 1_000_000 + " ms: " + e.getMessage());
        }
    }
}
