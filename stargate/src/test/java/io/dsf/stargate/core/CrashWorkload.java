package io.dsf.stargate.core;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;

import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.Semaphore;

/**
 * The child of {@link StargateCrashTest}: random writes and zeroes at queue depth 8 on a vDisk
 * (replicated at RF2 to the peers given as a fifth argument, when given);
 * prints {@code S block n gen} before each submit and {@code A block n gen} after each
 * acknowledgement (gen &lt; 0: zeroes), until killed. One request in flight per block.
 */
public final class CrashWorkload {
    static final int BLOCK = 4096, BLOCKS = 8192; // 32 MiB vDisk
    static final StargateOptions OPTIONS = StargateOptions.defaults().withShards(2).withOplog(4L << 20, 8L << 20)
            .withIndexBudget(4096).withBypassBytes(64 << 10);

    static void fill(MemorySegment m, long block, int n, long gen) {
        for (int i = 0; i < n; i++) {
            long v = gen < 0 ? 0 : (block + i) << 32 ^ gen;
            for (int k = 0; k < BLOCK; k += 8) m.set(ValueLayout.JAVA_LONG_UNALIGNED, (long) i * BLOCK + k, v == 0 ? 0 : v + k);
        }
    }

    static io.dsf.stargate.replication.Replication replication(String peers) throws Exception {
        return new io.dsf.stargate.replication.Replication("A", io.dsf.rdma.Transports.open("tcp"),
                io.dsf.stargate.replication.PeerAddress.parseList(peers), io.dsf.stargate.replication.Replication.Options.rf(2));
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        long seed = Long.parseLong(args[1]);
        long genBase = Long.parseLong(args[2]) << 24;
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false);
        BlockDevice dev = BlockDevices.open(uri);
        BlockStore store = args[3].equals("format") ? BlockStore.format(dev, FormatOptions.DEFAULTS) : BlockStore.open(dev);
        // a fifth argument: the peers' replica services ("ID@HOST:PORT,..."): this node "A" replicates at RF2
        io.dsf.stargate.replication.Replication rep = args.length > 4 ? replication(args[4]) : null;
        Stargate sg = Stargate.open(dev, store, OPTIONS, rep);
        if (rep != null) rep.catalog(io.dsf.stargate.replication.Takeover.catalog(sg, "A"));
        VDisk d = sg.vdisk("v");
        if (d == null) d = sg.create("v", (long) BLOCKS * BLOCK);
        synchronized (out) {
            out.println("READY");
            out.flush();
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        Semaphore qd = new Semaphore(8);
        boolean[] busy = new boolean[BLOCKS];
        Arena arena = Arena.ofShared();
        MemorySegment[] bufs = new MemorySegment[8];
        java.util.concurrent.ConcurrentLinkedQueue<Integer> free = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < 8; i++) { bufs[i] = arena.allocate(64 * BLOCK, 4096); free.add(i); }
        for (long g = 1; ; g++) {
            qd.acquire();
            int b, n;
            while (true) {
                b = rnd.nextInt(BLOCKS);
                n = 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 64 : 4);
                if (b + n > BLOCKS) continue;
                boolean ok = true;
                synchronized (busy) {
                    for (int i = 0; i < n && ok; i++) ok = !busy[b + i];
                    if (ok) for (int i = 0; i < n; i++) busy[b + i] = true;
                }
                if (ok) break;
            }
            long gen = (rnd.nextInt(10) == 0 ? -1 : 1) * (genBase + g);
            int bi = free.poll();
            MemorySegment buf = bufs[bi];
            fill(buf, b, n, gen);
            final int fb = b, fn = n;
            synchronized (out) {
                out.println("S " + b + " " + n + " " + gen);
                out.flush();
            }
            io.dsf.stargate.api.IoCallback cb = (tag, st) -> {
                if (st != VDiskStatus.OK) {
                    System.err.println("I/O failed: " + VDiskStatus.describe(st));
                    System.exit(3);
                }
                synchronized (out) {
                    out.println("A " + fb + " " + fn + " " + gen);
                    out.flush();
                }
                synchronized (busy) { for (int i = 0; i < fn; i++) busy[fb + i] = false; }
                free.add(bi);
                qd.release();
            };
            int st = gen < 0 ? d.writeZeroes((long) b * BLOCK, (long) n * BLOCK, 0, cb) : d.write((long) b * BLOCK, buf, n * BLOCK, 0, cb);
            if (st != VDiskStatus.OK) {
                System.err.println("submit refused: " + VDiskStatus.describe(st));
                System.exit(2);
            }
        }
    }
}
