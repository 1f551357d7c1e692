package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.format.Crc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes whose slice checksums the caller supplies and reads that report them: the store binds a
 * supplied CRC32C to the slice's place, so a correct one reads back (also after a reopen) and a wrong
 * one is caught by the read's verification; a read reports exactly the CRC32C of what it delivered.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SuppliedChecksumTest {
    static final FormatOptions SMALL = BlockStoreTest.SMALL;
    static final int S = 4096;

    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void cleanup() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) toClose.get(i).close();
    }

    private BlockDevice device() {
        BlockDevice d = BlockDevices.open("file:" + tmp.resolve("dev") + "?size=64m");
        toClose.add(d);
        return d;
    }

    /** Completion statuses by tag, filled on the channel's thread (this one). */
    private final long[] done = new long[64];
    private final int[] status = new int[64];

    private StoreChannel open(BlockStore s) {
        Arrays.fill(done, -1);
        return s.openChannel(8, (tag, st) -> {
            done[(int) tag] = tag;
            status[(int) tag] = st;
        });
    }

    private int await(StoreChannel ch, int submitted, int tag) {
        assertEquals(StoreChannel.ACCEPTED, submitted, StoreStatus.describe(submitted));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (done[tag] != tag && System.nanoTime() < deadline) ch.await(8, 10_000_000L);
        assertEquals(tag, done[tag], "request " + tag + " did not complete");
        done[tag] = -1;
        return status[tag];
    }

    private static int[] plainCrcs(MemorySegment b, int slices) {
        CRC32C c = new CRC32C();
        int[] r = new int[slices];
        for (int i = 0; i < slices; i++) {
            c.reset();
            c.update(b.asSlice((long) i * S, S).asByteBuffer());
            r[i] = (int) c.getValue();
        }
        return r;
    }

    @Test
    void carryingThePlaceOnEqualsTheSliceChecksumAndBlocksCombine() {
        CRC32C c = new CRC32C();
        byte[] a = new byte[S], b = new byte[S];
        SplittableRandom r = new SplittableRandom(3);
        for (int round = 0; round < 20; round++) {
            r.nextBytes(a);
            r.nextBytes(b);
            c.reset();
            c.update(a);
            int ca = (int) c.getValue();
            int unit = r.nextInt(1 << 20), slice = r.nextInt(256), gen = r.nextInt();
            assertEquals(Crc.ofSlice(c, ByteBuffer.wrap(a), unit, slice, gen, new byte[12]), Crc.slice(ca, unit, slice, gen));
            c.reset();
            c.update(b);
            int cb = (int) c.getValue();
            c.reset();
            c.update(a);
            c.update(b);
            assertEquals((int) c.getValue(), Crc.append4k(ca, cb), "CRC32C(a||b) from the parts");
        }
    }

    @Test
    void suppliedChecksumsReadBackAndReadsReportThem() {
        BlockDevice dev = device();
        long id;
        byte[] expect;
        try (BlockStore s = BlockStore.format(dev, SMALL)) {
            StoreObject o = s.create(0, 1 << 20, Map.of());
            id = o.id();
            try (StoreChannel ch = open(s)) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                BlockStoreTest.fill(b, 7, 12 * S);
                expect = BlockStoreTest.bytes(b, 12 * S);
                int[] crcs = new int[16];
                System.arraycopy(plainCrcs(b, 12), 0, crcs, 4, 12);
                assertEquals(0, await(ch, ch.write(o, 64 * S, b, 12 * S, 1, crcs, 4), 1));
                b.fill((byte) 0x33);
                int[] got = new int[20];
                Arrays.fill(got, 0x5A5A5A5A);
                // 4 never-written slices, then the 12 written ones
                assertEquals(0, await(ch, ch.read(o, 60 * S, b, 16 * S, 2, got, 2), 2));
                int[] zero = plainCrcs(MemorySegment.ofArray(new byte[S]), 1);
                for (int i = 0; i < 4; i++) assertEquals(zero[0], got[2 + i], "never-written slice " + i);
                assertArrayEquals(Arrays.copyOfRange(crcs, 4, 16), Arrays.copyOfRange(got, 6, 18));
                assertArrayEquals(plainCrcs(b, 16), Arrays.copyOfRange(got, 2, 18), "the CRC32C of what was delivered");
                assertEquals(0x5A5A5A5A, got[1]);
                assertEquals(0x5A5A5A5A, got[18], "nothing written outside the request's slices");
                assertArrayEquals(expect, Arrays.copyOfRange(BlockStoreTest.bytes(b, 16 * S), 4 * S, 16 * S));
                ch.syncBlocking();
            }
        }
        try (BlockStore s = BlockStore.open(dev); StoreChannel ch = s.openChannel(4, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            ch.readBlocking(s.object(id), 64 * S, b, 12 * S);
            assertArrayEquals(expect, BlockStoreTest.bytes(b, 12 * S));
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertEquals(0, BlockStoreTool.check("file:" + tmp.resolve("dev") + "?size=64m", new java.io.PrintStream(out, true)), out.toString());
    }

    @Test
    void aWrongSuppliedChecksumIsCaughtOnRead() {
        BlockDevice dev = device();
        try (BlockStore s = BlockStore.format(dev, SMALL); StoreChannel ch = open(s)) {
            StoreObject o = s.create(0, 1 << 20, Map.of());
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            BlockStoreTest.fill(b, 9, 8 * S);
            int[] crcs = plainCrcs(b, 8);
            crcs[5] ^= 0x100; // one slice's checksum does not match its bytes
            assertEquals(0, await(ch, ch.write(o, 0, b, 8 * S, 1, crcs, 0), 1));
            assertEquals(0, await(ch, ch.read(o, 0, b, 5 * S, 2), 2), "slices with correct checksums read");
            assertEquals(StoreStatus.CHECKSUM.code(), await(ch, ch.read(o, 0, b, 8 * S, 3), 3));
            assertEquals(5L * S, ch.lastChecksumOffset());
            int[] got = new int[8];
            assertEquals(StoreStatus.CHECKSUM.code(), await(ch, ch.read(o, 4 * S, b, 2 * S, 4, got, 0), 4),
                    "a read reporting checksums verifies too");
            ChecksumException e = assertThrows(ChecksumException.class, () -> ch.readBlocking(o, 5 * S, b, S));
            assertTrue(e.getMessage().contains(String.valueOf(5L * S)), e.getMessage());
            // written again with computed checksums, the slice is good again
            BlockStoreTest.fill(b, 9, 8 * S);
            ch.writeBlocking(o, 5 * S, b.asSlice(5L * S), S);
            ch.readBlocking(o, 0, b, 8 * S);
        }
    }

    @Test
    void aTooShortChecksumArrayIsRefused() {
        BlockDevice dev = device();
        try (BlockStore s = BlockStore.format(dev, SMALL); StoreChannel ch = open(s)) {
            StoreObject o = s.create(0, 1 << 20, Map.of());
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            assertEquals(StoreStatus.BAD_BUFFER.code(), ch.write(o, 0, b, 4 * S, 1, new int[3], 0));
            assertEquals(StoreStatus.BAD_BUFFER.code(), ch.write(o, 0, b, 4 * S, 1, new int[8], 5));
            assertEquals(StoreStatus.BAD_BUFFER.code(), ch.write(o, 0, b, 4 * S, 1, new int[8], -1));
            assertEquals(StoreStatus.BAD_BUFFER.code(), ch.read(o, 0, b, 4 * S, 1, new int[2], 0));
            assertEquals(0, ch.inFlight(), "nothing submitted");
        }
    }
}
