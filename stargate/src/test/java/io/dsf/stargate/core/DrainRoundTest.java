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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Drain rounds: many vBlocks with a few scattered blocks each are drained several to a round (one
 * sync, one group of map records), into new extents, in place, as tombstones and copy-on-write
 * after a snapshot; every block reads back against a model before and after a reopen.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DrainRoundTest {
    private static final int VBLOCKS = 48, PER_VB = 5, BLOCK = 4096;
    private static final StargateOptions OPTS = StargateOptions.defaults().withShards(1)
            .withOplog(4L << 20, 64L << 20).withIdle("backoff").withBypassBytes(Long.MAX_VALUE / 2);

    /** The model: the fill byte of each 4 KiB block of the first VBLOCKS MiB (0 = never written or zeroed). */
    private final byte[] model = new byte[VBLOCKS * 256];

    @Test
    void scatteredBlocksDrainManyVBlocksPerRoundAndSurviveReopen(@TempDir Path dir) throws Exception {
        String uri = "file:" + dir.resolve("dev.img") + "?size=512m";
        SplittableRandom rnd = new SplittableRandom(42);
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open(uri);
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            Stargate sg = Stargate.open(dev, store, OPTS);
            VDisk d = sg.create("d", 256L << 20);
            VDiskController vc = sg.controller("d");

            // 1. new extents: every vBlock gets a few scattered blocks, all written at once
            scatter(a, d, rnd, 1);
            sg.drain("d");
            var c1 = vc.counters();
            assertEquals(VBLOCKS * PER_VB, c1.drainedBlocks, c1.toString()); // distinct blocks (no overwrite yet)
            assertTrue(c1.drains >= VBLOCKS, c1.toString());
            assertTrue(c1.drainRounds < c1.drains, "several vBlocks per round: " + c1);
            verify(a, d);

            // 2. overwrites and new blocks, drained in place; one vBlock zeroed whole (a tombstone)
            scatter(a, d, rnd, 2);
            assertEquals(VDiskStatus.OK, unmap(d, 7L << 20, 1 << 20));
            java.util.Arrays.fill(model, 7 * 256, 8 * 256, (byte) 0);
            verify(a, d); // served from the OpLog
            sg.drain("d");
            var c2 = vc.counters();
            assertTrue(c2.drainRounds - c1.drainRounds < c2.drains - c1.drains, "several vBlocks per round: " + c2);
            verify(a, d);

            // 3. a snapshot shares every extent: the next drains copy on write, one vBlock per round
            sg.snapshot("d", "s");
            byte[] snapModel = model.clone();
            scatter(a, d, rnd, 3);
            sg.drain("d");
            var c3 = vc.counters();
            assertTrue(c3.cowDrains - c2.cowDrains >= VBLOCKS - 1, c3.toString()); // all but the zeroed vBlock
            verify(a, d);

            sg.close();
            store.close();
            dev.close();

            dev = BlockDevices.open(uri);
            store = BlockStore.open(dev);
            sg = Stargate.open(dev, store, OPTS);
            verify(a, sg.vdisk("d"));
            byte[] now = model.clone();
            System.arraycopy(snapModel, 0, model, 0, model.length);
            verify(a, sg.vdisk("s"));
            System.arraycopy(now, 0, model, 0, model.length);
            sg.close();
            store.close();
            dev.close();
        }
    }

    /** Writes PER_VB distinct random blocks in every vBlock, all submitted before any is awaited. */
    private void scatter(Arena a, VDisk d, SplittableRandom rnd, int round) throws Exception {
        int n = VBLOCKS * PER_VB;
        MemorySegment bufs = a.allocate((long) n * BLOCK, BLOCK);
        CountDownLatch done = new CountDownLatch(n);
        AtomicInteger failed = new AtomicInteger();
        int i = 0;
        for (int vb = 0; vb < VBLOCKS; vb++) {
            boolean[] taken = new boolean[256];
            for (int k = 0; k < PER_VB; k++) {
                int b;
                do b = rnd.nextInt(256); while (taken[b]);
                taken[b] = true;
                int block = vb * 256 + b;
                byte fill = (byte) (1 + (block * 7 + round * 13) % 250);
                MemorySegment buf = bufs.asSlice((long) i++ * BLOCK, BLOCK);
                buf.fill(fill);
                model[block] = fill;
                int st = d.write((long) block * BLOCK, buf, BLOCK, block, (t, s) -> {
                    if (s != VDiskStatus.OK) failed.incrementAndGet();
                    done.countDown();
                });
                assertEquals(VDiskStatus.OK, st);
            }
        }
        assertTrue(done.await(60, TimeUnit.SECONDS), "writes completed");
        assertEquals(0, failed.get());
    }

    private static int unmap(VDisk d, long off, long len) throws Exception {
        java.util.concurrent.CompletableFuture<Integer> f = new java.util.concurrent.CompletableFuture<>();
        int st = d.unmap(off, len, 1, (t, s) -> f.complete(s));
        return st != VDiskStatus.OK ? st : f.get(30, TimeUnit.SECONDS);
    }

    /** Reads the first VBLOCKS MiB one vBlock at a time and compares every block with the model. */
    private void verify(Arena a, VDisk d) throws Exception {
        MemorySegment r = a.allocate(1 << 20, BLOCK);
        for (int vb = 0; vb < VBLOCKS; vb++) {
            java.util.concurrent.CompletableFuture<Integer> f = new java.util.concurrent.CompletableFuture<>();
            assertEquals(VDiskStatus.OK, d.read((long) vb << 20, r, 1 << 20, vb, (t, s) -> f.complete(s)));
            assertEquals(VDiskStatus.OK, f.get(30, TimeUnit.SECONDS));
            for (int b = 0; b < 256; b++) {
                byte want = model[vb * 256 + b];
                long off = (long) b * BLOCK;
                assertEquals(want, r.get(ValueLayout.JAVA_BYTE, off), "vBlock " + vb + " block " + b + " of " + d.name());
                assertEquals(want, r.get(ValueLayout.JAVA_BYTE, off + BLOCK - 1), "vBlock " + vb + " block " + b + " of " + d.name());
            }
        }
    }
}
