package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spdk: backend on native/'s emulator: the shared contract plus emulator-specific checks. */
@Timeout(60)
class SpdkBlockDeviceTest extends SpdkDeviceContract {
    @TempDir
    Path dir;

    @BeforeEach
    void freshEmulator() {
        SpdkEmulatorSupport.freshNamespaces(dir, "64M");
    }

    @Override
    protected BlockDevice openDevice() {
        return BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID);
    }

    @Test
    void geometryComesFromTheNamespace() throws Exception {
        Geometry g = dev().geometry();
        assertEquals(64L << 20, g.capacity());
        assertEquals(512, g.blockSize());
        assertEquals(512, g.bufferAlignment());
        assertEquals(128 << 10, g.maxTransfer());
        assertTrue(g.trimSupported());
        assertTrue(g.trimReadsZero());
        assertTrue(g.volatileCache());
        assertEquals(1, ((SpdkBlockDevice) dev()).namespaceId());
        assertTrue(Files.exists(dir.resolve("pcie-0000_00_04.0.img")));
    }

    @Test
    void devicesOnOneTransportIdShareTheController() throws Exception {
        BlockDevice a = dev();
        try (BlockDevice b = BlockDevices.open("spdk:trtype:pcie,traddr:0000:00:04.0")) {
            MemorySegment buf = a.allocateDma(4096);
            DeviceContractHelpers.write(a, 8192, buf, 11);
            MemorySegment back = b.allocateDma(4096);
            DeviceContractHelpers.read(b, 8192, back);
            assertEquals(-1, buf.mismatch(back));
            MemorySegment expected = MemorySegment.ofArray(buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            a.close(); // frees a's DMA memory
            device = null;
            back.fill((byte) 0);
            DeviceContractHelpers.read(b, 8192, back); // the controller stays while b uses it
            assertEquals(-1, expected.mismatch(back));
        }
        try (BlockDevice c = BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID)) { // reconnects after the last close
            MemorySegment back = c.allocateDma(4096);
            DeviceContractHelpers.read(c, 8192, back);
            assertTrue(back.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0) != 0, "data persisted in the namespace");
        }
    }

    @Test
    void dmaMemoryOfAnotherDeviceIsRefused() throws Exception {
        try (BlockDevice other = BlockDevices.open("spdk:trtype:PCIe traddr:0000:00:05.0")) {
            MemorySegment foreign = other.allocateDma(4096);
            try (DeviceQueue q = dev().openQueue(2, new Recorder(1))) {
                assertEquals(IoError.BAD_BUFFER.code(), q.write(0, foreign, 4096, 0));
            }
        }
    }

    @Test
    void malformedTransportIdsAndOptions() {
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:   "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:trtype:Bogus traddr:x"));
        assertTrue(e.getMessage().contains("cannot parse transport id"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:traddr"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:traddr:0000:00:04.0"), "no trtype");
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID + "?ns=x"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID + "?ns=0"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID + "?qd=4"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("spdk:trtype:PCIe traddr:" + "x".repeat(300)));
    }

    @Test
    void unreachableControllersAndNamespacesAreTypedErrors() {
        DeviceException e = assertThrows(DeviceException.class,
                () -> BlockDevices.open("spdk:trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420"));
        assertTrue(e.getMessage().contains("spdk_nvme_connect failed"), e.getMessage());
        DeviceException ns = assertThrows(DeviceException.class, () -> BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID + "?ns=2"));
        assertTrue(ns.getMessage().contains("namespace 2 is not active"), ns.getMessage());
        // the failed open released the controller: a normal open still works
        try (BlockDevice d = BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID + "?ns=1")) {
            assertFalse(d.geometry().capacity() == 0);
        }
    }

    @Test
    void nvmeOverTcpTransportIdsWork() throws Exception {
        try (BlockDevice d = BlockDevices.open("spdk:trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2016-06.io.spdk:cnode1")) {
            MemorySegment buf = d.allocateDma(4096);
            DeviceContractHelpers.write(d, 0, buf, 5);
            MemorySegment back = d.allocateDma(4096);
            DeviceContractHelpers.read(d, 0, back);
            assertEquals(-1, buf.mismatch(back));
        }
        assertTrue(Files.exists(dir.resolve("tcp-127.0.0.1-4420-nqn.2016-06.io.spdk_cnode1.img")));
    }
}
