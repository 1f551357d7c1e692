package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.dsf.stargate.core.StargateBasicTest.sync;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The drain yields to requests: an idle drain waits for a pause of
 * {@link StargateOptions#idleDrainNanos} without requests (not the gap between two requests of a
 * QD1 writer), and a round's submissions go out {@link Shard#DRAIN_IOS_PER_TURN} at a time with
 * the shard taking new requests in between.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DrainPacingTest {
    /** Idle drains after 500 ms without requests: far above a busy machine's scheduling and GC hiccups, so what a test sees is the rule. */
    private static final StargateOptions OPTS = StargateOptions.defaults().withShards(1)
            .withOplog(4L << 20, 64L << 20).withIdle("spin").withIdleDrainDelay(TimeUnit.MILLISECONDS.toNanos(500));

    @Test
    void aQd1WriterIsNotInterruptedByIdleDrains() throws Exception {
        BlockDevice dev = BlockDevices.open("mem:512m");
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, OPTS);
        try (Arena a = Arena.ofShared()) {
            VDisk d = sg.create("w", 64L << 20);
            MemorySegment buf = a.allocate(4096, 4096);
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
            int writes = 0;
            while (writes < 1000 && System.nanoTime() < end) { // back to back: the shard idles microseconds between two
                buf.set(ValueLayout.JAVA_INT, 0, writes);
                assertEquals(VDiskStatus.OK, sync(d, true, (long) rnd.nextInt(16384) * 4096, buf, 4096));
                writes++;
            }
            VDiskController.Counters c = sg.controller("w").counters();
            // below the drain threshold (32 MiB) a round starts only after 500 ms without requests (draining at
            // the first idle instant after a write gave 32 rounds here, each in front of the next write)
            assertEquals(0, c.drainRounds, c.drainRounds + " drain rounds during " + writes + " back-to-back QD1 writes");
            assertTrue(writes > 200, "only " + writes + " writes in 300 ms"); // 8 MiB of OpLog at most (a batch each): below the threshold
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sg.controller("w").counters().oplogBytes > 0 && System.nanoTime() < deadline) Thread.sleep(5);
            c = sg.controller("w").counters();
            assertEquals(0, c.oplogBytes, "the idle shard drained its OpLog");
            assertTrue(c.drainRounds > 0);
        } finally {
            sg.close();
            store.close();
            dev.close();
        }
    }

    @Test
    void aReadIsServedBetweenSlicesOfADrainRound() throws Exception {
        SlowDevice dev = new SlowDevice(BlockDevices.open("mem:512m"));
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, OPTS);
        try (Arena a = Arena.ofShared()) {
            VDisk d = sg.create("r", 64L << 20);
            MemorySegment big = a.allocate(1 << 20, 4096);
            big.fill((byte) 40);
            assertEquals(VDiskStatus.OK, sync(d, true, 40L << 20, big, 1 << 20));
            sg.drain("r"); // vBlock 40 lives in an extent: reading it is a device read
            MemorySegment one = a.allocate(4096, 4096);
            // 256 blocks over 32 vBlocks, none adjacent: one idle drain round (500 ms after the last) of 256 reads, then 256 writes
            for (int vb = 0; vb < 32; vb++) {
                for (int k = 0; k < 8; k++) {
                    one.fill((byte) (vb + k));
                    assertEquals(VDiskStatus.OK, sync(d, true, ((long) vb << 20) + (long) (k * 29 + vb % 7) * 4096, one, 4096));
                }
            }
            dev.slowNanos = TimeUnit.MICROSECONDS.toNanos(50); // a round now takes about 25 ms to submit
            long start = dev.submissions.get();
            while (dev.submissions.get() < start + 2) Thread.onSpinWait(); // the idle drain began its round
            MemorySegment probe = dev.allocateDma(4096);
            sg.registerMemory(probe); // the store reads straight into it: its device read is recognisable
            dev.watch = probe.address();
            long before = dev.submissions.get();
            assertEquals(VDiskStatus.OK, sync(d, false, (40L << 20) + 12 * 4096, probe, 4096));
            long between = dev.seenAt - before;
            assertTrue(dev.seenAt >= 0, "the probe read went to the device");
            assertEquals(40, probe.get(ValueLayout.JAVA_BYTE, 0));
            sg.drain("r");
            VDiskController.Counters c = sg.controller("r").counters();
            long roundIos = dev.submissions.get() - start;
            assertTrue(roundIos >= 400, "the drain submitted " + roundIos + " I/Os: a round big enough to stall a request");
            assertTrue(between <= 32, // two slices of Shard.DRAIN_IOS_PER_TURN (16); all at once: 179 here
                    between + " drain submissions went ahead of a read published during the round (" + c.drainRounds + " rounds)");
        } finally {
            sg.close();
            store.close();
            dev.close();
        }
    }

    /** A device whose submissions take {@code slowNanos} each (like a backend that executes at submission) and are counted. */
    static final class SlowDevice implements BlockDevice {
        final BlockDevice inner;
        final AtomicLong submissions = new AtomicLong(), reads = new AtomicLong();
        volatile long slowNanos;
        volatile long watch = -1, seenAt = -1;

        SlowDevice(BlockDevice inner) { this.inner = inner; }

        private void submitted(MemorySegment buf) {
            if (buf != null && buf.address() == watch && seenAt < 0) seenAt = submissions.get();
            submissions.incrementAndGet();
            long s = slowNanos;
            if (s > 0) {
                long until = System.nanoTime() + s;
                while (System.nanoTime() < until) Thread.onSpinWait();
            }
        }

        @Override public String uri() { return "slow:" + inner.uri(); }
        @Override public Geometry geometry() { return inner.geometry(); }
        @Override public MemorySegment allocateDma(long size) { return inner.allocateDma(size); }
        @Override public void close() { inner.close(); }

        @Override
        public DeviceQueue openQueue(int depth, CompletionHandler handler) {
            return new io.dsf.blockstore.spi.ForwardingDeviceQueue(inner.openQueue(depth, handler), this) {
                @Override public int read(long off, MemorySegment b, int len, long ud) { reads.incrementAndGet(); submitted(b); return inner.read(off, b, len, ud); }
                @Override public int write(long off, MemorySegment b, int len, long ud) { submitted(b); return inner.write(off, b, len, ud); }
            };
        }
    }
}
