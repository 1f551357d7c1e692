package io.dsf.stargate.core;

import io.dsf.blockstore.backend.faulty.FaultInjector;
import io.dsf.blockstore.backend.faulty.FaultyBlockDevice;
import io.dsf.blockstore.backend.faulty.IoOp;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.IoError;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.dsf.stargate.core.StargateBasicTest.pattern;
import static io.dsf.stargate.core.StargateBasicTest.sync;
import static io.dsf.stargate.core.StargateBasicTest.zero;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Reads into memory registered with {@link Stargate#registerMemory}: the store reads straight into
 * the caller's buffer (no bounce buffer), the Unified Cache is filled from there, and every
 * guarantee of the bounce path holds: right data from every source, coherent with writes, a
 * checksum failure reported with nothing cached, and memory the device refuses served anyway.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DirectReadTest {
    private static final StargateOptions ONE = StargateBasicTest.SMALL.withShards(1).withCacheBytes(64L << 20);

    @Test
    void readsIntoRegisteredMemoryFillTheCacheFromThereAndFollowWrites() throws Exception {
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open("mem:256m");
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, ONE);
            VDisk d = sg.create("d", 64L << 20);
            VDiskController vc = sg.controller("d");
            MemorySegment region = a.allocate(4L << 20, 4096);
            sg.registerMemory(region);
            MemorySegment r = region.asSlice(1L << 20, 1 << 20); // not at the region's start
            MemorySegment p1 = pattern(a, 1 << 20, 1);
            assertEquals(0, sync(d, true, 0, p1, 1 << 20));
            sg.drain("d");

            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1), "first read: from the Extent Store into the caller's memory");
            assertEquals(1, vc.counters().directReads);
            r.fill((byte) 0);
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            assertEquals(256, vc.counters().cacheFills, "second misses filled from the caller's buffer");

            region.fill((byte) 0x5A); // the caller reuses its buffer: the cache holds its own copy
            long hits0 = vc.counters().cacheHits;
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1), "cache hits copied into the caller's memory");
            assertEquals(hits0 + 256, vc.counters().cacheHits);

            // an overwrite drained in place, one left in the OpLog, one zeroed: a read mixes the sources
            MemorySegment p2 = pattern(a, 4096, 2), p3 = pattern(a, 4096, 3);
            assertEquals(0, sync(d, true, 2 * 4096, p2, 4096));
            sg.drain("d");
            assertEquals(0, sync(d, true, 5 * 4096, p3, 4096));
            assertEquals(0, zero(d, 9 * 4096, 4096));
            MemorySegment expect = a.allocate(1 << 20, 4096);
            expect.copyFrom(p1);
            expect.asSlice(2 * 4096, 4096).copyFrom(p2);
            expect.asSlice(5 * 4096, 4096).copyFrom(p3);
            expect.asSlice(9 * 4096, 4096).fill((byte) 0);
            region.fill((byte) 0x5A);
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(expect), "OpLog, cache, zeros and Extent Store blocks in the caller's memory");
            sg.drain("d");
            region.fill((byte) 0x5A);
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(expect), "after the drain: never a stale cached block");

            // a buffer outside every registered region goes through a bounce buffer, as before
            long direct = vc.counters().directReads;
            MemorySegment other = a.allocate(1 << 20, 4096);
            assertEquals(0, sync(d, false, 0, other, 1 << 20));
            assertEquals(-1, other.mismatch(expect));
            assertEquals(direct, vc.counters().directReads);
            sg.close();
            store.close();
            dev.close();
        }
    }

    @Test
    void aChecksumFailureOnADirectReadIsReportedAndNothingIsCached() throws Exception {
        try (Arena a = Arena.ofShared(); Drained f = new Drained(a, "direct-crc", 4)) {
            FaultInjector inj = f.inj;
            VDisk d = f.d;
            VDiskController vc = f.vc;
            MemorySegment r = f.r, p1 = f.p1;

            var rule = inj.corruptReadsIn(0, f.dev.geometry().capacity());
            for (int i = 0; i < 2; i++) // the second miss of each block would be admitted
                assertEquals(VDiskStatus.MEDIUM_ERROR, sync(d, false, 0, r, 1 << 20), "read " + i + " reports the corruption");
            assertTrue(inj.corruptedReads() > 0);
            assertEquals(2, vc.counters().directReads);
            assertEquals(0, vc.counters().cacheFills, "nothing of a failed read is cached");
            inj.disarm(rule);
            long hits0 = vc.counters().cacheHits;
            for (int i = 0; i < 3; i++) {
                r.fill((byte) 0);
                assertEquals(0, sync(d, false, 0, r, 1 << 20));
                assertEquals(-1, r.mismatch(p1), "read " + i + " after the device reads clean");
            }
            assertEquals(256, vc.counters().cacheFills);
            assertEquals(hits0 + 256, vc.counters().cacheHits, "only what was read clean was cached and served");
        }
    }

    @Test
    void memoryTheDeviceRefusesIsReadThroughABounceBuffer() throws Exception {
        try (Arena a = Arena.ofShared(); Drained f = new Drained(a, "direct-refused", 5)) {
            FaultInjector inj = f.inj;
            VDisk d = f.d;
            VDiskController vc = f.vc;
            MemorySegment r = f.r, p1 = f.p1;

            inj.failNext(IoOp.READ, IoError.BAD_BUFFER, 1); // as spdk: refuses memory it did not hand out
            assertEquals(0, sync(d, false, 0, r, 1 << 20), "the refused read is done again through a bounce buffer");
            assertEquals(-1, r.mismatch(p1));
            assertEquals(1, inj.injectedErrors());
            assertEquals(1, vc.counters().directReads);
            r.fill((byte) 0);
            assertEquals(0, sync(d, false, 0, r, 1 << 20));
            assertEquals(-1, r.mismatch(p1));
            assertEquals(1, vc.counters().directReads, "the refused region is not used directly again");
        }
    }

    /**
     * A one-shard vDisk on a {@code faulty:} device over {@code mem:}, its first MiB written with
     * {@code pattern(seed)} and drained to the Extent Store, and a 1 MiB buffer registered with
     * Stargate; closing it closes Stargate, the store and the device.
     */
    private static final class Drained implements AutoCloseable {
        final BlockDevice dev;
        final FaultInjector inj;
        final BlockStore store;
        final Stargate sg;
        final VDisk d;
        final VDiskController vc;
        final MemorySegment r, p1;

        Drained(Arena a, String name, int seed) throws Exception {
            dev = BlockDevices.open("faulty:none,name=" + name + ":mem:256m");
            inj = FaultyBlockDevice.injector(name);
            store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            sg = Stargate.open(dev, store, ONE);
            d = sg.create("d", 64L << 20);
            vc = sg.controller("d");
            r = a.allocate(1 << 20, 4096);
            sg.registerMemory(r);
            p1 = pattern(a, 1 << 20, seed);
            assertEquals(0, sync(d, true, 0, p1, 1 << 20));
            sg.drain("d");
        }

        @Override
        public void close() {
            sg.close();
            store.close();
            dev.close();
        }
    }
}
