package io.dsf.rdma.tcp;

import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.protocol.FrameDescriptor;
import io.dsf.rdma.protocol.FrameFlyweight;
import io.dsf.rdma.protocol.HelloDescriptor;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

import static io.dsf.rdma.api.RdmaException.Kind.*;

/**
 * Connection setup of the tcp transport: the connector sends a HELLO frame, the acceptor checks it
 * and answers with its own; each states the largest message it accepts. Blocking with a deadline
 * on a non-blocking channel (a temporary selector). Control path only; stateless, thread safe.
 */
final class Handshake {
    private Handshake() {}

    static final int HELLO_FRAME = FrameDescriptor.HEADER_LENGTH + HelloDescriptor.LENGTH;

    /** What the peer announced. */
    record Peer(int maxMessageSize, int sendQueueDepth, int recvQueueDepth) {}

    static void finishConnect(SocketChannel ch, long deadline, InetSocketAddress remote) throws IOException {
        try (Selector s = Selector.open()) {
            ch.register(s, SelectionKey.OP_CONNECT);
            while (!ch.finishConnect()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new RdmaException(TIMEOUT, "connect to " + remote + " timed out");
                s.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                s.selectedKeys().clear();
            }
        }
    }

    static Peer connector(SocketChannel ch, EndpointOptions options, long deadline) throws IOException {
        writeFully(ch, hello(options), deadline);
        return readHello(ch, deadline);
    }

    static Peer acceptor(SocketChannel ch, EndpointOptions options, long deadline) throws IOException {
        Peer p = readHello(ch, deadline);
        writeFully(ch, hello(options), deadline);
        return p;
    }

    static ByteBuffer hello(EndpointOptions options) {
        ByteBuffer b = ByteBuffer.allocateDirect(HELLO_FRAME).order(ByteOrder.LITTLE_ENDIAN);
        int p = FrameDescriptor.HEADER_LENGTH;
        b.putInt(p + HelloDescriptor.MAX_MESSAGE_SIZE_OFFSET, options.maxMessageSize());
        b.putInt(p + HelloDescriptor.SEND_QUEUE_DEPTH_OFFSET, options.sendQueueDepth());
        b.putInt(p + HelloDescriptor.RECV_QUEUE_DEPTH_OFFSET, options.recvQueueDepth());
        b.putInt(p + HelloDescriptor.RESERVED_OFFSET, 0);
        new FrameFlyweight(b).at(0).encode(FrameDescriptor.HELLO, 0, HelloDescriptor.LENGTH, 0, 0, 0, 0, 0);
        return b;
    }

    static Peer readHello(SocketChannel ch, long deadline) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(HELLO_FRAME).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, b, FrameDescriptor.HEADER_LENGTH, deadline);
        checkHelloHeader(b);
        readFully(ch, b, HELLO_FRAME, deadline);
        return parseHello(b);
    }

    /** Checks the header of a HELLO frame at the start of {@code b} (its first HEADER_LENGTH bytes are in). */
    static void checkHelloHeader(ByteBuffer b) throws RdmaException {
        FrameFlyweight f = new FrameFlyweight(b).at(0);
        int problem = f.validateHeader(HelloDescriptor.LENGTH);
        if (problem != FrameFlyweight.VALID) throw new RdmaException(PROTOCOL, "bad hello: " + FrameFlyweight.problemName(problem));
        if (f.type() != FrameDescriptor.HELLO) throw new RdmaException(PROTOCOL, "expected HELLO, got " + FrameDescriptor.typeName(f.type()));
    }

    /** Checks and decodes a whole HELLO frame at the start of {@code b}. */
    static Peer parseHello(ByteBuffer b) throws RdmaException {
        checkHelloHeader(b);
        FrameFlyweight f = new FrameFlyweight(b).at(0);
        if (!f.payloadValid()) throw new RdmaException(PROTOCOL, "bad hello: payload checksum mismatch");
        int p = FrameDescriptor.HEADER_LENGTH;
        int max = b.getInt(p + HelloDescriptor.MAX_MESSAGE_SIZE_OFFSET);
        int sq = b.getInt(p + HelloDescriptor.SEND_QUEUE_DEPTH_OFFSET);
        int rq = b.getInt(p + HelloDescriptor.RECV_QUEUE_DEPTH_OFFSET);
        if (max < 1 || max > EndpointOptions.MAX_MESSAGE_SIZE_LIMIT || sq < 1 || rq < 1
                || b.getInt(p + HelloDescriptor.RESERVED_OFFSET) != 0)
            throw new RdmaException(PROTOCOL, "bad hello: maxMessageSize " + max + ", depths " + sq + "/" + rq);
        return new Peer(max, sq, rq);
    }

    private static void readFully(SocketChannel ch, ByteBuffer b, int upTo, long deadline) throws IOException {
        b.limit(upTo);
        try (Selector s = Selector.open()) {
            ch.register(s, SelectionKey.OP_READ);
            while (b.hasRemaining()) {
                int n = ch.read(b);
                if (n < 0) throw new RdmaException(PROTOCOL, "peer closed during the handshake", new EOFException());
                if (n > 0) continue;
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new RdmaException(TIMEOUT, "handshake timed out");
                s.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                s.selectedKeys().clear();
            }
        }
    }

    static void writeFully(SocketChannel ch, ByteBuffer b, long deadline) throws IOException {
        b.clear();
        try (Selector s = Selector.open()) {
            ch.register(s, SelectionKey.OP_WRITE);
            while (b.hasRemaining()) {
                if (ch.write(b) > 0) continue;
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new RdmaException(TIMEOUT, "handshake timed out");
                s.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                s.selectedKeys().clear();
            }
        }
    }
}
