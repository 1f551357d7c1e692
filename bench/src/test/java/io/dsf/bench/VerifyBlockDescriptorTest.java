package io.dsf.bench;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import static io.dsf.bench.VerifyBlockDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

class VerifyBlockDescriptorTest {
    private static final int UNIT = 4096;
    private final CRC32C crc = new CRC32C();
    private final MemorySegment zeros = MemorySegment.ofArray(new byte[UNIT]);
    private MemorySegment buf;
    private ByteBuffer view;

    @BeforeEach
    void setUp() {
        buf = Arena.ofAuto().allocate(2 * UNIT, 4096);
        view = buf.asByteBuffer();
    }

    @Test
    void stampedBlockChecksOk() {
        stamp(buf, view, 0, UNIT, 8192, 7, crc);
        assertEquals(OK, check(buf, view, 0, UNIT, 8192, 7, crc, zeros));
        assertEquals(MAGIC, buf.get(ValueLayout.JAVA_INT_UNALIGNED, 0));
    }

    @Test
    void secondUnitInOneBufferIsIndependent() {
        stamp(buf, view, 0, UNIT, 0, 1, crc);
        stamp(buf, view, UNIT, UNIT, UNIT, 1, crc);
        assertEquals(OK, check(buf, view, UNIT, UNIT, UNIT, 1, crc, zeros));
        assertEquals(OK, check(buf, view, 0, UNIT, 0, 1, crc, zeros));
    }

    @Test
    void flippedPatternByteIsCaughtByCrc() {
        stamp(buf, view, 0, UNIT, 4096, 3, crc);
        buf.set(ValueLayout.JAVA_BYTE, 2000, (byte) (buf.get(ValueLayout.JAVA_BYTE, 2000) ^ 1));
        assertEquals(BAD_CRC, check(buf, view, 0, UNIT, 4096, 3, crc, zeros));
    }

    @Test
    void blockOfAnotherAddressIsMisdirected() {
        stamp(buf, view, 0, UNIT, 4096, 3, crc);
        assertEquals(WRONG_ADDRESS, check(buf, view, 0, UNIT, 8192, 3, crc, zeros));
    }

    @Test
    void olderGenerationIsStale() {
        stamp(buf, view, 0, UNIT, 4096, 3, crc);
        assertEquals(WRONG_GENERATION, check(buf, view, 0, UNIT, 4096, 4, crc, zeros));
        assertTrue(describe(WRONG_GENERATION, buf, 0, UNIT, 4096, 4).contains("generation 3"));
    }

    @Test
    void neverWrittenMustBeZeros() {
        assertEquals(OK, check(buf, view, 0, UNIT, 0, 0, crc, zeros));
        buf.set(ValueLayout.JAVA_BYTE, 100, (byte) 1);
        assertEquals(NOT_ZERO, check(buf, view, 0, UNIT, 0, 0, crc, zeros));
        assertTrue(describe(NOT_ZERO, buf, 0, UNIT, 0, 0).contains("+100"));
    }

    @Test
    void writtenBlockReadingZerosIsALostWrite() {
        assertEquals(ZEROS, check(buf, view, 0, UNIT, 0, 2, crc, zeros));
    }

    @Test
    void garbageHasNoHeader() {
        buf.fill((byte) 0x77);
        assertEquals(BAD_MAGIC, check(buf, view, 0, UNIT, 0, 2, crc, zeros));
    }

    @Test
    void unknownGenerationIsNotChecked() {
        buf.fill((byte) 0x77);
        assertEquals(OK, check(buf, view, 0, UNIT, 0, -1, crc, zeros));
    }

    @Test
    void nextGenerationSkipsZeroAndUnknown() {
        assertEquals(1, nextGeneration(0));
        assertEquals(1, nextGeneration(-1));
        assertEquals(6, nextGeneration(5));
        assertEquals(1, nextGeneration(Integer.MAX_VALUE));
    }
}
