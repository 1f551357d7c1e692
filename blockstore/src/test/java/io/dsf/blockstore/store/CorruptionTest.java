package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.format.Crc;
import io.dsf.blockstore.store.format.LE;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.Superblock;
import io.dsf.blockstore.store.meta.StoreLoader;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damage on the device — data slices, metadata pages, the journal, one superblock copy, another
 * format version — is detected, reported precisely by check (non-zero exit), and never read back
 * as wrong data; what is repairable is repaired by open; info and check never write.
 */
@Timeout(60)
class CorruptionTest {
    static final FormatOptions OPTS = FormatOptions.DEFAULTS.withUnitSize(64 << 10).withJournalBytes(256 << 10).withMaxObjects(64);

    @TempDir
    Path tmp;
    Path file;
    String uri;
    final byte[][] written = new byte[4][];

    @BeforeEach
    void makeStore() {
        file = tmp.resolve("dev");
        uri = "file:" + file;
        try (BlockDevice dev = BlockDevices.open(uri + "?size=32m")) {
            try (BlockStore s = BlockStore.format(dev, OPTS); StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
                StoreObject o = s.create(11, 256 << 10, Map.of("k", new byte[]{1}));
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                for (int i = 0; i < 4; i++) {
                    BlockStoreTest.fill(b, 100 + i, 4096);
                    ch.writeBlocking(o, (long) i * (64 << 10), b, 4096);
                    written[i] = BlockStoreTest.bytes(b, 4096);
                }
                ch.syncBlocking();
            }
        }
    }

    String run(int expectExit, java.util.function.BiFunction<String, PrintStream, Integer> tool) {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        int rc = tool.apply(uri, new PrintStream(bo, true, StandardCharsets.UTF_8));
        String out = bo.toString(StandardCharsets.UTF_8);
        assertEquals(expectExit, rc, out);
        return out;
    }

    StoreLoader.Result load() {
        try (BlockDevice dev = BlockDevices.open(uri)) {
            return StoreLoader.load(dev);
        }
    }

