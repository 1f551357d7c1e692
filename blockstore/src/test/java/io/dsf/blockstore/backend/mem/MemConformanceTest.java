package io.dsf.blockstore.backend.mem;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemConformanceTest extends DeviceConformanceSuite {
    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        return BlockDevices.open("mem:64m");
    }

    @Test
    void isThinAndTrimReleasesWholeChunks() {
        MemBlockDevice m = (MemBlockDevice) BlockDevices.open("mem:1t");
        try (var io = new io.dsf.blockstore.io.SyncIo(m)) {
            assertEquals(0, m.residentBytes(), "nothing allocated before the first write");
            MemorySegment buf = m.allocateDma(4096);
            buf.fill((byte) 7);
            io.write((1L << 40) - 4096, buf, 4096);
            assertEquals(1 << 20, m.residentBytes(), "one region for one write at the far end");
            MemorySegment c = m.memory();
            assertTrue(c.isNative() && c.address() % 4096 == 0, "the device lives outside the Java heap, page aligned: " + c);
            assertEquals(7, c.get(java.lang.foreign.ValueLayout.JAVA_BYTE, (1L << 40) - 4096));
            io.trim((1L << 40) - (1 << 20) + 4096, (1 << 20) - 4096);
            assertEquals(1 << 20, m.residentBytes(), "a trim of part of a region keeps it");
            assertEquals(0, c.get(java.lang.foreign.ValueLayout.JAVA_BYTE, (1L << 40) - 4096), "a trimmed page reads as zeros");
            io.write((1L << 40) - (1 << 20), buf, 4096);
            io.trim((1L << 40) - (1 << 20), 1 << 20);
            assertEquals(0, m.residentBytes());
            io.read((1L << 40) - (1 << 20), buf, 4096);
            assertEquals(0, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0), "trimmed whole: zeros");
        } finally {
            m.close();
        }
    }

    @Test
    void badUrisSayWhatIsExpected() {
        var e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("mem:lots"));
        assertTrue(e.getMessage().contains("not a size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("mem:1g?bs=1000"));
        assertTrue(e.getMessage().contains("power of two"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("mem:1g?bogus=1"));
        assertTrue(e.getMessage().contains("unknown option 'bogus'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("tape:/dev/st0"));
        assertTrue(e.getMessage().contains("unknown device scheme"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("nocolon"));
        assertTrue(e.getMessage().contains("needs a scheme"), e.getMessage());
    }
}
