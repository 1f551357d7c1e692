package io.dsf.node.admin;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's admin socket: a unix stream socket speaking JSON lines. Each request is one line
 * holding a JSON object with an {@code "op"} string (and the op's arguments); each gets exactly one
 * reply line, a JSON object with {@code "ok": true} and the op's results, or {@code "ok": false}
 * and an {@code "error"} message. A request may carry an {@code "id"}, echoed in its reply.
 *
 * <pre>
 *   -&gt; {"op":"vdisk.create","name":"db","size":"10g"}\n
 *   &lt;- {"ok":true,"vdisk":{"name":"db","size":10737418240,...}}\n
 *   -&gt; {"op":"vdisk.attach","name":"nope"}\n
 *   &lt;- {"ok":false,"error":"no vDisk named nope"}\n
 * </pre>
 *
 * <p>Bad input never harms the node: a line that is not UTF-8 or not a JSON object, an unknown op or
 * bad arguments get an error reply and the connection stays usable; a line longer than
 * {@link #MAX_REQUEST} bytes gets an error reply and the connection is closed (it cannot be resynchronised
 * cheaply); at most {@link #MAX_CONNECTIONS} connections are served at once (more are told so and
 * closed). The socket file is created owner-only (0600): whoever can connect can delete vDisks.
 *
 * <p>Threading: thread safe. One accept thread and one thread per connection, all daemons; the
 * {@link Handler} is called on connection threads, concurrently when several clients talk at once.
 * Control plane only.
 */
public final class AdminServer implements AutoCloseable {
    /** Longest request line in bytes (without the newline). */
    public static final int MAX_REQUEST = 64 << 10;
    /** Connections served at the same time. */
    public static final int MAX_CONNECTIONS = 16;

    /** Executes one request; control plane, called on connection threads. */
    @FunctionalInterface
    public interface Handler {
        /**
         * Runs {@code request} (a JSON object with a string {@code "op"}) and returns the reply's
         * fields (without {@code "ok"}).
         *
         * @throws AdminException for requests that cannot be done (unknown op, bad arguments, no such vDisk...)
         */
        Map<String, Object> handle(String op, Map<String, Object> request) throws AdminException;
    }

    private final Path socket;
    private final ServerSocketChannel listener;
    private final Handler handler;
    private final PrintWriter log;
    private final Thread acceptor;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    private AdminServer(Path socket, ServerSocketChannel listener, Handler handler, PrintWriter log) {
        this.socket = socket;
        this.listener = listener;
        this.handler = handler;
        this.log = log;
        this.acceptor = new Thread(this::acceptLoop, "dsf-admin");
        this.acceptor.setDaemon(true);
    }

    /**
     * Binds {@code socket}. A socket file left by a node that died is replaced; one that still
     * answers means another node runs on it.
     *
     * @throws IllegalStateException when another process answers on {@code socket}
     * @throws IOException           when the path exists and is not a socket, or binding fails
     */
    public static AdminServer start(Path socket, Handler handler, PrintWriter log) throws IOException {
        Path abs = socket.toAbsolutePath();
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isOther()) throw new IOException("refusing to replace " + abs + ": it exists and is not a socket");
            if (answers(abs)) throw new IllegalStateException("another node is running: its admin socket " + abs + " answers");
            Files.delete(abs);
        }
        ServerSocketChannel l = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            l.bind(UnixDomainSocketAddress.of(abs), 8);
            try {
                Files.setPosixFilePermissions(abs, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // a file system without POSIX permissions: leave the default
            }
        } catch (IOException | RuntimeException e) {
            l.close();
            throw e;
        }
        AdminServer s = new AdminServer(abs, l, handler, log);
        s.acceptor.start();
        return s;
    }

    /** Whether something accepts connections on {@code socket}. */
    static boolean answers(Path socket) {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return c.isConnected();
        } catch (IOException e) {
            return false;
        }
    }

    public Path socket() { return socket; }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel c;
            try {
                c = listener.accept();
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException e) {
                if (closing) break;
                log("accept failed: " + e);
                continue;
            }
            if (connections.size() >= MAX_CONNECTIONS) {
                try (c) {
                    send(c, error(null, "too many admin connections (" + MAX_CONNECTIONS + "); try again"));
                } catch (IOException ignored) {
                    // the client went away: nothing to tell
                }
                continue;
            }
            connections.add(c);
            if (closing) { closeQuietly(c); break; }
            Thread t = new Thread(() -> serve(c), "dsf-admin-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    /** Serves one connection until the client closes it, sends an over-long line, or the server closes. */
    private void serve(SocketChannel c) {
        ByteBuffer in = ByteBuffer.allocate(MAX_REQUEST + 1);
        try (c) {
            while (!closing) {
                int n = c.read(in);
                if (n < 0) break;
                int lineStart = 0;
                for (int i = 0; i < in.position(); i++) {
                    if (in.get(i) != '\n') continue;
                    String reply = answer(in, lineStart, i);
                    if (reply != null) send(c, reply);
                    lineStart = i + 1;
                }
                // keep the unfinished tail
                int tail = in.position() - lineStart;
                if (lineStart > 0) {
                    ByteBuffer dup = in.duplicate().position(lineStart).limit(in.position());
                    in.clear();
                    in.put(dup);
                }
                if (tail > MAX_REQUEST) {
                    send(c, error(null, "request longer than " + MAX_REQUEST + " bytes; closing the connection"));
                    discardUntilClosed(c, in);
                    break;
                }
            }
        } catch (IOException e) {
            if (!closing) log("connection ended: " + e.getMessage());
        } catch (RuntimeException e) {
            log("connection failed: " + e); // a bug here ends one connection, never the node
        } finally {
            connections.remove(c);
        }
    }

    /**
     * Ends our side and reads what the client still sends (at most 16 MiB), so closing does not reset
     * the connection before the client has read the error reply.
     */
    private static void discardUntilClosed(SocketChannel c, ByteBuffer buf) throws IOException {
        c.shutdownOutput();
        long left = 16 << 20;
        while (left > 0) {
            buf.clear();
            int n = c.read(buf);
            if (n < 0) return;
            left -= n;
        }
    }

    /** The reply to the request in {@code in[from, to)}, or null for an empty line. */
    private String answer(ByteBuffer in, int from, int to) {
        int end = to > from && in.get(to - 1) == '\r' ? to - 1 : to;
        if (end == from) return null;
        String line;
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(in.duplicate().position(from).limit(end));
            line = cb.toString();
        } catch (CharacterCodingException e) {
            return error(null, "malformed request: not UTF-8");
        }
        if (line.isBlank()) return null;
        Map<String, Object> req;
        try {
            req = Json.parseObject(line);
        } catch (Json.JsonException e) {
            return error(null, "malformed request: " + e.getMessage());
        }
        Object id = req.get("id");
        if (id instanceof Map || id instanceof java.util.List) id = null;
        Object op = req.get("op");
        if (!(op instanceof String s) || s.isEmpty()) return error(id, "malformed request: \"op\" must be a non-empty string");
        try {
            Map<String, Object> r = handler.handle(s, req);
            Map<String, Object> reply = new LinkedHashMap<>();
            reply.put("ok", true);
            if (id != null) reply.put("id", id);
            if (r != null) r.forEach(reply::putIfAbsent);
            return Json.write(reply);
        } catch (AdminException e) {
            return error(id, e.getMessage());
        } catch (RuntimeException e) {
            log(s + " failed: " + e);
            return error(id, s + " failed: " + e);
        }
    }

    private static String error(Object id, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", false);
        if (id != null) m.put("id", id);
        m.put("error", message);
        return Json.write(m);
    }

    private static void send(SocketChannel c, String line) throws IOException {
        ByteBuffer b = StandardCharsets.UTF_8.encode(line + "\n");
        while (b.hasRemaining()) c.write(b);
    }

    private void log(String msg) {
        if (log == null) return;
        synchronized (log) {
            log.println("dsf admin: " + msg);
            log.flush();
        }
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Stops accepting, closes every connection (requests running finish on their threads) and removes the socket file. */
    @Override
    public void close() {
        if (closing) return;
        closing = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (SocketChannel c : connections) closeQuietly(c);
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log("could not remove " + socket + ": " + e);
        }
    }
}
