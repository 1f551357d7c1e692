package io.dsf.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class BenchConfigTest {
    @Test
    void defaultsAreValid() {
        BenchConfig c = BenchConfig.builder("device:null:1g").build();
        assertEquals(RwMode.RANDREAD, c.rw());
        assertEquals(4096, c.blockSize());
        assertEquals(100, c.readPercent());
    }

    @Test
    void readPercentFollowsTheMode() {
        assertEquals(0, BenchConfig.builder("t:x").rw(RwMode.WRITE).build().readPercent());
        assertEquals(70, BenchConfig.builder("t:x").rw(RwMode.RANDRW).rwmixread(70).build().readPercent());
    }

    @Test
    void badValuesAreRejectedWithTheOptionName() {
        assertMessage("--bs", () -> BenchConfig.builder("t:x").blockSize(1000).build());
        assertMessage("--bs", () -> BenchConfig.builder("t:x").blockSize(0).build());
        assertMessage("--iodepth", () -> BenchConfig.builder("t:x").iodepth(0).build());
        assertMessage("--iodepth", () -> BenchConfig.builder("t:x").iodepth(100_000).build());
        assertMessage("--runtime", () -> BenchConfig.builder("t:x").runtimeNanos(0).build());
        assertMessage("--rwmixread", () -> BenchConfig.builder("t:x").rwmixread(101).build());
        assertMessage("--jobs", () -> BenchConfig.builder("t:x").jobs(0).build());
        assertMessage("--size", () -> BenchConfig.builder("t:x").size(4097).build());
        assertMessage("--target", () -> BenchConfig.builder(" ").build());
    }

    @Test
    void modeNamesParse() {
        assertEquals(RwMode.RANDRW, RwMode.parse("RandRW"));
        assertEquals(IdleMode.SPIN, IdleMode.parse("spin"));
        assertThrows(IllegalArgumentException.class, () -> RwMode.parse("trim"));
        assertThrows(IllegalArgumentException.class, () -> IdleMode.parse("sleep"));
    }

    @Test
    void innermostSchemeLooksThroughWrappers() {
        assertEquals("null", DeviceTarget.innermostScheme("null:1g"));
        assertEquals("mem", DeviceTarget.innermostScheme("delay:50:mem:1g"));
        assertEquals("file", DeviceTarget.innermostScheme("faulty:read-error:delay:10:file:/x?size=1g"));
    }

    private static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(fragment), x.getMessage());
    }
}
