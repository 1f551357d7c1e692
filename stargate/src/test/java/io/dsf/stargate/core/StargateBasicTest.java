package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StargateBasicTest {
    static final StargateOptions SMALL = StargateOptions.defaults().withShards(2)
            .withOplog(4L << 20, 16L << 20).withIdle("backoff");

    static int sync(VDisk d, boolean write, long off, MemorySegment buf, int len) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = write ? d.write(off, buf, len, 7, (t, s) -> f.complete(s)) : d.read(off, buf, len, 7, (t, s) -> f.complete(s));
        if (st != VDiskStatus.OK) return st;
        return f.get(30, TimeUnit.SECONDS);
    }

    static int zero(VDisk d, long off, long len) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = d.unmap(off, len, 1, (t, s) -> f.complete(s));
        if (st != VDiskStatus.OK) return st;
        return f.get(30, TimeUnit.SECONDS);
    }

    static MemorySegment pattern(Arena a, int len, int seed) {
        MemorySegment m = a.allocate(len, 4096);
        for (int i = 0; i < len; i += 4) m.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, i, seed * 31 + i);
        return m;
    }

    @Test
    void writeReadSnapshotCloneAndReopen(@TempDir Path dir) throws Exception {
        String uri = "file:" + dir.resolve("dev.img") + "?size=256m";
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open(uri);
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, SMALL);
            VDisk d = sg.create("disk1", 1L << 30);
            MemorySegment p1 = pattern(a, 1 << 20, 1), p2 = pattern(a, 8192, 2), r = a.allocate(1 << 20, 4096);
            // spans two vBlocks, hence two shards
            assertEquals(0, sync(d, true, (1 << 20) - 8192, p1, 1 << 20));
            assertEquals(0, sync(d, true, 5L << 20, p2, 8192));
            assertEquals(0, sync(d, false, (1 << 20) - 8192, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            // a buffer the shard thread cannot touch fails that request only
            try (Arena confined = Arena.ofConfined()) {
                MemorySegment c = confined.allocate(4096, 4096);
                assertEquals(VDiskStatus.INVALID, sync(d, true, 0, c, 4096));
                assertEquals(VDiskStatus.INVALID, sync(d, false, 0, c, 4096));
            }
            assertEquals(0, sync(d, false, (1 << 20) - 8192, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            // errors: unaligned, out of range
            assertEquals(VDiskStatus.INVALID, d.write(100, p2, 4096, 0, (t, s) -> { }));
            assertEquals(VDiskStatus.OUT_OF_RANGE, d.write(1L << 30, p2, 4096, 0, (t, s) -> { }));
            // snapshot, then overwrite the base: the snapshot keeps the old data
            sg.drain("disk1");
            VDisk snap = sg.snapshot("disk1", "snap1");
            assertTrue(snap.readOnly());
            MemorySegment p3 = pattern(a, 4096, 3);
            assertEquals(0, sync(d, true, 5L << 20, p3, 4096));
            sg.drain("disk1");
            MemorySegment rs = a.allocate(8192, 4096);
            assertEquals(0, sync(snap, false, 5L << 20, rs, 8192));
            assertEquals(-1, rs.mismatch(p2));
            assertEquals(0, sync(d, false, 5L << 20, rs, 4096));
            assertEquals(-1, rs.asSlice(0, 4096).mismatch(p3));
            assertEquals(VDiskStatus.READ_ONLY, sync(snap, true, 0, p3, 4096));
            VDisk clone = sg.clone("snap1", "clone1");
            assertEquals(0, sync(clone, false, 5L << 20, rs, 8192));
            assertEquals(-1, rs.mismatch(p2));
            assertEquals(0, zero(d, 0, 1L << 30));
            assertEquals(0, sync(d, false, (1 << 20) - 8192, r, 1 << 20));
            assertEquals(-1, r.mismatch(a.allocate(1 << 20)));
            assertEquals(3, sg.list().size());
            var st = sg.stats("disk1");
            assertEquals((1 << 20) + 8192 + 4096, st.total().write().bytes(), st.format());
            assertEquals(3 * (1 << 20) + 4096, st.total().read().bytes(), st.format());
            assertEquals(1L << 30, st.total().unmap().bytes(), st.format());
            assertEquals(2, st.total().errors(), st.format());
            assertTrue(st.total().write().p50Us() > 0, st.format());
            assertTrue(sg.statsJson().contains("\"disk1\""), sg.statsJson());
            assertEquals(0, sg.stats("disk1").interval().write().ops(), "a new interval starts empty");
            sg.close();
            store.close();
            dev.close();

            dev = BlockDevices.open(uri);
            store = BlockStore.open(dev);
            sg = Stargate.open(dev, store, SMALL);
            assertEquals(3, sg.list().size());
            snap = sg.vdisk("snap1");
            assertEquals(0, sync(snap, false, (1 << 20) - 8192, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            d = sg.vdisk("disk1");
            assertEquals(0, sync(d, false, (1 << 20) - 8192, r, 1 << 20));
            assertEquals(-1, r.mismatch(a.allocate(1 << 20)));
            sg.delete("snap1");
            sg.delete("clone1");
            sg.delete("disk1");
            assertEquals(0, sg.liveExtents());
            sg.close();
            store.close();
            dev.close();
        }
    }

    @Test
    void unifiedCacheServesRepeatedReadsAndFollowsWrites() throws Exception {
        cacheServesRepeatedReadsAndFollowsWrites(false);
    }

    @Test
    void unifiedCacheAdmitsOnTheSecondMissAndFollowsWrites() throws Exception {
        cacheServesRepeatedReadsAndFollowsWrites(true);
    }

    /** Reads of drained data go through the cache; with second-miss admission the first read only remembers the blocks. */
    private void cacheServesRepeatedReadsAndFollowsWrites(boolean secondMiss) throws Exception {
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open("mem:256m");
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, SMALL.withShards(1).withCacheBytes(64L << 20).withCacheSecondMissAdmission(secondMiss));
            VDisk d = sg.create("c", 64L << 20);
            VDiskController vc = sg.controller("c");
            MemorySegment p1 = pattern(a, 1 << 20, 1), r = a.allocate(1 << 20, 4096);
            assertEquals(0, sync(d, true, 0, p1, 1 << 20));
            sg.drain("c"); // now in the Extent Store: reads go through the cache
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            // 16 MiB for the shard: the 256 keys of a 1 MiB range take 1/16 of the ghost table (buckets of 4 do not overflow)
            if (secondMiss) {
                assertEquals(256, vc.counters().cacheAdmissionsDeferred, "first misses are only remembered");
                assertEquals(0, vc.counters().cacheFills, "nothing filled on a first miss");
                r.fill((byte) 0);
                assertEquals(0, sync(d, false, 0, r, 1 << 20));
                assertEquals(-1, r.mismatch(p1));
                assertEquals(256, vc.counters().cacheFills, "the second misses fill");
                assertEquals(256, vc.counters().cacheAdmissionsDeferred);
            } else {
                assertEquals(0, vc.counters().cacheAdmissionsDeferred);
                assertEquals(256, vc.counters().cacheFills, "every miss fills");
            }
            long hits0 = vc.counters().cacheHits;
            r.fill((byte) 0);
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            assertEquals(hits0 + 256, vc.counters().cacheHits, "a read after the fills is all cache hits");
            // an overwrite, drained in place: the cached copy must follow
            MemorySegment p2 = pattern(a, 4096, 2);
            assertEquals(0, sync(d, true, 8192, p2, 4096));
            sg.drain("c");
            assertEquals(0, sync(d, false, 8192, r, 4096));
            assertEquals(-1, r.asSlice(0, 4096).mismatch(p2));
            // zeroes: the cached copy must go
            assertEquals(0, zero(d, 8192, 4096));
            sg.drain("c");
            assertEquals(0, sync(d, false, 8192, r, 4096));
            assertEquals(-1, r.asSlice(0, 4096).mismatch(a.allocate(4096)));
            assertTrue(sg.stats("c").total().cacheHitRate() > (secondMiss ? 0.3 : 0.45), sg.stats("c").format());
            sg.close();
            store.close();
            dev.close();
        }
    }

    @Test
    void unusableBufferOnTheDirectPathFailsAloneAndLeavesNoState() throws Exception {
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open("mem:256m");
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            // bypass threshold 0: every write tries the Extent Store directly
            Stargate sg = Stargate.open(dev, store, SMALL.withShards(1).withBypassBytes(0));
            VDisk d = sg.create("x", 64L << 20);
            try (Arena confined = Arena.ofConfined()) {
                MemorySegment c = confined.allocate(8192, 4096);
                assertEquals(VDiskStatus.INVALID, sync(d, true, 0, c, 8192));
            }
            MemorySegment p1 = pattern(a, 8192, 5), r = a.allocate(8192, 4096);
            assertEquals(0, sync(d, true, 4096, p1, 8192)); // an overwrite-free direct write into the same vBlock
            sg.drain("x");                                  // hung when the failed write left state behind
            assertNotNull(sg.snapshot("x", "x-snap"));
            assertEquals(0, sync(d, false, 4096, r, 8192));
            assertEquals(-1, r.mismatch(p1));
            assertTrue(sg.controller("x").counters().bypassWrites > 0, "the direct path was taken");
            sg.close();
            store.close();
            dev.close();
        }
    }
}
