package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.lang.foreign.MemorySegment;

/**
 * Child process of {@link PowerLossKillTest}: writes through a {@code faulty:powerloss} URI,
 * prints what each completed flush covered, writes more without flushing, prints {@code ready}
 * and waits to be killed. Arguments: URI, flushed block count (a multiple of 8), new unflushed
 * blocks, flushed blocks overwritten unflushed. Single threaded.
 */
public final class PowerLossChild {
    static final int BLOCK = 4096;

    private PowerLossChild() {}

    /** Data of block {@code i} in generation {@code gen} (0 first write, 1 overwrite). */
    static int seed(int i, int gen) { return gen * 100_000 + i; }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        int flushed = Integer.parseInt(args[1]);
        int fresh = Integer.parseInt(args[2]);
        int overwritten = Integer.parseInt(args[3]);
        try (BlockDevice d = BlockDevices.open(uri); SyncIo io = new SyncIo(d)) {
            MemorySegment b = d.allocateDma(BLOCK);
            for (int i = 0; i < flushed; i++) {
                FaultyBlockDeviceTest.fill(b, BLOCK, seed(i, 0));
                io.write((long) i * BLOCK, b, BLOCK);
                if ((i + 1) % 8 == 0) {
                    io.flush();
                    System.out.println("flushed " + (i + 1));
                }
            }
            for (int i = flushed; i < flushed + fresh; i++) {
                FaultyBlockDeviceTest.fill(b, BLOCK, seed(i, 0));
                io.write((long) i * BLOCK, b, BLOCK);
            }
            for (int i = 0; i < overwritten; i++) {
                FaultyBlockDeviceTest.fill(b, BLOCK, seed(i, 1));
                io.write((long) i * BLOCK, b, BLOCK);
            }
            System.out.println("ready");
            System.out.flush();
            System.in.read(); // killed here; returns only if the parent went away
        }
    }
}
