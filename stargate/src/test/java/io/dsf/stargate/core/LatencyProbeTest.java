package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.dsf.stargate.core.StargateBasicTest.*;

class LatencyProbeTest {
    @Test
    void probe() throws Exception {
        try (Arena a = Arena.ofShared()) {
            BlockDevice dev = BlockDevices.open("mem:256m");
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            for (String idle : new String[]{"backoff", "spin"}) {
                Stargate sg = Stargate.open(dev, store, SMALL.withShards(1).withIdle(idle));
                VDisk d = sg.create("d" + idle, 1L << 30);
                MemorySegment p = pattern(a, 4096, 1);
                for (int round = 0; round < 3; round++) {
                    long t0 = System.nanoTime();
                    for (int i = 0; i < 2000; i++) sync(d, true, (long) (i % 512) * 4096, p, 4096);
                    long t1 = System.nanoTime();
                    for (int i = 0; i < 2000; i++) sync(d, false, (long) (i % 512) * 4096, p, 4096);
                    long t2 = System.nanoTime();
                    System.out.printf("%s write %.1f us, read %.1f us%n", idle, (t1 - t0) / 2000e3, (t2 - t1) / 2000e3);
                }
                System.out.println(sg.controller("d" + idle).counters());
                sg.close();
            }
        }
    }
}
