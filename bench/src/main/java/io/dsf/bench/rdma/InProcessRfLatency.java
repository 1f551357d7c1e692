package io.dsf.bench.rdma;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import io.dsf.stargate.replication.PeerAddress;
import io.dsf.stargate.replication.ReplicaService;
import io.dsf.stargate.replication.Replication;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The replicated write path without the processes around it: an owner Stargate and one replica
 * service in this JVM (each its own {@code mem:} device, store and tcp transport, over loopback),
 * 4 KiB writes at iodepth 1 straight to the VDisk API, RF1 and RF2 in alternating rounds, and a
 * raw in-process TCP ping-pong of the same sizes (4192 B out, 96 B back) as the network reference.
 * What {@code bench/rf-compare.sh} adds on top (three node processes, vhost-user, the client) is
 * thread hand-offs across processes; this isolates the replication code's own cost.
 *
 * <pre>InProcessRfLatency [rounds=3] [writes=5000] [idle=backoff] [shards=1]</pre>
 * Prints per round and case p50/p90/p99 in microseconds, then the median ratio
 * RF2 p50 / (RF1 p50 + ping-pong p50). Control-path main; the write loop allocates nothing but the
 * completion latch state it reuses.
 */
public final class InProcessRfLatency {
    private InProcessRfLatency() {}

    public static void main(String[] args) throws Exception {
        int rounds = 3, writes = 5000, shards = 1;
        String idle = "backoff";
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "writes" -> writes = Integer.parseInt(kv[1]);
                case "idle" -> idle = kv[1];
                case "shards" -> shards = Integer.parseInt(kv[1]);
                default -> {
                    System.err.println("usage: InProcessRfLatency [rounds=3] [writes=5000] [idle=backoff|block|spin] [shards=1]");
                    System.exit(2);
                }
            }
        }
        double[] ratios = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long rf1 = writes(1, idle, shards, writes, r), rf2 = writes(2, idle, shards, writes, r), ping = pingPong(writes, r);
            ratios[r] = rf2 / (double) (rf1 + ping);
            System.out.printf(Locale.ROOT, "round %d: RF2 p50 / (RF1 p50 + ping p50) = %.2f%n", r + 1, ratios[r]);
        }
        java.util.Arrays.sort(ratios);
        System.out.printf(Locale.ROOT, "median ratio %.2f (min %.2f, max %.2f) over %d rounds, idle %s%n", ratios[rounds / 2], ratios[0],
                ratios[rounds - 1], rounds, idle);
    }

    /** Completion of one write, reused: the loop waits on it by parking. */
    private static final class Done implements IoCallback {
        volatile int status = 1;
        volatile Thread waiter;

        @Override
        public void onComplete(long tag, int st) {
            status = st;
            LockSupport.unpark(waiter);
        }
    }

    private static long writes(int rf, String idle, int shards, int n, int round) throws Exception {
        RdmaTransport ta = Transports.open("tcp"), tb = Transports.open("tcp");
        BlockDevice da = BlockDevices.open("mem:256m"), db = BlockDevices.open("mem:256m");
        BlockStore sa = BlockStore.format(da, FormatOptions.DEFAULTS), sb = BlockStore.format(db, FormatOptions.DEFAULTS);
        ReplicaService rb = ReplicaService.start(tb, db, sb, new InetSocketAddress("127.0.0.1", 0), 16);
        Replication rep = new Replication("A", ta, List.of(new PeerAddress("B", "127.0.0.1", rb.address().getPort())),
                Replication.Options.rf(rf));
        Stargate sg = Stargate.open(da, sa, StargateOptions.defaults().withShards(shards).withIdle(idle), rep);
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        try (Arena a = Arena.ofShared()) {
            VDisk d = sg.create("v", 64L << 20);
            MemorySegment buf = a.allocate(4096, 4096);
            Done done = new Done();
            done.waiter = Thread.currentThread();
            for (int i = 0; i < n + n / 4; i++) { // the first fifth warms up
                done.status = 1;
                long t0 = System.nanoTime();
                int st = d.write((long) (i * 7919L % 16000) * 4096, buf, 4096, i, done);
                if (st != VDiskStatus.OK) throw new IllegalStateException("write refused: " + VDiskStatus.describe(st));
                while (done.status == 1) LockSupport.parkNanos(50_000);
                if (done.status != VDiskStatus.OK) throw new IllegalStateException("write failed: " + VDiskStatus.describe(done.status));
                if (i >= n / 4) h.recordValue(System.nanoTime() - t0);
            }
        } finally {
            sg.close();
            rb.close();
            ta.close();
            tb.close();
            sa.close();
            sb.close();
            da.close();
            db.close();
        }
        print("rf" + rf, round, h);
        return h.getValueAtPercentile(50);
    }

    private static long pingPong(int n, int round) throws IOException, InterruptedException {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            Thread echo = Thread.ofPlatform().daemon().start(() -> {
                try (SocketChannel c = server.accept()) {
                    c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    ByteBuffer in = ByteBuffer.allocateDirect(4192), out = ByteBuffer.allocateDirect(96);
                    while (true) {
                        in.clear();
                        while (in.hasRemaining()) if (c.read(in) < 0) return;
                        out.clear();
                        while (out.hasRemaining()) c.write(out);
                    }
                } catch (IOException ignored) {
                    // the client closed
                }
            });
            try (SocketChannel c = SocketChannel.open(server.getLocalAddress())) {
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ByteBuffer out = ByteBuffer.allocateDirect(4192), in = ByteBuffer.allocateDirect(96);
                for (int i = 0; i < n + n / 4; i++) {
                    long t0 = System.nanoTime();
                    out.clear();
                    while (out.hasRemaining()) c.write(out);
                    in.clear();
                    while (in.hasRemaining()) if (c.read(in) < 0) throw new IOException("echo closed");
                    if (i >= n / 4) h.recordValue(System.nanoTime() - t0);
                }
            }
            echo.join(5000);
        }
        print("ping", round, h);
        return h.getValueAtPercentile(50);
    }

    private static void print(String what, int round, Histogram h) {
        System.out.printf(Locale.ROOT, "round %d %-5s p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  (%d)%n", round + 1, what,
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getTotalCount());
    }
}
