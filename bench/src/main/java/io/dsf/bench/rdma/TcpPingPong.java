package io.dsf.bench.rdma;

import org.HdrHistogram.Histogram;

import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A raw TCP ping-pong between two processes, the reference a replicated write's network cost is
 * compared with ({@code bench/rf-compare.sh}): the client writes a request of {@code --request}
 * bytes, the server answers {@code --response} bytes once the whole request is in, one round trip
 * at a time, on blocking {@code SocketChannel}s with {@code TCP_NODELAY} (as a replication batch of
 * one 4 KiB write goes out and its trailer-only ACK comes back). The server answers on one
 * platform thread per connection; the client runs on the caller's thread, records every round
 * trip (after {@code --ramp} seconds of warm-up) in an HdrHistogram and checks that each answer
 * carries its request's sequence number. Nothing is allocated per round trip.
 *
 * <pre>
 * TcpPingPong serve  --listen HOST:PORT                 (prints "listening HOST:PORT", serves until killed)
 * TcpPingPong client --connect HOST:PORT [--request 4192] [--response 96] [--seconds 5] [--ramp 1] [--json]
 * </pre>
 * With {@code --json} the last line of stdout is one JSON object with {@code lat_p50_us},
 * {@code lat_p99_us}, {@code lat_p999_us}, {@code lat_mean_us}, {@code lat_max_us},
 * {@code round_trips}, {@code request}, {@code response}, {@code runtime_s}. Exit status 0, 1 on
 * a failure (connection lost, a wrong answer), 2 on bad arguments.
 */
public final class TcpPingPong {
    /** A connection opens with its sizes: request bytes, response bytes (two ints, big-endian). */
    private static final int HELLO = 8;
    private static final int MAX_SIZE = 16 << 20;

    private TcpPingPong() {}

    public static void main(String[] args) {
        try {
            System.exit(run(args, System.out));
        } catch (IllegalArgumentException e) {
            System.err.println("TcpPingPong: " + e.getMessage());
            System.exit(2);
        } catch (IOException | RuntimeException e) {
            System.err.println("TcpPingPong: " + e);
            System.exit(1);
        }
    }

