package io.dsf.bench.vhost;

import io.dsf.blockstore.io.Sizes;
import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.virtq.IdleMode;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A Frodo vhost-user server on a {@link NullVDisk}, for side-by-side runs against
 * {@code qemu-storage-daemon --blockdev null-co} ({@code bench/vhost-compare.sh} starts it pinned
 * with taskset, like the peer):
 *
 * <pre>
 *   java ... io.dsf.bench.vhost.FrodoBenchServer --socket PATH [--proto blk|scsi] [--queues N]
 *        [--idle spin|backoff|block] [--threading dedicated|shared] [--shared-threads N] [--size SIZE]
 * </pre>
 * Prints {@code endpoint vhost-user-blk|vhost-user-scsi null SOCKET} once it accepts connections and
 * serves until SIGTERM/SIGINT. Control plane only (main thread and a shutdown hook).
 */
public final class FrodoBenchServer {
    private FrodoBenchServer() {}

    public static void main(String[] args) throws Exception {
        String socket = null, proto = "blk", idle = "block", threading = "dedicated";
        int queues = 1, sharedThreads = 1;
        long size = 1L << 30;
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
                default -> usage("unknown argument " + a);
            }
        }
        if (socket == null) usage("--socket is required");
        VhostOptions opts = VhostOptions.defaults().withQueues(queues).withIdle(IdleMode.parse(idle))
                .withThreading(VhostOptions.Threading.parse(threading));
        if (opts.threading() == VhostOptions.Threading.SHARED) opts = opts.withSharedThreads(sharedThreads);
        NullVDisk disk = new NullVDisk("null", size);
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

    private static void usage(String why) {
        System.err.println("FrodoBenchServer: " + why);
        System.err.println("usage: --socket PATH [--proto blk|scsi] [--queues N] [--idle spin|backoff|block] "
                + "[--threading dedicated|shared] [--shared-threads N] [--size SIZE]");
        System.exit(2);
    }
}
