package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

    /**
     * Snapshots nobody reads cost the vDisk on top of them nothing: their shards stay asleep (a
     * woken shard takes a vCPU from the one serving the reads). Counted as the snapshots' shard
     * threads' voluntary context switches over a second; they used to wake every 2 ms under the
     * spin idle strategy and every 100 ms under block.
     */
    @ParameterizedTest
    @ValueSource(strings = {"spin", "block"})
    void idleSnapshotsLeaveTheirShardsAsleep(String idle) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux /proc to count a thread's wake-ups");
        BlockDevice dev = BlockDevices.open("mem:256m");
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        Stargate sg = Stargate.open(dev, store, SMALL.withShards(1).withIdle(idle));
        try (Arena a = Arena.ofShared()) {
            VDisk d = sg.create("d", 16L << 20);
            MemorySegment buf = a.allocate(1 << 20, 4096);
            int n = 8;
            for (int i = 0; i < n; i++) {
                buf.fill((byte) i);
                assertEquals(0, sync(d, true, (long) i << 20, buf, 1 << 20));
                sg.snapshot("d", "q" + i);
            }
            assertEquals(0, sync(sg.vdisk("q3"), false, 3L << 20, buf, 4096)); // a snapshot serves reads, and goes back to sleep
            assertEquals(3, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            Thread.sleep(300);
            Map<String, Long> before = switchesOf("stargate-q");
            assertEquals(n, before.size(), "one shard thread per snapshot: " + before.keySet());
            Thread.sleep(1000);
            Map<String, Long> after = switchesOf("stargate-q");
            for (var e : before.entrySet()) {
                long woke = after.get(e.getKey()) - e.getValue();
                assertTrue(woke <= 2, e.getKey() + " woke " + woke + " times in a second with nothing to do (idle " + idle + ")");
            }
            assertEquals(0, sync(d, false, 7L << 20, buf, 4096)); // the live vDisk is unaffected
            assertEquals(7, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        } finally {
            sg.close();
            store.close();
            dev.close();
        }
    }

    /** Voluntary context switches of this process's threads whose name starts with {@code prefix}, by thread id. */
    static Map<String, Long> switchesOf(String prefix) throws Exception {
        Map<String, Long> m = new TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String comm;
                List<String> status;
                try {
                    comm = Files.readString(t.resolve("comm")).strip();
                    status = Files.readAllLines(t.resolve("status"));
                } catch (java.io.IOException gone) {
                    continue; // the thread ended
                }
                if (!comm.startsWith(prefix)) continue;
                for (String l : status) {
                    if (l.startsWith("voluntary_ctxt_switches:")) m.put(t.getFileName() + " " + comm, Long.parseLong(l.substring(l.indexOf(':') + 1).strip()));
                }
            }
        }
        return m;
    }

    static long lookupsFor(Stargate sg, VDisk d, Arena a, long seed) throws Exception {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment buf = a.allocate(8192, 4096);
        long before = sg.controller(d.name()).counters().mapLookups;
        for (int i = 0; i < 500; i++) assertEquals(0, sync(d, false, (long) rnd.nextInt((int) (d.size() / 4096) - 1) * 4096, buf, 8192));
        return sg.controller(d.name()).counters().mapLookups - before;
    }
}
