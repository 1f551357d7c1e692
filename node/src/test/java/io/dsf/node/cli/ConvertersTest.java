package io.dsf.node.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

import static org.junit.jupiter.api.Assertions.*;

class ConvertersTest {
    private final DurationConverter d = new DurationConverter();
    private final SizeConverter s = new SizeConverter();

    @Test
    void durations() {
        assertEquals(10_000_000_000L, d.convert("10"));
        assertEquals(500_000_000L, d.convert("0.5"));
        assertEquals(500_000_000L, d.convert("500ms"));
        assertEquals(2_000_000_000L, d.convert("2s"));
        assertEquals(120_000_000_000L, d.convert("2m"));
        assertEquals(3_600_000_000_000L, d.convert("1h"));
        assertThrows(TypeConversionException.class, () -> d.convert("-1"));
        assertThrows(TypeConversionException.class, () -> d.convert("NaN"));
        assertThrows(TypeConversionException.class, () -> d.convert(""));
        assertThrows(TypeConversionException.class, () -> d.convert("1e30"));
    }

    @Test
    void sizes() {
        assertEquals(4096L, s.convert("4k"));
        assertEquals(1L << 30, s.convert("1GiB"));
        TypeConversionException e = assertThrows(TypeConversionException.class, () -> s.convert("lots"));
        assertTrue(e.getMessage().contains("not a size"));
    }
}
