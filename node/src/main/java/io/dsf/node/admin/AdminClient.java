package io.dsf.node.admin;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Talks to a node's {@link AdminServer}: sends one request line, waits for its reply line (with a
 * deadline), and turns {@code "ok": false} into an {@link AdminException}. One connection per
 * client; not thread safe (one request at a time).
 */
public final class AdminClient implements AutoCloseable {
    /** Longest reply line accepted (a stats reply of many vDisks is a few hundred KiB at most). */
    public static final int MAX_REPLY = 16 << 20;

    private final Path socket;
    private final SocketChannel channel;
    private final Selector selector;
    private final ByteBuffer in = ByteBuffer.allocate(64 << 10);
    private byte[] pending = new byte[0];

    private AdminClient(Path socket, SocketChannel channel, Selector selector) {
        this.socket = socket;
        this.channel = channel;
        this.selector = selector;
    }

    /**
     * Connects to the admin socket at {@code socket}.
     *
     * @throws NodeNotRunningException when nothing answers there
     */
    public static AdminClient connect(Path socket) throws AdminException {
        Path abs = socket.toAbsolutePath();
        if (!Files.exists(abs)) throw new NodeNotRunningException(abs, "no socket file");
        SocketChannel c;
        try {
            c = SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException e) {
            throw new AdminException("cannot open a unix socket: " + e.getMessage());
        }
        try {
            c.connect(UnixDomainSocketAddress.of(abs));
            c.configureBlocking(false);
            Selector s = Selector.open();
            c.register(s, SelectionKey.OP_READ);
            return new AdminClient(abs, c, s);
        } catch (IOException e) {
            try {
                c.close();
            } catch (IOException ignored) {
                // failing anyway
            }
            throw new NodeNotRunningException(abs, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** Sends {@code request} and returns the reply's fields; an error reply throws. */
    public Map<String, Object> call(Map<String, Object> request, long timeoutMillis) throws AdminException {
        Map<String, Object> reply = Json.parseObject(exchange(Json.write(request), timeoutMillis));
        if (!Boolean.TRUE.equals(reply.get("ok"))) {
            Object e = reply.get("error");
            throw new AdminException(e instanceof String s ? s : "the node refused the request: " + reply);
        }
        return reply;
    }

    /** Sends one raw line (no newline in it) and returns the raw reply line; for tests of bad input. */
    public String exchange(String line, long timeoutMillis) throws AdminException {
        try {
            ByteBuffer b = StandardCharsets.UTF_8.encode(line + "\n");
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            while (b.hasRemaining()) {
                if (channel.write(b) == 0) awaitWritable(deadline);
            }
            return readLine(deadline);
        } catch (IOException e) {
            throw new AdminException("the node at " + socket + " closed the connection: " + e.getMessage());
        }
    }

    private void awaitWritable(long deadline) throws IOException, AdminException {
        long left = (deadline - System.nanoTime()) / 1_000_000L;
        if (left <= 0) throw new AdminException("the node at " + socket + " does not take the request (timed out)");
        SelectionKey k = channel.keyFor(selector);
        k.interestOps(SelectionKey.OP_WRITE);
        selector.select(left);
        selector.selectedKeys().clear();
        k.interestOps(SelectionKey.OP_READ);
    }

    private String readLine(long deadline) throws IOException, AdminException {
        while (true) {
            for (int i = 0; i < pending.length; i++) {
                if (pending[i] != '\n') continue;
                String line = new String(pending, 0, i, StandardCharsets.UTF_8);
                pending = java.util.Arrays.copyOfRange(pending, i + 1, pending.length);
                return line;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) throw new AdminException("no reply from the node at " + socket + " in time");
            selector.select(left);
            selector.selectedKeys().clear();
            in.clear();
            int n = channel.read(in);
            if (n < 0) throw new AdminException("the node at " + socket + " closed the connection without a reply");
            if (n == 0) continue;
            if (pending.length + n > MAX_REPLY) throw new AdminException("reply longer than " + MAX_REPLY + " bytes");
            byte[] p = java.util.Arrays.copyOf(pending, pending.length + n);
            in.flip().get(p, pending.length, n);
            pending = p;
        }
    }

    public Path socket() { return socket; }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
