package io.dsf.bench.vhost;

import io.dsf.blockstore.io.Sizes;
import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.virtq.IdleMode;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A Frodo vhost-user server on a {@link NullVDisk}, for side-by-side runs against
 * {@code qemu-storage-daemon --blockdev null-co} ({@code bench/vhost-compare.sh} starts it pinned
 * with taskset, like the peer):
 *
 * <pre>
 *   java ... io.dsf.bench.vhost.FrodoBenchServer --socket PATH [--proto blk|scsi] [--queues N]
 *        [--idle spin|backoff|block] [--threading dedicated|shared] [--shared-threads N] [--size SIZE] [--warmup IOS]
 * </pre>
 * Before it listens it warms its I/O path up with {@code --warmup} reads (default 300000) through a
 * throw-away server of the same kind, so a measurement starts on compiled code, as against a
 * long-running server.
 * Prints {@code endpoint vhost-user-blk|vhost-user-scsi null SOCKET} once it accepts connections and
 * serves until SIGTERM/SIGINT. Control plane only (main thread and a shutdown hook).
 */
public final class FrodoBenchServer {
    private FrodoBenchServer() {}

    public static void main(String[] args) throws Exception {
        String socket = null, proto = "blk", idle = "block", threading = "dedicated";
        int queues = 1, sharedThreads = 1;
        long size = 1L << 30;
        long warmup = 300_000;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--socket" -> { socket = v; i++; }
                case "--proto" -> { proto = v; i++; }
                case "--queues" -> { queues = Integer.parseInt(v); i++; }
                case "--idle" -> { idle = v; i++; }
                case "--threading" -> { threading = v; i++; }
                case "--shared-threads" -> { sharedThreads = Integer.parseInt(v); i++; }
                case "--size" -> { size = Sizes.parse(v); i++; }
                case "--warmup" -> { warmup = Long.parseLong(v); i++; }
                default -> usage("unknown argument " + a);
            }
        }
        if (socket == null) usage("--socket is required");
        VhostOptions opts = VhostOptions.defaults().withQueues(queues).withIdle(IdleMode.parse(idle))
                .withThreading(VhostOptions.Threading.parse(threading));
        if (opts.threading() == VhostOptions.Threading.SHARED) opts = opts.withSharedThreads(sharedThreads);
        NullVDisk disk = new NullVDisk("null", size);
        if (warmup > 0) warmUp(Path.of(socket + ".warmup"), proto, disk, opts, warmup);
        AutoCloseable server;
        String kind;
        switch (proto) {
            case "blk" -> { server = VhostUserBlkServer.start(Path.of(socket), disk, opts); kind = "vhost-user-blk"; }
            case "scsi" -> { server = VhostUserScsiServer.start(Path.of(socket), disk, opts); kind = "vhost-user-scsi"; }
            default -> { usage("--proto must be blk or scsi: " + proto); return; }
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println("frodo bench server: " + e);
            }
            done.countDown();
        }, "frodo-bench-server-stop"));
        System.out.println("endpoint " + kind + " null " + Path.of(socket).toAbsolutePath());
        System.out.flush();
        System.err.println("frodo bench server: " + kind + " on a null vDisk of " + Sizes.format(size) + ", " + opts);
        done.await();
    }

    /**
     * Runs {@code ios} 4 KiB reads at depth 32 through a throw-away server of the same kind and
     * options, over {@link #WARMUP_CONNECTIONS} connections one after the other, so the measured
     * server starts with its I/O path compiled as a long-running one has it: the queue's stop and
     * restart paths taken too (a warm-up over one connection leaves them unprofiled, and the JIT
     * then throws the hot code away when the measured connection starts and compiles it again
     * while it is measured).
     */
    private static void warmUp(Path sock, String proto, NullVDisk disk, VhostOptions opts, long ios) throws Exception {
        long t0 = System.nanoTime();
        boolean blk = proto.equals("blk");
        try (AutoCloseable s = blk ? VhostUserBlkServer.start(sock, disk, opts.withQueues(1)) : VhostUserScsiServer.start(sock, disk, opts.withQueues(1))) {
            for (int c = 0; c < WARMUP_CONNECTIONS; c++) {
                try (io.dsf.bench.Target t = io.dsf.bench.Targets.open((blk ? "vhost-user-blk:" : "vhost-user-scsi:") + sock + "?null=1")) {
                    io.dsf.blockstore.spi.BlockDevice dev = t.device();
                    long[] done = {0};
                    long n = ios / WARMUP_CONNECTIONS;
                    try (io.dsf.blockstore.spi.DeviceQueue q = dev.openQueue(32, (tag, st) -> done[0]++)) {
                        MemorySegment buf = dev.allocateDma(32L * 4096);
                        long issued = 0, blocks = disk.size() / 4096;
                        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7 + c);
                        while (done[0] < n) {
                            while (q.inFlight() < 32 && issued < n) {
                                int slot = (int) (issued & 31);
                                if (q.read(rnd.nextLong(blocks) * 4096, buf.asSlice(slot * 4096L, 4096), 4096, slot) != 0) break;
                                issued++;
                            }
                            q.submit();
                            q.poll(32);
                        }
                    }
                }
            }
        }
        System.err.printf("frodo bench server: warmed up with %d reads over %d connections in %.2f s%n", ios,
                WARMUP_CONNECTIONS, (System.nanoTime() - t0) / 1e9);
    }

    /** Connections the warm-up makes one after the other. */
    private static final int WARMUP_CONNECTIONS = 3;

    private static void usage(String why) {
        System.err.println("FrodoBenchServer: " + why);
        System.err.println("usage: --socket PATH [--proto blk|scsi] [--queues N] [--idle spin|backoff|block] "
                + "[--threading dedicated|shared] [--shared-threads N] [--size SIZE] [--warmup IOS]");
        System.exit(2);
    }
}