    static int run(String[] args, PrintStream out) throws IOException {
        if (args.length == 0) throw new IllegalArgumentException("usage: TcpPingPong serve --listen HOST:PORT | client --connect HOST:PORT [...]");
        String mode = args[0];
        String address = null;
        int request = 4096 + 96, response = 96;
        double seconds = 5, ramp = 1;
        boolean json = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--listen", "--connect" -> address = value(args, ++i);
                case "--request" -> request = Integer.parseInt(value(args, ++i));
                case "--response" -> response = Integer.parseInt(value(args, ++i));
                case "--seconds" -> seconds = Double.parseDouble(value(args, ++i));
                case "--ramp" -> ramp = Double.parseDouble(value(args, ++i));
                case "--json" -> json = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (address == null) throw new IllegalArgumentException(mode + " needs " + (mode.equals("serve") ? "--listen" : "--connect") + " HOST:PORT");
        InetSocketAddress at = hostPort(address);
        return switch (mode) {
            case "serve" -> serve(at, out);
            case "client" -> {
                checkSizes(request, response);
                if (!(seconds > 0) || !(ramp >= 0)) throw new IllegalArgumentException("--seconds must be positive, --ramp at least 0");
                yield client(at, request, response, seconds, ramp, json, out);
            }
            default -> throw new IllegalArgumentException("mode must be serve or client: " + mode);
        };
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) throw new IllegalArgumentException(args[i - 1] + " needs a value");
        return args[i];
    }

    private static void checkSizes(int request, int response) {
        if (request < 8 || request > MAX_SIZE || response < 8 || response > MAX_SIZE)
            throw new IllegalArgumentException("--request and --response must be in 8.." + MAX_SIZE + " bytes: " + request + ", " + response);
    }

    static InetSocketAddress hostPort(String s) {
        int c = s.lastIndexOf(':');
        if (c <= 0 || c == s.length() - 1) throw new IllegalArgumentException("HOST:PORT expected: " + s);
        int port = Integer.parseInt(s.substring(c + 1));
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + s);
        return new InetSocketAddress(s.substring(0, c), port);
    }

    /** Accepts connections until the process is killed; each is answered on its own thread. */
    private static int serve(InetSocketAddress at, PrintStream out) throws IOException {
        try (ServerSocketChannel listen = ServerSocketChannel.open()) {
            listen.bind(at);
            InetSocketAddress bound = (InetSocketAddress) listen.getLocalAddress();
            out.println("listening " + bound.getHostString() + ":" + bound.getPort());
            out.flush();
            while (true) {
                SocketChannel c = listen.accept();
                Thread.ofPlatform().name("pingpong-" + c.getRemoteAddress()).daemon().start(() -> answer(c));
            }
        }
    }

    private static void answer(SocketChannel c) {
        try (c) {
            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ByteBuffer hello = ByteBuffer.allocateDirect(HELLO);
            readFully(c, hello);
            int request = hello.getInt(0), response = hello.getInt(4);
            checkSizes(request, response);
            ByteBuffer in = ByteBuffer.allocateDirect(request), reply = ByteBuffer.allocateDirect(response);
            while (true) {
                in.clear();
                readFully(c, in);
                reply.clear();
                reply.putLong(0, in.getLong(0)); // the sequence number goes back
                writeFully(c, reply);
            }
        } catch (EOFException e) {
            // the client is done
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("TcpPingPong: connection ended: " + e);
        }
    }

    private static int client(InetSocketAddress at, int request, int response, double seconds, double ramp, boolean json, PrintStream out)
            throws IOException {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        long rounds = 0;
        double measured;
        try (SocketChannel c = SocketChannel.open(at)) {
            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ByteBuffer hello = ByteBuffer.allocateDirect(HELLO).putInt(0, request).putInt(4, response);
            writeFully(c, hello);
            ByteBuffer req = ByteBuffer.allocateDirect(request), resp = ByteBuffer.allocateDirect(response);
            for (int i = 8; i < request; i++) req.put(i, (byte) (i * 31));
            long seq = 0;
            long start = System.nanoTime(), measureFrom = start + (long) (ramp * 1e9), end = measureFrom + (long) (seconds * 1e9);
            long t0 = start, measureStart = -1;
            while (t0 < end) {
                req.clear();
                req.putLong(0, ++seq);
                writeFully(c, req);
                resp.clear();
                readFully(c, resp);
                long t1 = System.nanoTime();
                if (resp.getLong(0) != seq) throw new IOException("answer " + resp.getLong(0) + " to request " + seq);
                if (t0 >= measureFrom) {
                    if (measureStart < 0) measureStart = t0;
                    h.recordValue(Math.min(t1 - t0, h.getHighestTrackableValue()));
                    rounds++;
                }
                t0 = t1;
            }
            measured = measureStart < 0 ? 0 : (t0 - measureStart) / 1e9;
        }
        if (rounds == 0) throw new IOException("no round trip completed in the measured window");
        String line = String.format(Locale.ROOT,
                "{\"lat_p50_us\":%.3f,\"lat_p99_us\":%.3f,\"lat_p999_us\":%.3f,\"lat_mean_us\":%.3f,\"lat_max_us\":%.3f,"
                        + "\"round_trips\":%d,\"request\":%d,\"response\":%d,\"runtime_s\":%.3f,\"target\":\"tcp-pingpong:%s:%d\"}",
                us(h.getValueAtPercentile(50)), us(h.getValueAtPercentile(99)), us(h.getValueAtPercentile(99.9)), h.getMean() / 1e3,
                us(h.getMaxValue()), rounds, request, response, measured, at.getHostString(), at.getPort());
        out.printf(Locale.ROOT, "tcp ping-pong %d B -> %d B <- : %d round trips in %.1f s, p50 %.1f us, p99 %.1f us, mean %.1f us%n",
                request, response, rounds, measured, us(h.getValueAtPercentile(50)), us(h.getValueAtPercentile(99)), h.getMean() / 1e3);
        if (json) out.println(line);
        out.flush();
        return 0;
    }

    private static double us(long nanos) { return nanos / 1e3; }

    private static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) if (c.read(b) < 0) throw new EOFException("connection closed");
    }

    private static void writeFully(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) c.write(b);
    }
}