    void flip(long offset) throws IOException {
        try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            fc.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x10));
            b.rewind();
            fc.write(b, offset);
        }
    }

    String digest() throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void cleanStoreChecksCleanAndToolsNeverWrite() throws Exception {
        String before = digest();
        long mtime = Files.getLastModifiedTime(file).toMillis();
        String info = run(0, BlockStoreTool::info);
        assertTrue(info.contains("objects          1"), info);
        String check = run(0, BlockStoreTool::check);
        assertTrue(check.contains("verified 4 data slices") && check.contains("clean"), check);
        assertEquals(before, digest());
        assertEquals(mtime, Files.getLastModifiedTime(file).toMillis());
    }

    @Test
    void dataSliceCorruptionIsReportedAndNeverReadSilently() throws Exception {
        StoreLoader.Result r = load();
        int unit = -1;
        for (int u = 0; u < r.image.layout.unitCount; u++) if (r.image.unitOwner[u] != 0 && r.image.unitIndex[u] == 2) unit = u;
        long devOff = r.image.layout.unitOffset(unit) + 100;
        flip(devOff);
        String check = run(1, BlockStoreTool::check);
        assertTrue(check.contains("object 11 offset " + (2 * (64 << 10))) && check.contains("checksum mismatch"), check);
        String before = digest();
        run(1, BlockStoreTool::check);
        assertEquals(before, digest(), "check never writes");
        try (BlockDevice dev = BlockDevices.open(uri); BlockStore s = BlockStore.open(dev); StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            ChecksumException e = assertThrows(ChecksumException.class, () -> ch.readBlocking(s.object(11), 2 * (64 << 10), b, 4096));
            assertEquals(11, e.objectId());
            assertEquals(2 * (64 << 10), e.offset());
            assertEquals(uri, e.device());
            ch.readBlocking(s.object(11), 64 << 10, b, 4096); // the neighbours still read fine
            assertEquals(HexFormat.of().formatHex(written[1]), HexFormat.of().formatHex(BlockStoreTest.bytes(b, 4096)));
        }
    }

    @Test
    void asyncReadReportsChecksumStatus() throws Exception {
        StoreLoader.Result r = load();
        int unit = -1;
        for (int u = 0; u < r.image.layout.unitCount; u++) if (r.image.unitOwner[u] != 0 && r.image.unitIndex[u] == 0) unit = u;
        flip(r.image.layout.unitOffset(unit) + 4000);
        try (BlockDevice dev = BlockDevices.open(uri); BlockStore s = BlockStore.open(dev)) {
            int[] got = {1};
            long[] tag = {0};
            try (StoreChannel ch = s.openChannel(2, (t, st) -> { tag[0] = t; got[0] = st; })) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                assertEquals(0, ch.read(s.object(11), 0, b, 8192, 77));
                while (got[0] == 1) ch.await(4, 1_000_000_000L);
                assertEquals(77, tag[0]);
                assertEquals(StoreStatus.CHECKSUM.code(), got[0]);
                assertEquals(11, ch.lastChecksumObject());
                assertEquals(0, ch.lastChecksumOffset());
            }
        }
    }

    @Test
    void badSuperblockCopyIsReportedThenRepairedByOpen() throws Exception {
        for (long off : new long[]{0, (32L << 20) - Layout.PAGE}) {
            flip(off + 200);
            String check = run(1, BlockStoreTool::check);
            assertTrue(check.contains(off == 0 ? "superblock copy A" : "superblock copy B") && check.contains("checksum mismatch"), check);
            run(0, BlockStoreTool::info);
            try (BlockDevice dev = BlockDevices.open(uri); BlockStore s = BlockStore.open(dev)) {
                assertEquals(256 << 10, s.object(11).size());
            }
            run(0, BlockStoreTool::check);
        }
    }

    @Test
    void metadataPageCorruptionIsReportedAndOpenRefuses() throws Exception {
        StoreLoader.Result r = load();
        long e = r.image.genTable[0]; // object table page 0 is in use
        assertTrue(e != 0);
        long off = r.image.layout.slotOffset(0, (int) (e & 1)) + 64;
        flip(off);
        String check = run(1, BlockStoreTool::check);
        assertTrue(check.contains("metadata page 0 (object table) slot " + (e & 1)) && check.contains("checksum mismatch"), check);
        try (BlockDevice dev = BlockDevices.open(uri)) {
            CorruptStoreException ex = assertThrows(CorruptStoreException.class, () -> BlockStore.open(dev));
            assertTrue(ex.getMessage().contains("metadata page 0"), ex.getMessage());
        }
        // the generation table itself
        flip(off);
        run(0, BlockStoreTool::check);
        long g = r.superblock.generation();
        flip(r.image.layout.slotOffset(r.image.layout.firstGenPage, (int) (g & 1)) + 100);
        check = run(1, BlockStoreTool::check);
        assertTrue(check.contains("generation table"), check);
    }

    @Test
    void journalDamageBeforeALaterCommitIsDetected() throws Exception {
        // several commits left in the journal by a crash (no closing checkpoint)
        try (BlockDevice dev = BlockDevices.open(uri)) {
            BlockStore s = BlockStore.open(dev);
            try (StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
                MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
                for (int i = 0; i < 3; i++) {
                    BlockStoreTest.fill(b, 500 + i, 4096);
                    ch.writeBlocking(s.object(11), (long) i * 4096 + 8192, b, 4096);
                    ch.syncBlocking();
                }
            }
            s.crashForTesting();
        }
        StoreLoader.Result r = load();
        assertEquals(3, r.replayedPages, r.journalEnd);
        run(0, BlockStoreTool::check);
        Layout l = r.superblock.layout();
        long firstPage = l.journalPageOffset(l.ringIndex(r.superblock.replaySeq()));
        flip(firstPage + 40);
        String check = run(1, BlockStoreTool::check);
        assertTrue(check.contains("journal page seq " + r.superblock.replaySeq()) && check.contains("later commit"), check);
        try (BlockDevice dev = BlockDevices.open(uri)) {
            assertThrows(CorruptStoreException.class, () -> BlockStore.open(dev));
        }
        // damage in the last commit only looks like a torn tail: the store opens without it
        flip(firstPage + 40);
        long lastPage = l.journalPageOffset(l.ringIndex(r.superblock.replaySeq() + 2));
        flip(lastPage + 40);
        run(0, BlockStoreTool::check);
    }

    /** The previous format (v1 journal pages have a shorter header): a store of it is refused, not misread. */
    static final int OTHER_VERSION = Superblock.VERSION - 1;

    @Test
    void anotherFormatVersionIsRefusedWithAMessage() throws Exception {
        for (long off : new long[]{0, (32L << 20) - Layout.PAGE}) {
            try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer bb = ByteBuffer.allocate(Layout.PAGE);
                fc.read(bb, off);
                byte[] p = bb.array();
                LE.i32(p, 8, OTHER_VERSION);
                LE.i32(p, Superblock.CRC_OFF, Crc.ofPage(p, Layout.PAGE, Superblock.CRC_OFF));
                fc.write(ByteBuffer.wrap(p), off);
            }
        }
        try (BlockDevice dev = BlockDevices.open(uri)) {
            FormatVersionException e = assertThrows(FormatVersionException.class, () -> BlockStore.open(dev));
            assertTrue(e.getMessage().contains("version " + OTHER_VERSION) && e.getMessage().contains("version " + Superblock.VERSION), e.getMessage());
        }
        String check = run(1, BlockStoreTool::check);
        assertTrue(check.contains("format version " + OTHER_VERSION), check);
    }

    @Test
    void corruptionInjectedByTheFaultyBackendIsDetected() {
        StoreLoader.Result r = load();
        Layout l = r.image.layout;
        String units = "offset=" + l.firstUnitOffset + "-" + (l.firstUnitOffset + (long) l.unitCount * l.unitSize);
        // reads that come back with a flipped bit: typed error, never the wrong bytes
        try (BlockDevice dev = BlockDevices.open("faulty:corrupt-read," + units + ":" + uri); BlockStore s = BlockStore.open(dev);
             StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            for (int i = 0; i < 4; i++) {
                long off = (long) i * (64 << 10);
                ChecksumException e = assertThrows(ChecksumException.class, () -> ch.readBlocking(s.object(11), off, b, 4096));
                assertEquals(off, e.offset());
            }
        }
        // writes stored with a flipped bit: the next read (on a healthy path) and check both catch them
        try (BlockDevice dev = BlockDevices.open("faulty:corrupt-write," + units + ":" + uri); BlockStore s = BlockStore.open(dev);
             StoreChannel ch = s.openChannel(2, (t, st) -> { })) {
            MemorySegment b = ch.buffers().buffer(ch.buffers().acquire());
            BlockStoreTest.fill(b, 77, 4096);
            ch.writeBlocking(s.object(11), 3 * 4096, b, 4096); // a first write: no arming, stored damaged
            ch.syncBlocking();
            assertThrows(ChecksumException.class, () -> ch.readBlocking(s.object(11), 3 * 4096, b, 4096));
        }
        String check = run(1, BlockStoreTool::check);
        assertTrue(check.contains("object 11 offset " + 3 * 4096) && check.contains("checksum mismatch"), check);
    }

    @Test
    void toolsReportDevicesThatAreNotStores() {
        uri = "file:" + tmp.resolve("blank") + "?size=16m";
        String out = run(1, BlockStoreTool::check);
        assertTrue(out.contains("blank"), out);
        run(1, BlockStoreTool::info);
        uri = "nosuch:thing";
        run(2, BlockStoreTool::check);
        uri = "file:" + tmp.resolve("tiny") + "?size=64k";
        run(2, (u, o) -> BlockStoreTool.format(u, o));
    }
}
