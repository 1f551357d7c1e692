package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static io.dsf.stargate.core.StargateBasicTest.sync;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Random overwrites of a vDisk whose extents exist are drained in span rounds: a stretch of the
 * OpLog read with one I/O, its live blocks written in place. A vBlock round reads each scattered
 * block on its own (one device read per drained block).
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DrainSpanTest {
    private static final StargateOptions OPTS = StargateOptions.defaults().withShards(1)
            .withOplog(4L << 20, 64L << 20).withIdle("backoff").withIdleDrainDelay(TimeUnit.MILLISECONDS.toNanos(200));

    @Test
    void randomOverwritesDrainWithOneReadPerStretch() throws Exception {
        DrainPacingTest.SlowDevice dev = new DrainPacingTest.SlowDevice(BlockDevices.open("mem:512m"));
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, OPTS);
        try (Arena a = Arena.ofShared()) {
            long size = 32L << 20;
            VDisk d = sg.create("s", size);
            MemorySegment big = a.allocate(1 << 20, 4096);
            for (long off = 0; off < size; off += 1 << 20) { // every vBlock gets its extent
                big.fill((byte) 0);
                assertEquals(VDiskStatus.OK, sync(d, true, off, big, 1 << 20));
            }
            sg.drain("s");
            VDiskController.Counters c0 = sg.controller("s").counters();
            // 4000 random 4 KiB overwrites at QD16 (batches of many writes), each block stamped with its write number
            int blocks = (int) (size / 4096), writes = 4000;
            int[] last = new int[blocks];
            java.util.Arrays.fill(last, -1);
            SplittableRandom rnd = new SplittableRandom(11);
            Semaphore window = new Semaphore(16);
            MemorySegment bufs = a.allocate(16L * 4096 * 2, 4096);
            int[] slotOf = new int[1];
            CompletableFuture<Void> failed = new CompletableFuture<>();
            for (int w = 0; w < writes; w++) {
                window.acquire();
                int b = rnd.nextInt(blocks);
                last[b] = w;
                MemorySegment buf = bufs.asSlice((long) (slotOf[0]++ % 32) * 4096, 4096);
                buf.fill((byte) 0);
                buf.set(ValueLayout.JAVA_INT, 0, w);
                buf.set(ValueLayout.JAVA_INT, 4, b);
                int st = d.write((long) b * 4096, buf, 4096, w, (t, s2) -> {
                    if (s2 != VDiskStatus.OK) failed.complete(null);
                    window.release();
                });
                assertEquals(VDiskStatus.OK, st);
            }
            window.acquire(16);
            assertFalse(failed.isDone(), "a write failed");
            long readsBefore = dev.reads.get();
            c0 = sg.controller("s").counters();
            sg.drain("s");
            long drainReads = dev.reads.get() - readsBefore;
            VDiskController.Counters c = sg.controller("s").counters();
            long drained = c.drainedBlocks - c0.drainedBlocks;
            assertEquals(0, c.oplogBytes);
            assertTrue(c.spanRounds > c0.spanRounds, "no span round: " + c);
            assertTrue(drained >= 1000, drained + " blocks drained: " + c);
            // a span round reads up to 256 slices at once: far fewer reads than blocks (vBlock rounds: one each)
            assertTrue(drainReads * 8 < drained, drainReads + " device reads to drain " + drained + " blocks: " + c);
            MemorySegment one = a.allocate(4096, 4096);
            for (int b = 0; b < blocks; b++) {
                assertEquals(VDiskStatus.OK, sync(d, false, (long) b * 4096, one, 4096));
                int want = last[b];
                assertEquals(want < 0 ? 0 : want, one.get(ValueLayout.JAVA_INT, 0), "block " + b);
                if (want >= 0) assertEquals(b, one.get(ValueLayout.JAVA_INT, 4), "block " + b);
            }
        } finally {
            sg.close();
            store.close();
            dev.close();
        }
    }

    /**
     * A segment whose blocks span rounds drained in place stays while it is the one written to; after
     * a reopen its entries replay (the drained ones over the same data in the extent, newer ones over
     * them), the replayed segment's entry list feeds span rounds again, and every block reads its
     * newest data throughout.
     */
    @Test
    void spanDrainedEntriesReplayAfterReopen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String uri = "file:" + dir.resolve("span.img") + "?size=256m";
        long size = 16L << 20;
        int blocks = (int) (size / 4096);
        int[] last = new int[blocks];
        java.util.Arrays.fill(last, -1);
        try (Arena a = Arena.ofShared()) {
            io.dsf.blockstore.spi.BlockDevice dev = BlockDevices.open(uri);
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, OPTS.withIdleDrainDelay(TimeUnit.SECONDS.toNanos(30)));
            VDisk d = sg.create("s", size);
            MemorySegment big = a.allocate(1 << 20, 4096);
            for (long off = 0; off < size; off += 1 << 20) assertEquals(VDiskStatus.OK, sync(d, true, off, big, 1 << 20));
            sg.drain("s");
            SplittableRandom rnd = new SplittableRandom(3);
            writeStamped(d, a, rnd, last, 0, 1500);
            long spans0 = sg.controller("s").counters().spanRounds;
            sg.drain("s"); // the current segment keeps these entries, drained
            assertTrue(sg.controller("s").counters().spanRounds > spans0, "span rounds drained the overwrites");
            writeStamped(d, a, rnd, last, 1500, 500); // live entries after them, in the same segment
            check(d, a, last);
            sg.close(); // no drain: the OpLog holds drained and live entries
            store.close();
            dev.close();

            dev = BlockDevices.open(uri);
            store = BlockStore.open(dev);
            sg = Stargate.open(dev, store, OPTS);
            d = sg.vdisk("s");
            check(d, a, last);
            assertTrue(sg.controller("s").counters().oplogBytes > 0, "the OpLog was replayed");
            sg.drain("s");
            VDiskController.Counters c = sg.controller("s").counters();
            assertEquals(0, c.oplogBytes);
            assertTrue(c.spanRounds > 0, "the replayed segment's entries fed span rounds: " + c);
            check(d, a, last);
            sg.close();
            store.close();
            dev.close();
        }
    }

    /** {@code n} random 4 KiB writes at QD1, block {@code b}'s first ints = (write number, b); records them in {@code last}. */
    private static void writeStamped(VDisk d, Arena a, SplittableRandom rnd, int[] last, int from, int n) throws Exception {
        MemorySegment buf = a.allocate(4096, 4096);
        for (int w = from; w < from + n; w++) {
            int b = rnd.nextInt(last.length);
            buf.fill((byte) 0);
            buf.set(ValueLayout.JAVA_INT, 0, w + 1);
            buf.set(ValueLayout.JAVA_INT, 4, b);
            assertEquals(VDiskStatus.OK, sync(d, true, (long) b * 4096, buf, 4096));
            last[b] = w + 1;
        }
    }

    private static void check(VDisk d, Arena a, int[] last) throws Exception {
        MemorySegment one = a.allocate(4096, 4096);
        for (int b = 0; b < last.length; b++) {
            assertEquals(VDiskStatus.OK, sync(d, false, (long) b * 4096, one, 4096));
            assertEquals(Math.max(0, last[b]), one.get(ValueLayout.JAVA_INT, 0), "block " + b);
        }
    }
}
