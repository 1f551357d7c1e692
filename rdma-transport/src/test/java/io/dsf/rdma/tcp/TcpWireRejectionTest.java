package io.dsf.rdma.tcp;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.protocol.FrameFlyweight;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.dsf.rdma.protocol.FrameDescriptor.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Bad input on the wire, from a raw-socket client that does the handshake by hand and then sends
 * crafted frames at a real endpoint: every malformed or forbidden frame is rejected (logged, the
 * connection closed, an ERROR frame attempted), nothing of it is written, and the endpoint's
 * posted receives complete with errors instead of hanging. A well-formed frame from the same
 * client is applied, so the rejections are due to the defects alone.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TcpWireRejectionTest {
    private static final int MAX = 8192;
    private static final EndpointOptions OPTIONS = new EndpointOptions(8, 4, MAX);

    private TcpTransport transport;
    private Arena arena;
    private CompletionQueue cq;
    private RdmaListener listener;
    private MemoryRegion target;     // remote-writable, 8 KiB
    private MemoryRegion localOnly;  // registered without remote write
    private MemoryRegion recvBuf;    // receives land here
    private Socket raw;
    private Endpoint server;
    private final Completions batch = new Completions(32);
    private final List<String> seen = new ArrayList<>();
    private int nextSeq = 1;
    /** The transport's acknowledgement delay; -1: its default. */
    private long ackDelay = -1;

    @BeforeEach
    void connectRawClient() throws Exception {
        transport = ackDelay < 0 ? new TcpTransport() : new TcpTransport(ackDelay);
        nextSeq = 1;
        arena = Arena.ofShared();
        cq = transport.createCompletionQueue(64);
        listener = transport.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        target = transport.register(arena.allocate(8192, 4096), Access.LOCAL_WRITE | Access.REMOTE_WRITE);
        localOnly = transport.register(arena.allocate(8192, 4096), Access.LOCAL_WRITE);
        recvBuf = transport.register(arena.allocate(4096, 4096), Access.LOCAL_WRITE);
        raw = new Socket(listener.localAddress().getAddress(), listener.localAddress().getPort());
        raw.setSoTimeout(10_000);
        ByteBuffer hello = Handshake.hello(new EndpointOptions(8, 8, MAX));
        raw.getOutputStream().write(toArray(hello));
        server = listener.accept(cq, OPTIONS, TimeUnit.SECONDS.toNanos(10));
        assertNotNull(server);
        byte[] reply = raw.getInputStream().readNBytes(Handshake.HELLO_FRAME);
        assertEquals(Handshake.HELLO_FRAME, reply.length, "hello reply");
        for (int i = 0; i < 4; i++) assertEquals(PostStatus.OK, server.postRecv(recvBuf, i * 1024L, 1024, 500 + i));
        cq.poll(batch); // adopt the endpoint
    }

    @AfterEach
    void closeAll() throws IOException {
        raw.close();
        cq.close();
        listener.close();
        transport.close();
        arena.close();
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] a = new byte[b.capacity()];
        b.duplicate().clear().get(a);
        return a;
    }

    /** A well-formed frame: header and payload (filled with 0x5a), checksums right. */
    private static ByteBuffer frame(int type, int flags, int length, int seq, int ack, int imm, int rkey, long address) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH + Math.max(0, length));
        for (int i = HEADER_LENGTH; i < b.capacity(); i++) b.put(i, (byte) 0x5a);
        new FrameFlyweight(b).at(0).encode(type, flags, length, seq, ack, imm, rkey, address);
        return b;
    }

    private ByteBuffer write(long address, int length, int rkey) {
        return frame(WRITE, 0, length, nextSeq++, 0, 0, rkey, address);
    }

    private void send(ByteBuffer b) throws IOException {
        raw.getOutputStream().write(toArray(b));
        raw.getOutputStream().flush();
    }

    /** Polls the server until its endpoint breaks; returns the completions it raised. */
    private List<Integer> pollUntilBroken() {
        List<Integer> statuses = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.state() == EndpointState.CONNECTED || statuses.size() < 4) {
            if (System.nanoTime() - deadline > 0)
                fail("endpoint did not break or flush: state " + server.state() + ", completions " + seen);
            int n = cq.poll(batch);
            for (int i = 0; i < n; i++) {
                statuses.add(batch.status(i));
                seen.add(batch.describe(i));
                assertEquals(Opcode.RECV, batch.opcode(i));
            }
        }
        return statuses;
    }

    /**
     * The raw client sees its connection end (EOF or reset), after at most acknowledgements of what
     * it sent correctly and one ERROR frame; returns that frame's code, or 0 when none came.
     */
    private int clientSeesTheEnd() throws IOException {
        InputStream in = raw.getInputStream();
        byte[] got = new byte[4096];
        int total = 0;
        try {
            while (true) {
                int n = in.read(got, total, got.length - total);
                if (n < 0) break;
                total += n;
            }
        } catch (SocketTimeoutException e) {
            fail("the server did not close the connection");
        } catch (SocketException reset) {
            // connection reset: as good as EOF
        }
        assertEquals(0, total % HEADER_LENGTH, "whole frames only: " + total + " bytes");
        int code = 0;
        for (int at = 0; at < total; at += HEADER_LENGTH) {
            FrameFlyweight f = new FrameFlyweight(ByteBuffer.wrap(got)).at(at);
            assertEquals(FrameFlyweight.VALID, f.validateHeader(0));
            if (f.type() == ERROR) {
                assertEquals(total, at + HEADER_LENGTH, "the ERROR frame is the last thing sent");
                code = f.imm();
            } else {
                assertEquals(ACK, f.type(), "only acknowledgements before the ERROR frame");
            }
        }
        return code;
    }

    private void assertNothingWritten() {
        assertArrayEquals(new byte[8192], target.segment().toArray(ValueLayout.JAVA_BYTE), "target region untouched");
        assertArrayEquals(new byte[8192], localOnly.segment().toArray(ValueLayout.JAVA_BYTE), "local-only region untouched");
        assertArrayEquals(new byte[4096], recvBuf.segment().toArray(ValueLayout.JAVA_BYTE), "receive buffers untouched");
    }

    /** Sends {@code bad}, then expects: endpoint broken, four receives flushed, nothing written, the client cut off. */
    private int rejects(ByteBuffer bad, String failureMentions) throws IOException {
        if (bad.capacity() > 0) send(bad);
        List<Integer> statuses = pollUntilBroken();
        assertEquals(List.of(CompletionStatus.FLUSHED, CompletionStatus.FLUSHED, CompletionStatus.FLUSHED, CompletionStatus.FLUSHED), statuses);
        assertEquals(EndpointState.ERROR, server.state());
        String why = ((TcpEndpoint) server).failure();
        assertTrue(why != null && why.contains(failureMentions), "failure '" + why + "' should mention '" + failureMentions + "'");
        assertNothingWritten();
        assertEquals(PostStatus.NOT_CONNECTED, server.postRecv(recvBuf, 0, 10, 1));
        return clientSeesTheEnd();
    }

    @Test
    void aWellFormedWriteFromTheRawClientIsApplied() throws IOException {
        send(write(target.remoteAddress(100), 50, target.rkey()));
        send(frame(ACK, 0, 0, 0, 0, 0, 0, 0));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (target.segment().get(ValueLayout.JAVA_BYTE, 149) != 0x5a) {
            assertTrue(System.nanoTime() < deadline, "write not applied");
            cq.poll(batch);
        }
        assertEquals(0, target.segment().get(ValueLayout.JAVA_BYTE, 99));
        assertEquals(0, target.segment().get(ValueLayout.JAVA_BYTE, 150));
        assertEquals(EndpointState.CONNECTED, server.state());
        // and it is acknowledged by an ACK frame of its own once the acknowledgement delay passed
        // (the server sends nothing it could ride on)
        while (raw.getInputStream().available() < HEADER_LENGTH) {
            assertTrue(System.nanoTime() < deadline, "write not acknowledged");
            cq.poll(batch);
        }
        byte[] ack = raw.getInputStream().readNBytes(HEADER_LENGTH);
        FrameFlyweight f = new FrameFlyweight(ByteBuffer.wrap(ack)).at(0);
        assertEquals(FrameFlyweight.VALID, f.validateHeader(0));
        assertEquals(ACK, f.type());
        assertEquals(1, f.ack());
    }

    /** Polls the server until {@code n} receives completed successfully. */
    private void receive(int n) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int got = 0;
        while (got < n) {
            assertTrue(System.nanoTime() < deadline, "receives not completed: " + got + " of " + n);
            int k = cq.poll(batch);
            for (int i = 0; i < k; i++) {
                assertEquals(CompletionStatus.SUCCESS, batch.status(i), batch.describe(i));
                assertEquals(Opcode.RECV, batch.opcode(i));
            }
            got += k;
        }
    }

    @Test
    void anAnswerCarriesTheAcknowledgementOfItsRequest() throws IOException {
        send(frame(SEND, 0, 100, nextSeq++, 0, 0, 0, 0));
        receive(1);
        MemoryRegion out = transport.register(arena.allocate(4096, 4096), Access.LOCAL_WRITE);
        assertEquals(PostStatus.OK, server.postSend(out, 0, 64, 77));
        byte[] h = raw.getInputStream().readNBytes(HEADER_LENGTH);
        FrameFlyweight f = new FrameFlyweight(ByteBuffer.wrap(h)).at(0);
        assertEquals(FrameFlyweight.VALID, f.validateHeader(MAX));
        assertEquals(SEND, f.type(), "the first frame back is the answer itself");
        assertEquals(1, f.ack(), "and it acknowledges the request");
    }

    /**
     * With the time rule out of the way (an acknowledgement delay of an hour), an ACK frame of its own
     * goes out exactly when half the peer's send queue (8 here) waits for one: not for 3 frames,
     * however often the server polls, and at once for the 4th.
     */
    @Test
    void anAckFrameOfItsOwnGoesOutWhenHalfThePeersSendQueueWaits() throws Exception {
        closeAll();
        ackDelay = TimeUnit.HOURS.toNanos(1);
        connectRawClient(); // the same set-up, over a transport that holds acknowledgements
        for (int i = 0; i < 3; i++) send(frame(SEND, 0, 100, nextSeq++, 0, 0, 0, 0));
        receive(3);
        for (int i = 0; i < 100; i++) cq.poll(batch);
        assertEquals(0, raw.getInputStream().available(), "no ACK frame for 3 frames of a peer that may send 8");
        assertEquals(PostStatus.OK, server.postRecv(recvBuf, 0, 1024, 600));
        send(frame(SEND, 0, 100, nextSeq++, 0, 0, 0, 0));
        receive(1);
        cq.poll(batch); // the acknowledgement goes out before the next read
        byte[] h = raw.getInputStream().readNBytes(HEADER_LENGTH);
        FrameFlyweight f = new FrameFlyweight(ByteBuffer.wrap(h)).at(0);
        assertEquals(FrameFlyweight.VALID, f.validateHeader(0));
        assertEquals(ACK, f.type());
        assertEquals(4, f.ack());
    }

    @Test
    void truncatedHeader() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        raw.getOutputStream().write(toArray(b), 0, 20);
        raw.shutdownOutput();
        rejects(ByteBuffer.allocate(0), "truncated");
    }

    @Test
    void truncatedPayload() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 4096, target.rkey());
        raw.getOutputStream().write(toArray(b), 0, HEADER_LENGTH + 100);
        raw.shutdownOutput();
        rejects(ByteBuffer.allocate(0), "truncated");
    }

    @Test
    void wrongHeaderChecksum() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        b.put(HEADER_CRC_OFFSET, (byte) (b.get(HEADER_CRC_OFFSET) ^ 1));
        assertEquals(ERR_PROTOCOL, rejects(b, "header checksum"));
    }

    @Test
    void headerFieldChangedAfterSealing() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        b.putInt(LENGTH_OFFSET, 99); // a bit flip in flight: the checksum no longer matches
        assertEquals(ERR_PROTOCOL, rejects(b, "header checksum"));
    }

    @Test
    void wrongPayloadChecksum() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 4096, target.rkey());
        b.put(HEADER_LENGTH + 4000, (byte) 1);
        assertEquals(ERR_PROTOCOL, rejects(b, "payload checksum"));
    }

    @Test
    void unknownMessageType() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        b.put(TYPE_OFFSET, (byte) 99);
        new FrameFlyweight(b).at(0).sealHeader();
        assertEquals(ERR_PROTOCOL, rejects(b, "unknown frame type"));
    }

    @Test
    void badMagicAndVersion() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        b.put(VERSION_OFFSET, (byte) 2);
        new FrameFlyweight(b).at(0).sealHeader();
        rejects(b, "unsupported version");
    }

    @Test
    void badMagic() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        b.putShort(MAGIC_OFFSET, (short) 0x1234);
        new FrameFlyweight(b).at(0).sealHeader();
        rejects(b, "bad magic");
    }

    @Test
    void unknownFlagsAndReservedBytes() throws IOException {
        ByteBuffer b = write(target.remoteAddress(0), 100, target.rkey());
        b.putInt(RESERVED1_OFFSET, 7);
        new FrameFlyweight(b).at(0).sealHeader();
        rejects(b, "reserved");
    }

    @Test
    void lengthOverTheLimitIsRejectedBeforeThePayloadIsRead() throws IOException {
        ByteBuffer b = frame(SEND, 0, 0, nextSeq, 0, 0, 0, 0);
        b.putInt(LENGTH_OFFSET, Integer.MAX_VALUE);
        new FrameFlyweight(b).at(0).sealHeader();
        rejects(b, "longer than the receiver's limit");
    }

    @Test
    void negativeLength() throws IOException {
        ByteBuffer b = frame(SEND, 0, 0, nextSeq, 0, 0, 0, 0);
        b.putInt(LENGTH_OFFSET, -5);
        new FrameFlyweight(b).at(0).sealHeader();
        rejects(b, "fields invalid");
    }

    @Test
    void writePastTheEndOfTheRegion() throws IOException {
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(target.remoteAddress(8192 - 99), 100, target.rkey()), "outside"));
    }

    @Test
    void writeBeforeTheStartOfTheRegion() throws IOException {
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(target.remoteAddress(0) - 1, 100, target.rkey()), "outside"));
    }

    @Test
    void writeAtAnAddressThatWouldOverflow() throws IOException {
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(Long.MAX_VALUE - 10, 100, target.rkey()), "outside"));
    }

    @Test
    void writeToAWrappedAroundAddress() throws IOException {
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(target.remoteAddress(0) + Long.MIN_VALUE, 100, target.rkey()), "outside"));
    }

    @Test
    void writeWithABadRkey() throws IOException {
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(target.remoteAddress(0), 100, target.rkey() + (1 << 8)), "unknown rkey"));
    }

    @Test
    void writeWithADeregisteredRkey() throws IOException {
        MemoryRegion gone = transport.register(arena.allocate(4096), Access.LOCAL_WRITE | Access.REMOTE_WRITE);
        gone.close();
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(gone.remoteAddress(0), 100, gone.rkey()), "unknown rkey"));
        assertArrayEquals(new byte[4096], gone.segment().toArray(ValueLayout.JAVA_BYTE));
    }

    @Test
    void writeIntoARegionWithoutRemoteWriteAccess() throws IOException {
        assertEquals(ERR_REMOTE_ACCESS, rejects(write(localOnly.remoteAddress(0), 100, localOnly.rkey()), "without remote-write"));
    }

    @Test
    void sequenceGap() throws IOException {
        nextSeq = 2;
        assertEquals(ERR_PROTOCOL, rejects(write(target.remoteAddress(0), 100, target.rkey()), "sequence"));
    }

    @Test
    void acknowledgementOfSomethingNeverSent() throws IOException {
        assertEquals(ERR_PROTOCOL, rejects(frame(ACK, 0, 0, 0, 5, 0, 0, 0), "acknowledges"));
    }

    @Test
    void helloAfterTheHandshake() throws IOException {
        assertEquals(ERR_PROTOCOL, rejects(Handshake.hello(OPTIONS).clear(), "unexpected HELLO"));
    }

    @Test
    void garbage() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(200);
        for (int i = 0; i < 200; i++) b.put(i, (byte) (i * 37 + 11));
        assertEquals(ERR_PROTOCOL, rejects(b, "header checksum"));
    }

    @Test
    void sendLongerThanThePostedReceive() throws IOException {
        send(frame(SEND, 0, 2000, nextSeq++, 0, 0, 0, 0));
        List<Integer> statuses = pollUntilBroken();
        assertEquals(List.of(CompletionStatus.LOCAL_LENGTH_ERROR, CompletionStatus.FLUSHED, CompletionStatus.FLUSHED,
                CompletionStatus.FLUSHED), statuses, seen.toString());
        assertNothingWritten();
        assertEquals(ERR_INVALID_REQUEST, clientSeesTheEnd());
    }

    @Test
    void aBadFrameAfterGoodOnesLeavesTheGoodOnesApplied() throws IOException {
        send(write(target.remoteAddress(0), 10, target.rkey()));
        ByteBuffer bad = write(target.remoteAddress(100), 10, target.rkey());
        bad.put(HEADER_LENGTH, (byte) 0); // payload corrupted
        send(bad);
        pollUntilBroken();
        assertEquals(0x5a, target.segment().get(ValueLayout.JAVA_BYTE, 9));
        assertEquals(0, target.segment().get(ValueLayout.JAVA_BYTE, 10));
        assertArrayEquals(new byte[200], target.segment().asSlice(50, 200).toArray(ValueLayout.JAVA_BYTE), "second write not applied");
        assertEquals(ERR_PROTOCOL, clientSeesTheEnd());
    }

    @Test
    void aBadHelloIsDroppedAndTheListenerKeepsAccepting() throws Exception {
        try (Socket bad = new Socket(listener.localAddress().getAddress(), listener.localAddress().getPort())) {
            bad.setSoTimeout(10_000);
            byte[] junk = new byte[Handshake.HELLO_FRAME];
            for (int i = 0; i < junk.length; i++) junk[i] = (byte) i;
            bad.getOutputStream().write(junk);
            CompletionQueue cq2 = transport.createCompletionQueue(64);
            CompletableFuture<Endpoint> good = CompletableFuture.supplyAsync(() -> {
                try {
                    return transport.connect(listener.localAddress(), cq2, OPTIONS, TimeUnit.SECONDS.toNanos(10));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Endpoint accepted = listener.accept(cq2, OPTIONS, TimeUnit.SECONDS.toNanos(10));
            assertNotNull(accepted, "the good client after the bad one is accepted");
            assertEquals(good.get(10, TimeUnit.SECONDS).localAddress(), accepted.remoteAddress());
            try {
                assertEquals(-1, bad.getInputStream().read(), "the bad client is cut off without a reply");
            } catch (SocketException reset) {
                // reset: also cut off
            }
            cq2.close();
        }
    }

    @Test
    void aSilentClientTimesOutTheHandshakeAndAcceptReturnsNull() throws Exception {
        try (Socket silent = new Socket(listener.localAddress().getAddress(), listener.localAddress().getPort())) {
            long t0 = System.nanoTime();
            Endpoint e = listener.accept(cq, OPTIONS, TimeUnit.MILLISECONDS.toNanos(300));
            assertEquals(null, e);
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "accept honoured its deadline");
        }
    }
}
