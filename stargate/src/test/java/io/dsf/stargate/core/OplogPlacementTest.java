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
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static io.dsf.stargate.core.StargateBasicTest.sync;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Where OpLog batches go in a segment: packed one after another, a batch that does not fit the
 * rest of its allocation unit starting the next one; and recovery finds them all again.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OplogPlacementTest {
    /** One shard, no drain during the test (the OpLog is large and the idle drain far off). */
    private static final StargateOptions OPTS = StargateOptions.defaults().withShards(1)
            .withOplog(8L << 20, 128L << 20).withIdle("backoff").withIdleDrainDelay(TimeUnit.SECONDS.toNanos(60));

    /**
     * QD1 writes make one small batch each (a header page and one data page). They fill each unit
     * to its end; placing every batch as if it were the largest possible one left the second half
     * of every 1 MiB unit unused (as many gap bytes as batch bytes).
     */
    @Test
    void smallBatchesFillWholeUnits() throws Exception {
        BlockDevice dev = BlockDevices.open("mem:256m");
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, OPTS);
        try (Arena a = Arena.ofShared()) {
            VDisk d = sg.create("p", 16L << 20);
            MemorySegment buf = a.allocate(4096, 4096);
            SplittableRandom rnd = new SplittableRandom(5);
            int writes = 1000;
            for (int w = 0; w < writes; w++) {
                buf.set(ValueLayout.JAVA_INT, 0, w);
                assertEquals(VDiskStatus.OK, sync(d, true, (long) rnd.nextInt(4096) * 4096, buf, 4096));
            }
            VDiskController.Counters c = sg.controller("p").counters();
            assertEquals(writes, c.batches, "one batch per QD1 write: " + c);
            assertEquals((long) writes * 2 * 4096, c.batchBytes, c.toString());
            assertEquals(0, c.drainRounds, "nothing drained during the test: " + c);
            // 8 KiB batches fill a 1 MiB unit exactly: no gap at all
            assertEquals(0, c.batchGapBytes, "segment space left unused: " + c);
        } finally {
            sg.close();
            store.close();
            dev.close();
        }
    }

    /**
     * Writes of mixed sizes (4 KiB to 256 KiB, QD1: a batch each) leave gaps where a batch did not
     * fit the rest of its unit. Closed without a drain and opened again, the OpLog replays every
     * batch, those after a gap included: every block reads its newest data.
     */
    @Test
    void batchesAfterAUnitGapReplay(@TempDir Path dir) throws Exception {
        String uri = "file:" + dir.resolve("place.img") + "?size=256m";
        long size = 16L << 20;
        int blocks = (int) (size >>> 12);
        int[] last = new int[blocks];
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open(uri);
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, OPTS);
            VDisk d = sg.create("p", size);
            MemorySegment buf = a.allocate(256 << 10, 4096);
            SplittableRandom rnd = new SplittableRandom(9);
            int w = 0;
            VDiskController.Counters c;
            do {
                w++;
                int n = 1 + rnd.nextInt(64);
                int first = rnd.nextInt(blocks - n + 1);
                for (int k = 0; k < n; k++) {
                    buf.set(ValueLayout.JAVA_INT, (long) k << 12, w);
                    buf.set(ValueLayout.JAVA_INT, ((long) k << 12) + 4, first + k);
                    last[first + k] = w;
                }
                assertEquals(VDiskStatus.OK, sync(d, true, (long) first << 12, buf, n << 12));
                c = sg.controller("p").counters();
            } while (c.batchBytes < (20L << 20)); // past two segments' worth: gaps in many units, segment changes
            assertTrue(c.batchGapBytes > 0, "no batch started a new unit: " + c);
            assertTrue(c.batchGapBytes * 8 < c.batchBytes, "gaps are the rest of a unit a batch did not fit: " + c);
            assertEquals(0, c.drainRounds, c.toString());
            check(d, a, last);
            sg.close(); // no drain: everything is in the OpLog
            store.close();
            dev.close();

            dev = BlockDevices.open(uri);
            store = BlockStore.open(dev);
            sg = Stargate.open(dev, store, OPTS);
            try {
                d = sg.vdisk("p");
                c = sg.controller("p").counters();
                long written = java.util.Arrays.stream(last).filter(x -> x > 0).count();
                assertEquals(written * 4096, c.oplogBytes, "every written block is in the replayed OpLog index");
                check(d, a, last);
                sg.drain("p");
                assertEquals(0, sg.controller("p").counters().oplogBytes);
                check(d, a, last);
            } finally {
                sg.close();
                store.close();
                dev.close();
            }
        }
    }

    private static void check(VDisk d, Arena a, int[] last) throws Exception {
        MemorySegment one = a.allocate(4096, 4096);
        for (int b = 0; b < last.length; b++) {
            assertEquals(VDiskStatus.OK, sync(d, false, (long) b << 12, one, 4096));
            assertEquals(last[b], one.get(ValueLayout.JAVA_INT, 0), "block " + b);
            if (last[b] > 0) assertEquals(b, one.get(ValueLayout.JAVA_INT, 4), "block " + b);
        }
    }
}
