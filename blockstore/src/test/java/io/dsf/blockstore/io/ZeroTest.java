package io.dsf.blockstore.io;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/** Zero fills exactly the range asked, on both of its paths (short or odd lengths, and the store loop), and nothing around it. */
class ZeroTest {
    @Test
    void fillsExactlyTheRangeOnBothPaths() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(80_000, 8);
            long[][] cases = {{0, 4096}, {8, 4096}, {3, 4096}, {5, 4093}, {100, 1024}, {64, 1016}, {7, 1}, {0, 0}, {1000, 65536}, {16, 2}};
            for (long[] c : cases) {
                s.fill((byte) 0x5A);
                Zero.fill(s, c[0], c[1]);
                for (long i = 0; i < s.byteSize(); i++) {
                    byte want = i >= c[0] && i < c[0] + c[1] ? 0 : (byte) 0x5A;
                    if (s.get(JAVA_BYTE, i) != want) fail("offset " + c[0] + " length " + c[1] + ": byte " + i + " is " + s.get(JAVA_BYTE, i));
                }
            }
            s.fill((byte) 1);
            Zero.fill(s.asSlice(4096, 8192));
            assertEquals(1, s.get(JAVA_BYTE, 4095));
            assertEquals(0, s.get(JAVA_BYTE, 4096));
            assertEquals(0, s.get(JAVA_BYTE, 4096 + 8191));
            assertEquals(1, s.get(JAVA_BYTE, 4096 + 8192));
        }
    }

    @Test
    void refusesRangesOutsideTheSegmentAndWritesNothing() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8192, 8);
            s.fill((byte) 1);
            assertThrows(IndexOutOfBoundsException.class, () -> Zero.fill(s, 4096, 8192)); // loop path
            assertThrows(IndexOutOfBoundsException.class, () -> Zero.fill(s, 8000, 300));  // fill path
            assertThrows(IndexOutOfBoundsException.class, () -> Zero.fill(s, -8, 2048));
            for (long i = 0; i < s.byteSize(); i++) assertEquals(1, s.get(JAVA_BYTE, i), "byte " + i);
        }
    }
}
