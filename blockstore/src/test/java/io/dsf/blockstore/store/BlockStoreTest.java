package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Object operations, data integrity, persistence across close/reopen, and typed errors. */
@Timeout(60)
class BlockStoreTest {
    static final FormatOptions SMALL = FormatOptions.DEFAULTS.withUnitSize(64 << 10).withJournalBytes(256 << 10).withMaxObjects(256);

    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void cleanup() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) toClose.get(i).close();
    }

    /** The device URI the tests run on ({@code SIZE} is replaced); subclasses run them on other backends. */
    protected String uriTemplate() { return "file:" + tmp.resolve("dev") + "?size=SIZE"; }

    BlockDevice file(String size) {
        BlockDevice d = BlockDevices.open(uriTemplate().replace("SIZE", size));
        toClose.add(d);
        return d;
    }

    @Test
    void memoryOnlyStoreOnNull() {
        try (BlockDevice dev = BlockDevices.open("null:1g"); BlockStore s = BlockStore.format(dev, FormatOptions.DEFAULTS)) {
            assertTrue(s.memoryOnly());
            StoreObject o = s.create(0, 4 << 20, Map.of());
            try (StoreChannel ch = s.openChannel(4, (t, st) -> { })) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                fill(b, 1, 64 << 10);
                ch.writeBlocking(o, 0, b, 64 << 10);
                ch.readBlocking(o, 0, b, 64 << 10); // the device returns zeros: no verification on null:
                ch.syncBlocking();
            }
            assertEquals(1, s.stats().usedUnits());
            StoreException e = assertThrows(StoreException.class, () -> BlockStore.open(dev));
            assertTrue(e.getMessage().contains("keeps nothing"), e.getMessage());
        }
    }

    /** Whether opening the URI again finds what an earlier open wrote (not so for {@code mem:}). */
    protected boolean persistsAcrossOpens() { return true; }

    @Test
    void toolFormatsAndReports() {
        org.junit.jupiter.api.Assumptions.assumeTrue(persistsAcrossOpens(), "each open of this URI is a new device");
        java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
        String uri = uriTemplate().replace("SIZE", "32m");
        assertEquals(0, BlockStoreTool.format(uri, FormatOptions.parse("unit=64k,journal=256k"), new java.io.PrintStream(bo, true)));
        assertTrue(bo.toString().contains("unit 64KiB"), bo.toString());
        bo.reset();
        assertEquals(0, BlockStoreTool.info(uri, new java.io.PrintStream(bo, true)));
        assertTrue(bo.toString().contains("objects          0"), bo.toString());
        bo.reset();
        assertEquals(0, BlockStoreTool.check(uri, new java.io.PrintStream(bo, true)));
        assertTrue(bo.toString().contains("clean"), bo.toString());
    }

    static void fill(MemorySegment b, long seed, int len) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < len; i += 8) b.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong());
    }

    static byte[] bytes(MemorySegment b, int len) { return b.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE); }

    @Test
    void writeReadSyncReopen() {
        BlockDevice dev = file("64m");
        byte[] expect;
        long id;
        try (BlockStore s = BlockStore.format(dev, SMALL)) {
            StoreObject o = s.create(0, 1 << 20, Map.of("kind", "egroup".getBytes(StandardCharsets.UTF_8)));
            id = o.id();
            try (StoreChannel ch = s.openChannel(8, (t, st) -> { })) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                fill(b, 42, 64 << 10);
                ch.writeBlocking(o, 128 << 10, b, 64 << 10);
                expect = bytes(b, 64 << 10);
                b.fill((byte) 0x5A);
                ch.readBlocking(o, 128 << 10, b, 64 << 10);
                assertArrayEquals(expect, bytes(b, 64 << 10));
                ch.readBlocking(o, 0, b, 8192);
                assertArrayEquals(new byte[8192], bytes(b, 8192), "never-written slices read as zeros");
                ch.syncBlocking();
            }
            assertEquals(1, s.stats().usedUnits());
        }
        try (BlockStore s = BlockStore.open(dev)) {
            StoreObject o = s.object(id);
            assertEquals(1 << 20, o.size());
            assertEquals("egroup", new String(s.attribute(o, "kind"), StandardCharsets.UTF_8));
            try (StoreChannel ch = s.openChannel(8, (t, st) -> { })) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                ch.readBlocking(o, 128 << 10, b, 64 << 10);
                assertArrayEquals(expect, bytes(b, 64 << 10));
            }
            StoreStats st = s.stats();
            assertEquals(st.unitCount(), st.usedUnits() + st.freeUnits() + st.cachedUnits() + st.pendingFreeUnits());
        }
    }

    @Test
    void syncedWritesSurviveCrashWithoutClose() {
        BlockDevice dev = file("64m");
        BlockStore s = BlockStore.format(dev, SMALL);
        StoreObject o = s.create(7, 4 << 20, Map.of());
        byte[] expect;
        try (StoreChannel ch = s.openChannel(4, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            for (int i = 0; i < 40; i++) { // many commits: exercises checkpoints in a 64-page journal
                fill(b, i, 4096);
                ch.writeBlocking(o, (long) i * 69632 % (4 << 20) / 4096 * 4096, b, 4096);
                ch.syncBlocking();
            }
            fill(b, 1000, 64 << 10);
            ch.writeBlocking(o, 1 << 20, b, 64 << 10);
            expect = bytes(b, 64 << 10);
            ch.syncBlocking();
        }
        s.crashForTesting();
        try (BlockStore s2 = BlockStore.open(dev); StoreChannel ch = s2.openChannel(4, (t, st) -> { })) {
            StoreObject o2 = s2.object(7);
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            ch.readBlocking(o2, 1 << 20, b, 64 << 10);
            assertArrayEquals(expect, bytes(b, 64 << 10));
            assertTrue(s2.stats().checkpoint() > 2, "checkpoints were written");
        }
    }

    /**
     * A lone write on an idle channel logs its checksums as an INTENT beside the data. After a
     * crash, an intent whose data never reached the device must not make the slice fail its
     * checksum (it reads as never written), one whose data did keeps it, and an acknowledged
     * write stays.
     */
    @Test
    void intentsAreCheckedAgainstTheDataAfterACrash() {
        // The scenario needs both writes still logged as intents at the crash. A journal flush that
        // another channel's commit happens to issue in between confirms them (correctly: they are then
        // durable), so the set-up is tried again on a fresh store until the precondition holds.
        for (int attempt = 1; ; attempt++) {
            if (intentsCheckedAfterACrash(attempt == 20)) return;
        }
    }

    /** One try of the scenario above; false when a flush confirmed an intent before the crash (nothing asserted then). */
    private boolean intentsCheckedAfterACrash(boolean last) {
        BlockDevice dev = file("64m");
        BlockStore s = BlockStore.format(dev, SMALL);
        StoreObject o = s.create(9, 1 << 20, Map.of());
        byte[] acked, kept;
        boolean allPending = true;
        try (StoreChannel ch = s.openChannel(4, (t, st) -> { }); StoreChannel ch2 = s.openChannel(4, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            fill(b, 5, 4096);
            ch.writeBlocking(o, 8192, b, 4096);
            acked = bytes(b, 4096);
            ch.syncBlocking();
            fill(b, 6, 4096);
            ch.writeBlocking(o, 0, b, 4096);          // never synced; its data is lost below
            while (!s.journal.tokenFree()) ch.poll(16); // its journal page written: the commit token is free again
            MemorySegment b2 = ch2.buffers().buffer(ch2.buffers().acquire());
            fill(b2, 7, 4096);
            ch2.writeBlocking(o, 128 << 10, b2, 4096); // never synced; its data stays
            kept = bytes(b2, 4096);
            for (StoreChannel c : new StoreChannel[]{ch, ch2}) {
                boolean pending = c.intent() >= 0 && (c.intent() & StoreChannel.INTENT_DONE) != 0;
                if (!last) allPending &= pending;
                else assertTrue(pending, "the write was logged as an intent (20 tries): " + c.intent());
            }
        }
        if (!allPending) { // the channels are closed: start again on a fresh store
            s.close();
            return false;
        }
        s.crashForTesting();
        int unit = o.units[0] - 1;
        try (io.dsf.blockstore.store.meta.BlockingBatch io = new io.dsf.blockstore.store.meta.BlockingBatch(dev, 1)) {
            MemorySegment z = dev.allocateDma(8192).asSlice(0, 4096);
            io.write(s.layout().unitOffset(unit), z, 4096); // the data of the first intent never made it
            io.await();
            io.flush();
        }
        assertTrue(io.dsf.blockstore.store.check.StoreChecker.check(dev).problems().isEmpty(), "check of the crashed store is clean");
        try (BlockStore s2 = BlockStore.open(dev); StoreChannel ch = s2.openChannel(4, (t, st) -> { })) {
            StoreObject o2 = s2.object(9);
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            ch.readBlocking(o2, 0, b, 4096);
            assertArrayEquals(new byte[4096], bytes(b, 4096), "an intent without its data reads as never written");
            ch.readBlocking(o2, 128 << 10, b, 4096);
            assertArrayEquals(kept, bytes(b, 4096), "an intent whose data landed keeps it");
            ch.readBlocking(o2, 8192, b, 4096);
            assertArrayEquals(acked, bytes(b, 4096), "acknowledged data survives");
        }
        assertTrue(io.dsf.blockstore.store.check.StoreChecker.check(dev).problems().isEmpty(), "check after recovery is clean");
        return true;
    }

    @Test
    void resizeDeleteAndAttributes() {
        BlockDevice dev = file("64m");
        try (BlockStore s = BlockStore.format(dev, SMALL); StoreChannel ch = s.openChannel(4, (t, st) -> { })) {
            StoreObject o = s.create(0, 256 << 10, Map.of());
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            fill(b, 3, 64 << 10);
            ch.writeBlocking(o, 0, b, 64 << 10);
            ch.writeBlocking(o, 192 << 10, b, 64 << 10);
            assertEquals(2, o.allocatedUnits());
            s.resize(o, 8192); // shrink into the first unit: slices beyond read zeros after growing again
            assertEquals(1, o.allocatedUnits());
            s.resize(o, 256 << 10);
            ch.readBlocking(o, 0, b, 64 << 10);
            byte[] got = bytes(b, 64 << 10);
            fill(b, 3, 8192);
            byte[] head = bytes(b, 8192);
            for (int i = 0; i < 8192; i++) assertEquals(head[i], got[i]);
            for (int i = 8192; i < (64 << 10); i++) assertEquals(0, got[i], "byte " + i);
            s.setAttribute(o, "a", new byte[]{1});
            s.setAttribute(o, "b", new byte[]{2, 3});
            s.setAttribute(o, "a", null);
            assertNull(s.attribute(o, "a"));
            assertArrayEquals(new byte[]{2, 3}, s.attribute(o, "b"));
            assertThrows(IllegalArgumentException.class, () -> s.setAttribute(o, "big", new byte[230]));
            s.delete(o);
            assertNull(s.find(o.id()));
            assertEquals(StoreStatus.NO_OBJECT.code(), ch.write(o, 0, b, 4096, 1));
            s.sync();
            StoreStats st = s.stats();
            assertEquals(0, st.usedUnits());
            assertEquals(0, st.pendingFreeUnits(), "frees are durable after sync");
        }
    }

    @Test
    void badRequestsGetTypedStatus() {
        BlockDevice dev = file("64m");
        try (BlockStore s = BlockStore.format(dev, SMALL); StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
            StoreObject o = s.create(0, 64 << 10, Map.of());
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            assertEquals(StoreStatus.UNALIGNED.code(), ch.write(o, 100, b, 4096, 1));
            assertEquals(StoreStatus.UNALIGNED.code(), ch.write(o, 0, b, 100, 1));
            assertEquals(StoreStatus.OUT_OF_RANGE.code(), ch.write(o, 64 << 10, b, 4096, 1));
            assertEquals(StoreStatus.OUT_OF_RANGE.code(), ch.read(o, -4096, b, 4096, 1));
            assertEquals(StoreStatus.ZERO_LENGTH.code(), ch.read(o, 0, b, 0, 1));
            assertEquals(StoreStatus.BAD_BUFFER.code(), ch.write(o, 0, MemorySegment.ofArray(new byte[4096]), 4096, 1));
            assertEquals(StoreStatus.BAD_BUFFER.code(), ch.write(o, 0, null, 4096, 1));
            assertEquals(StoreStatus.NO_OBJECT.code(), ch.write(null, 0, b, 4096, 1));
            assertThrows(IllegalArgumentException.class, () -> s.create(0, 1000, Map.of()));
            assertThrows(StoreException.class, () -> s.create(o.id(), 4096, Map.of()));
            assertThrows(NoSuchObjectException.class, () -> s.object(12345));
        }
    }

    @Test
    void outOfSpaceIsTypedAndStoreStaysConsistent() {
        BlockDevice dev = file("8m");
        try (BlockStore s = BlockStore.format(dev, SMALL); StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
            int units = s.layout().unitCount;
            StoreObject o = s.create(0, (long) (units + 4) * (64 << 10), Map.of());
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            fill(b, 9, 4096);
            int written = 0;
            OutOfSpaceException oos = null;
            for (int i = 0; i < units + 4; i++) {
                try {
                    ch.writeBlocking(o, (long) i * (64 << 10), b, 4096);
                    written++;
                } catch (OutOfSpaceException e) {
                    oos = e;
                    break;
                }
            }
            assertNotNull(oos);
            assertEquals(units, written);
            ch.syncBlocking();
            s.delete(o);
            s.sync();
            StoreObject o2 = s.create(0, 64 << 10, Map.of());
            ch.writeBlocking(o2, 0, b, 4096); // space is back once the delete is durable
        }
        try (BlockStore s = BlockStore.open(dev)) {
            assertEquals(1, s.stats().usedUnits());
        }
    }
}
