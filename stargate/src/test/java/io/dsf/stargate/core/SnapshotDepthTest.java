package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static io.dsf.stargate.core.StargateBasicTest.*;
import static org.junit.jupiter.api.Assertions.*;

/** A read costs the same number of block-map lookups at snapshot depth 0 and 100: maps are flat copies. */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SnapshotDepthTest {
    @Test
    void readCostDoesNotGrowWithSnapshotDepth() throws Exception {
        BlockDevice dev = BlockDevices.open("mem:1g");
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS.withMaxObjects(8192));
        Stargate sg = Stargate.open(dev, store, SMALL.withShards(1).withIdle("block")); // 101 vDisks: idle shards must sleep
        try (Arena a = Arena.ofShared()) {
            long size = 64L << 20;
            VDisk d = sg.create("d", size);
            MemorySegment buf = a.allocate(1 << 20, 4096);
            for (long off = 0; off < size; off += 1 << 20) {
                buf.fill((byte) (off >>> 20));
                assertEquals(0, sync(d, true, off, buf, 1 << 20));
            }
            sg.drain("d");
            long atDepth0 = lookupsFor(sg, d, a, 7);
            SplittableRandom rnd = new SplittableRandom(3);
            MemorySegment one = a.allocate(4096, 4096);
            for (int i = 0; i < 100; i++) {
                sg.snapshot("d", "s" + i);
                one.fill((byte) (100 + i));
                assertEquals(0, sync(d, true, (long) rnd.nextInt((int) (size / 4096)) * 4096, one, 4096));
            }
            sg.drain("d");
            long atDepth100 = lookupsFor(sg, d, a, 7);
            assertEquals(atDepth0, atDepth100, "block-map lookups for the same 500 reads at depth 0 and at depth 100");
            // and the deepest snapshot still reads its own point in time
            assertEquals(0, sync(sg.vdisk("s0"), false, 5L << 20, buf, 4096));
            assertEquals(5, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        } finally {
            sg.close();
            store.close();
            dev.close();
        }
    }

    static long lookupsFor(Stargate sg, VDisk d, Arena a, long seed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment buf = a.allocate(8192, 4096);
        long before = sg.controller(d.name()).counters().mapLookups;
        for (int i = 0; i < 500; i++) assertEquals(0, sync(d, false, (long) rnd.nextInt((int) (d.size() / 4096) - 1) * 4096, buf, 8192));
        return sg.controller(d.name()).counters().mapLookups - before;
    }
}
