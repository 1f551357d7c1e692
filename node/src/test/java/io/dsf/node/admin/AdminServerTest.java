package io.dsf.node.admin;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The admin socket's protocol against hostile clients: malformed lines get error replies and the
 * connection stays usable; an over-long line ends only that connection; handler failures become
 * error replies; the socket is owner-only; a live socket is not stolen, a dead one is replaced.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdminServerTest {
    @TempDir Path dir;
    final StringWriter log = new StringWriter();

    /** Echoes the request's "x"; "boom" throws a programming error, "refuse" an AdminException. */
    static Map<String, Object> handle(String op, Map<String, Object> req) throws AdminException {
        return switch (op) {
            case "echo" -> Map.of("x", String.valueOf(req.get("x")));
            case "boom" -> throw new NullPointerException("a bug");
            case "refuse" -> throw new AdminException("refused politely");
            default -> throw new AdminException("unknown op " + op);
        };
    }

    AdminServer start() throws Exception {
        return AdminServer.start(dir.resolve("a.sock"), AdminServerTest::handle, new PrintWriter(log, true));
    }

    static SocketChannel raw(Path sock) throws Exception {
        return SocketChannel.open(UnixDomainSocketAddress.of(sock));
    }

    static void send(SocketChannel c, byte[] b) throws Exception {
        ByteBuffer bb = ByteBuffer.wrap(b);
        while (bb.hasRemaining()) c.write(bb);
    }

    /** Reads lines until {@code n} arrived or the peer closed. */
    static List<String> read(SocketChannel c, int n) throws Exception {
        List<String> lines = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        ByteBuffer b = ByteBuffer.allocate(4096);
        while (lines.size() < n) {
            b.clear();
            int r = c.read(b);
            if (r < 0) break;
            b.flip();
            String s = StandardCharsets.UTF_8.decode(b).toString();
            for (char ch : s.toCharArray()) {
                if (ch == '\n') { lines.add(cur.toString()); cur.setLength(0); } else cur.append(ch);
            }
        }
        return lines;
    }

    @Test
    void malformedRequestsGetErrorsAndTheConnectionStaysUsable() throws Exception {
        try (AdminServer s = start(); SocketChannel c = raw(s.socket())) {
            String[] bad = {"not json", "[1,2]", "{}", "{\"op\":5}", "{\"op\":\"\"}", "{\"op\":\"echo\"", "{\"op\":\"nope\"}",
                    "[".repeat(5000), "{\"op\":\"refuse\",\"id\":7}", "{\"op\":\"boom\"}"};
            StringBuilder all = new StringBuilder();
            for (String b : bad) all.append(b).append('\n');
            all.append("\n  \r\n"); // blank lines: no reply
            send(c, all.toString().getBytes(StandardCharsets.UTF_8));
            send(c, new byte[] {'{', '"', 'o', 'p', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}', '\n'});
            send(c, "{\"op\":\"echo\",\"x\":\"still here\",\"id\":\"r1\"}\r\n".getBytes(StandardCharsets.UTF_8));
            List<String> replies = read(c, bad.length + 2);
            assertEquals(bad.length + 2, replies.size(), replies.toString());
            for (int i = 0; i < bad.length + 1; i++) {
                Map<String, Object> r = Json.parseObject(replies.get(i));
                assertEquals(false, r.get("ok"), replies.get(i));
                assertInstanceOf(String.class, r.get("error"));
            }
            assertTrue(replies.get(0).contains("malformed request"), replies.get(0));
            assertTrue(replies.get(3).contains("\\\"op\\\" must be a non-empty string"), replies.get(3));
            assertTrue(replies.get(6).contains("unknown op nope"), replies.get(6));
            assertTrue(replies.get(7).contains("nested deeper"), replies.get(7));
            assertEquals(7L, Json.parseObject(replies.get(8)).get("id"), "the id is echoed in errors");
            assertEquals("refused politely", Json.parseObject(replies.get(8)).get("error"));
            assertTrue(replies.get(9).contains("boom failed") && replies.get(9).contains("a bug"), replies.get(9));
            assertTrue(replies.get(10).contains("not UTF-8"), replies.get(10));
            Map<String, Object> ok = Json.parseObject(replies.get(11));
            assertEquals(Map.of("ok", true, "id", "r1", "x", "still here"), ok);
        }
    }

    @Test
    void anOverlongLineEndsThatConnectionOnly() throws Exception {
        try (AdminServer s = start(); SocketChannel c = raw(s.socket())) {
            byte[] big = new byte[AdminServer.MAX_REQUEST + 10];
            java.util.Arrays.fill(big, (byte) 'x');
            send(c, big);
            List<String> r = read(c, 1);
            c.shutdownOutput();
            r.addAll(read(c, 1)); // the server closes: end of stream, no second line
            assertEquals(1, r.size(), "one error reply, then the server closes: " + r);
            assertTrue(r.get(0).contains("longer than"), r.get(0));
            try (AdminClient client = AdminClient.connect(s.socket())) {
                assertEquals("fine", client.call(Map.of("op", "echo", "x", "fine"), 10_000).get("x"), "the server still serves");
                AdminException e = assertThrows(AdminException.class, () -> client.call(Map.of("op", "refuse"), 10_000));
                assertEquals("refused politely", e.getMessage());
            }
        }
    }

    @Test
    void socketIsOwnerOnlyALiveOneIsNotStolenADeadOneIsReplaced() throws Exception {
        Path sock;
        try (AdminServer s = start()) {
            sock = s.socket();
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
            IllegalStateException e = assertThrows(IllegalStateException.class, this::start);
            assertTrue(e.getMessage().contains("another node is running"), e.getMessage());
        }
        assertFalse(Files.exists(sock), "close removes the socket");
        // a socket file nobody listens on (a node killed with -9) is replaced
        try (var l = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            l.bind(UnixDomainSocketAddress.of(sock));
        }
        assertTrue(Files.exists(sock));
        NodeNotRunningException dead = assertThrows(NodeNotRunningException.class, () -> AdminClient.connect(sock));
        assertTrue(dead.getMessage().contains("no node is running at " + sock), dead.getMessage());
        try (AdminServer s = start(); AdminClient c = AdminClient.connect(s.socket())) {
            assertEquals("x", c.call(Map.of("op", "echo", "x", "x"), 10_000).get("x"));
        }
        Files.writeString(sock, "a plain file");
        assertThrows(java.io.IOException.class, this::start, "a file that is not a socket is never deleted");
        assertThrows(NodeNotRunningException.class, () -> AdminClient.connect(dir.resolve("missing.sock")));
    }
}
