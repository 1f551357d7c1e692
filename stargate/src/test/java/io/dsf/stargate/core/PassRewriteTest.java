package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The shard's side of a re-replication pass, step by step on one vDisk (no peers: the shard rules
 * alone): the pass's base and vBlock list, the read's mark, and the conditional rewrite that must
 * never put a pass's stale copy over a newer write: skipped when the newer write is in the index,
 * refused (BUSY) when a drain took it out of the index after the read.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PassRewriteTest {
    static final int VB = 1 << 20;

    interface Op { int start(IoCallback cb); }

    static int run(Op op) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = op.start((t, s) -> f.complete(s));
        if (st != VDiskStatus.OK) return st;
        return f.get(30, TimeUnit.SECONDS);
    }

    static void fill(MemorySegment m, long len, byte v) { m.asSlice(0, len).fill(v); }

    @Test
    void rewritesOnlyWhatNoNewerWriteCarries() throws Exception {
        try (BlockDevice dev = BlockDevices.open("mem:96m"); BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
             Stargate sg = Stargate.open(dev, store, StargateBasicTest.SMALL); Arena a = Arena.ofShared()) {
            VDisk d = sg.create("p", 16L << 20, 2);
            VDiskController vd = sg.controller("p");
            MemorySegment buf = a.allocate(VB, 4096), pass = a.allocate(VB, 4096), back = a.allocate(4096, 4096);
            // vBlocks 0 and 2 (shard 0) hold data; 1 (shard 1) too; 4 stays empty
            for (long vb : new long[]{0, 1, 2}) {
                fill(buf, VB, (byte) (vb + 1));
                assertEquals(VDiskStatus.OK, StargateBasicTest.sync(d, true, vb * VB, buf, VB));
            }
            sg.drain("p"); // vBlock 0's data now in its extent, out of the index
            VDiskController.PassInfo p = new VDiskController.PassInfo();
            assertEquals(VDiskStatus.OK, run(cb -> vd.passStart(0, p, 0, cb)));
            assertEquals(java.util.List.of(0L, 2L), java.util.stream.LongStream.of(p.vblocks.toLongArray()).boxed().toList(),
                    "shard 0's vBlocks with data");
            assertTrue(p.base > 1, "base after the writes: " + p.base);
            long before = vd.counters().rewrites;

            // 1. nothing newer: every block written again, the same data
            long[] mark = new long[1];
            assertEquals(VDiskStatus.OK, run(cb -> vd.passRead(0, pass, mark, cb)));
            assertEquals(p.base, mark[0], "no write since the pass began");
            assertEquals((byte) 1, pass.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 12345));
            assertEquals(VDiskStatus.OK, run(cb -> vd.passRewrite(0, pass, VB, mark[0], 0, cb)));
            assertEquals(before + 256, vd.counters().rewrites);

            // 2. a client write lands between the pass's read and its rewrite (published right behind it):
            //    that block is skipped, or, if an idle drain took the write out of the index first, the
            //    rewrite is refused and the pass reads again; either way the client's data survives
            long[] mark2 = new long[1];
            assertEquals(VDiskStatus.OK, run(cb -> vd.passRead(2, pass, mark2, cb)));
            fill(back, 4096, (byte) 0x55);
            long skipped = vd.counters().rewriteSkipped;
            CompletableFuture<Integer> w = new CompletableFuture<>();
            assertEquals(VDiskStatus.OK, d.write(2L * VB + 5 * 4096, back, 4096, 1, (t, s) -> w.complete(s)));
            int rst = run(cb -> vd.passRewrite(2L * VB, pass, VB, mark2[0], 0, cb));
            assertEquals(VDiskStatus.OK, (int) w.get(30, TimeUnit.SECONDS));
            if (rst == VDiskStatus.OK) assertEquals(skipped + 1, vd.counters().rewriteSkipped, "the newer block is not written again");
            else assertEquals(VDiskStatus.BUSY, rst);
            back.fill((byte) 0);
            assertEquals(VDiskStatus.OK, StargateBasicTest.sync(d, false, 2L * VB + 5 * 4096, back, 4096));
            assertEquals((byte) 0x55, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100), "the client's write survives the pass");
            assertEquals(VDiskStatus.OK, StargateBasicTest.sync(d, false, 2L * VB + 6 * 4096, back, 4096));
            assertEquals((byte) 3, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100), "its neighbour keeps the pass's copy");

            // the pass ends cleanly (no batch failed)
            assertEquals(VDiskStatus.OK, run(cb -> vd.passEnd(0, p, 0, cb)));

            // 3. outside any pass (as a read repair writes back): the newer write is drained (in place)
            //    before the rewrite: refused, the caller must read again
            long[] mark3 = new long[1];
            assertEquals(VDiskStatus.OK, run(cb -> vd.passRead(0, pass, mark3, cb)));
            fill(back, 4096, (byte) 0x66);
            assertEquals(VDiskStatus.OK, StargateBasicTest.sync(d, true, 7 * 4096, back, 4096));
            sg.drain("p");
            assertEquals(VDiskStatus.BUSY, run(cb -> vd.passRewrite(0, pass, VB, mark3[0], 0, cb)));
            assertEquals(VDiskStatus.OK, StargateBasicTest.sync(d, false, 7 * 4096, back, 4096));
            assertEquals((byte) 0x66, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100), "the drained write survives the pass");
            long[] mark4 = new long[1];
            assertEquals(VDiskStatus.OK, run(cb -> vd.passRead(0, pass, mark4, cb)));
            assertTrue(mark4[0] > mark3[0]);
            assertEquals(VDiskStatus.OK, run(cb -> vd.passRewrite(0, pass, VB, mark4[0], 0, cb)), "read again, the rewrite goes through");
            assertEquals(VDiskStatus.OK, StargateBasicTest.sync(d, false, 7 * 4096, back, 4096));
            assertEquals((byte) 0x66, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 100));

            // bad input
            assertEquals(VDiskStatus.INVALID, vd.passStart(5, p, 0, (t, s) -> { }));
            assertEquals(VDiskStatus.INVALID, vd.passRewrite(VB - 4096, pass, 8192, 1, 0, (t, s) -> { }), "a rewrite across vBlocks");
            assertEquals(VDiskStatus.OUT_OF_RANGE, vd.passRead(16, pass, new long[1], (t, s) -> { }));
            assertEquals(VDiskStatus.INVALID, vd.passRead(0, a.allocate(4096), new long[1], (t, s) -> { }), "a buffer smaller than a vBlock");
        }
    }
}
