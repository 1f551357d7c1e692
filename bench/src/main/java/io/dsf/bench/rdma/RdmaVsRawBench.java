package io.dsf.bench.rdma;

import io.dsf.rdma.Transports;
import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.api.RdmaTransport;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Round-trip latency of 4 KiB messages through the rdma-transport SPI against raw TCP ping-pongs
 * of the same size, side by side in one run, client and server threads in one process over
 * loopback:
 * <ul>
 *   <li>{@code raw-blocking}: blocking {@code SocketChannel}s, write 4 KiB, read 4 KiB back (the
 *       reference of the ratios);</li>
 *   <li>{@code raw-spin}: the same on non-blocking channels that spin on {@code read};</li>
 *   <li>{@code send-spin}/{@code write-spin}: the transport's send/recv (the server sends the
 *       received buffer back) and write-with-immediate (the server writes the landed bytes back
 *       into the client's region) with both sides spinning on {@code poll};</li>
 *   <li>{@code send-await}/{@code write-await}: the same, both sides blocking in {@code await}
 *       when idle (as blocking as the raw reference).</li>
 * </ul>
 * Every rep runs every case for {@code --window} round trips, in turn, so all cases see the same
 * machine moments apart; the first rep is a warm-up and is not counted. Ratios are computed per rep
 * (case percentile / raw-blocking percentile of the same rep) and reported as the median over the
 * reps with min-max; absolute figures pool all counted reps. The spinning cases need a core per
 * side to mean anything and run only with {@code --spin}. Each round trip carries its sequence
 * number, checked on return. Usage: {@code RdmaVsRawBench [--transport tcp|verbs] [--address IP]
 * [--size 4096] [--reps 11] [--window 2000] [--spin] [--json]}; with {@code --json} the last line
 * is one JSON object.
 */
public final class RdmaVsRawBench {
    private static final String[] CASES = {"raw-blocking", "raw-spin", "send-spin", "write-spin", "send-await", "write-await"};
    private static final int RAW_BLOCKING = 0, RAW_SPIN = 1, SEND_SPIN = 2, WRITE_SPIN = 3, SEND_AWAIT = 4, WRITE_AWAIT = 5;
    private static final int POSTED = 16;
    private static final long AWAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final int size;
    private final int reps;
    private final int window;
    private final boolean[] enabled = new boolean[CASES.length];

    private RdmaVsRawBench(int size, int reps, int window, boolean spin) {
        this.size = size;
        this.reps = reps;
        this.window = window;
        for (int c = 0; c < CASES.length; c++) enabled[c] = spin || (c != RAW_SPIN && c != SEND_SPIN && c != WRITE_SPIN);
    }

    public static void main(String[] args) throws Exception {
        String transport = "tcp";
        String address = InetAddress.getLoopbackAddress().getHostAddress();
        int size = 4096, reps = 11, window = 2000;
        boolean json = false, spin = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--transport" -> transport = args[++i];
                case "--address" -> address = args[++i];
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--window" -> window = Integer.parseInt(args[++i]);
                case "--json" -> json = true;
                case "--spin" -> spin = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (reps < 2) throw new IllegalArgumentException("--reps must be at least 2 (the first is a warm-up)");
        new RdmaVsRawBench(size, reps, window, spin).run(transport, InetAddress.getByName(address), json);
    }

    /** The state one side of the transport cases keeps: endpoint, queue, region with POSTED slots plus the write target. */
    private final class Side {
        final CompletionQueue cq;
        final Endpoint ep;
        final MemoryRegion region; // slots [0, POSTED): receives; slot POSTED: where the peer's writes land; POSTED + 1: sends
        int heldSlot = -1; // a received slot being sent back from (echo), re-posted on the next round
        final Completions batch = new Completions(32);
        int nextRecv;
        long peerAddress;
        int peerKey;

        Side(CompletionQueue cq, Endpoint ep, MemoryRegion region) {
            this.cq = cq;
            this.ep = ep;
            this.region = region;
        }

        long slot(int i) {
            return (long) i * size;
        }

        long writeTarget() {
            return (long) POSTED * size;
        }

        long sendSlot() {
            return (long) (POSTED + 1) * size;
        }

        void postAll() {
            for (int i = 0; i < POSTED; i++) check(ep.postRecv(region, slot(i), size, i), "postRecv");
        }

        /** Waits for the next receive (send or write with immediate); returns its wrId (the slot) with the byte count checked. */
        int awaitReceive(boolean spin) {
            while (true) {
                int n = spin ? cq.poll(batch) : cq.await(batch, AWAIT_NANOS);
                int got = -1;
                for (int i = 0; i < n; i++) {
                    if (batch.status(i) != CompletionStatus.SUCCESS) throw new IllegalStateException("completion failed: " + batch.describe(i));
                    int op = batch.opcode(i);
                    if (op == Opcode.RECV || op == Opcode.RECV_RDMA_WITH_IMM) {
                        if (got >= 0) throw new IllegalStateException("two receives in one poll: the ping-pong lost step");
                        if (batch.byteLength(i) != size) throw new IllegalStateException("short message: " + batch.describe(i));
                        got = (int) batch.wrId(i);
                    }
                }
                if (got >= 0) return got;
            }
        }

        /** Re-posts the receive that just completed. */
        void repost(int slotIndex) {
            check(ep.postRecv(region, slot(slotIndex), size, slotIndex), "postRecv");
        }

        void sendUntilAccepted(long from, boolean write, int imm) {
            while (true) {
                int st = write ? ep.postWriteWithImm(region, from, size, peerAddress, peerKey, imm, 0)
                        : ep.postSend(region, from, size, 0);
                if (st == PostStatus.OK) return;
                if (st != PostStatus.SEND_QUEUE_FULL) throw new IllegalStateException("post failed: " + PostStatus.name(st));
                cq.poll(batch); // only send completions can be pending here
            }
        }
    }

    private static void check(int status, String what) {
        if (status != PostStatus.OK) throw new IllegalStateException(what + ": " + PostStatus.name(status));
    }

    private void run(String kind, InetAddress address, boolean json) throws Exception {
        Histogram[][] h = new Histogram[reps][CASES.length]; // [rep][case]
        for (Histogram[] row : h) for (int i = 0; i < row.length; i++) row[i] = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        try (RdmaTransport t = Transports.open(kind); Arena arena = Arena.ofShared();
             ServerSocketChannel rawListen = ServerSocketChannel.open()) {
            // transport pair
            EndpointOptions opts = new EndpointOptions(POSTED, POSTED, Math.max(size, 4096));
            CompletionQueue clientCq = t.createCompletionQueue(256), serverCq = t.createCompletionQueue(256);
            RdmaListener listener = t.listen(new InetSocketAddress(address, 0));
            CompletableFuture<Endpoint> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return listener.accept(serverCq, opts, TimeUnit.SECONDS.toNanos(30));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Endpoint clientEp = t.connect(listener.localAddress(), clientCq, opts, TimeUnit.SECONDS.toNanos(30));
            Endpoint serverEp = accepted.get(30, TimeUnit.SECONDS);
            int access = Access.LOCAL_WRITE | Access.REMOTE_WRITE;
            Side client = new Side(clientCq, clientEp, t.register(arena.allocate((long) (POSTED + 2) * size, 4096), access));
            Side server = new Side(serverCq, serverEp, t.register(arena.allocate((long) (POSTED + 2) * size, 4096), access));
            client.peerAddress = server.region.remoteAddress(server.writeTarget());
            client.peerKey = server.region.rkey();
            server.peerAddress = client.region.remoteAddress(client.writeTarget());
            server.peerKey = client.region.rkey();
            client.postAll();
            server.postAll();
            // raw pairs: one blocking, one non-blocking
            rawListen.bind(new InetSocketAddress(address, 0));
            SocketChannel rawBlockClient = SocketChannel.open(rawListen.getLocalAddress());
            SocketChannel rawBlockServer = rawListen.accept();
            SocketChannel rawSpinClient = SocketChannel.open(rawListen.getLocalAddress());
            SocketChannel rawSpinServer = rawListen.accept();
            for (SocketChannel c : List.of(rawBlockClient, rawBlockServer, rawSpinClient, rawSpinServer))
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
            rawSpinClient.configureBlocking(false);
            rawSpinServer.configureBlocking(false);
            ByteBuffer rawClientBuf = ByteBuffer.allocateDirect(size), rawServerBuf = ByteBuffer.allocateDirect(size);

            Thread serverThread = Thread.ofPlatform().name("bench-server").start(() -> {
                try {
                    for (int rep = 0; rep < reps; rep++) {
                        for (int c = 0; c < CASES.length; c++) {
                            if (!enabled[c]) continue;
                            for (int i = 0; i < window; i++) {
                                switch (c) {
                                    case RAW_BLOCKING -> echo(rawBlockServer, rawServerBuf, false);
                                    case RAW_SPIN -> echo(rawSpinServer, rawServerBuf, true);
                                    default -> {
                                        boolean write = c == WRITE_SPIN || c == WRITE_AWAIT;
                                        boolean spin = c == SEND_SPIN || c == WRITE_SPIN;
                                        int s = server.awaitReceive(spin);
                                        if (write) { // what landed in the write target goes back into the client's
                                            server.repost(s);
                                            server.sendUntilAccepted(server.writeTarget(), write, i);
                                        } else { // echo from the receive buffer; it is re-posted once the client has the reply
                                            if (server.heldSlot >= 0) server.repost(server.heldSlot);
                                            server.sendUntilAccepted(server.slot(s), false, i);
                                            server.heldSlot = s;
                                        }
                                    }
                                }
                            }
                        }
                    }
                } catch (Throwable e) {
                    e.printStackTrace();
                    System.exit(1);
                }
            });

            MemorySegment seg = client.region.segment();
            for (int rep = 0; rep < reps; rep++) {
                for (int c = 0; c < CASES.length; c++) {
                    if (!enabled[c]) continue;
                    Histogram into = h[rep][c];
                    for (int i = 0; i < window; i++) {
                        long seq = ((long) rep << 40) | ((long) c << 32) | i;
                        long t0;
                        switch (c) {
                            case RAW_BLOCKING, RAW_SPIN -> {
                                rawClientBuf.clear();
                                rawClientBuf.putLong(0, seq);
                                t0 = System.nanoTime();
                                pingPong(c == RAW_SPIN ? rawSpinClient : rawBlockClient, rawClientBuf, c == RAW_SPIN);
                                if (rawClientBuf.getLong(0) != seq) throw new IllegalStateException("raw echo mismatch");
                            }
                            default -> {
                                boolean write = c == WRITE_SPIN || c == WRITE_AWAIT;
                                boolean spin = c == SEND_SPIN || c == WRITE_SPIN;
                                seg.set(ValueLayout.JAVA_LONG, client.sendSlot(), seq);
                                t0 = System.nanoTime();
                                client.sendUntilAccepted(client.sendSlot(), write, i);
                                int r = client.awaitReceive(spin);
                                long back = write ? seg.get(ValueLayout.JAVA_LONG, client.writeTarget()) : seg.get(ValueLayout.JAVA_LONG, client.slot(r));
                                client.repost(r);
                                if (back != seq) throw new IllegalStateException(CASES[c] + ": echo mismatch " + back + " != " + seq);
                            }
                        }
                        long dt = System.nanoTime() - t0;
                        if (into != null) into.recordValue(dt);
                    }
                }
            }
            serverThread.join(TimeUnit.SECONDS.toMillis(60));
            report(kind, h, json);
            clientEp.close();
            serverEp.close();
            clientCq.close();
            serverCq.close();
            listener.close();
            for (SocketChannel c : List.of(rawBlockClient, rawBlockServer, rawSpinClient, rawSpinServer)) c.close();
        }
    }

    private void pingPong(SocketChannel ch, ByteBuffer buf, boolean spin) throws IOException {
        buf.clear();
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw new IOException("peer closed");
        }
    }

    private void echo(SocketChannel ch, ByteBuffer buf, boolean spin) throws IOException {
        buf.clear();
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw new IOException("peer closed");
        }
        buf.flip();
        while (buf.hasRemaining()) ch.write(buf);
    }

    private void report(String kind, Histogram[][] h, boolean json) {
        System.out.printf(Locale.ROOT, "%d B round trips, %s transport, %d reps x %d per case (first rep not counted)%n",
                size, kind, reps - 1, window);
        System.out.printf(Locale.ROOT, "%-13s %8s %8s %8s   %-22s %-22s%n", "case", "p50 us", "p99 us", "mean us",
                "p50 / raw-blocking", "p99 / raw-blocking");
        List<String> fields = new ArrayList<>();
        for (int c = 0; c < CASES.length; c++) {
            if (!enabled[c]) continue;
            Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            double[] r50 = new double[reps - 1], r99 = new double[reps - 1];
            for (int rep = 1; rep < reps; rep++) {
                all.add(h[rep][c]);
                r50[rep - 1] = (double) h[rep][c].getValueAtPercentile(50) / h[rep][RAW_BLOCKING].getValueAtPercentile(50);
                r99[rep - 1] = (double) h[rep][c].getValueAtPercentile(99) / h[rep][RAW_BLOCKING].getValueAtPercentile(99);
            }
            java.util.Arrays.sort(r50);
            java.util.Arrays.sort(r99);
            double p50 = all.getValueAtPercentile(50) / 1e3, p99 = all.getValueAtPercentile(99) / 1e3, mean = all.getMean() / 1e3;
            double m50 = r50[r50.length / 2], m99 = r99[r99.length / 2];
            System.out.printf(Locale.ROOT, "%-13s %8.1f %8.1f %8.1f   %-22s %-22s%n", CASES[c], p50, p99, mean,
                    String.format(Locale.ROOT, "%.2f (%.2f-%.2f)", m50, r50[0], r50[r50.length - 1]),
                    String.format(Locale.ROOT, "%.2f (%.2f-%.2f)", m99, r99[0], r99[r99.length - 1]));
            String k = CASES[c].replace('-', '_');
            fields.add(String.format(Locale.ROOT, "\"%s_p50_us\":%.2f,\"%s_p99_us\":%.2f,\"%s_p50_ratio\":%.3f,\"%s_p99_ratio\":%.3f",
                    k, p50, k, p99, k, m50, k, m99));
        }
        if (json) System.out.println("{\"transport\":\"" + kind + "\",\"size\":" + size + "," + String.join(",", fields) + "}");
    }
}
