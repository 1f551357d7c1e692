package io.dsf.rdma.tcp;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.protocol.FrameFlyweight;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

import static io.dsf.rdma.protocol.FrameDescriptor.*;

/**
 * One tcp-transport connection: the send side encodes frames into an outbound buffer (payload
 * copied, checksummed) and writes them at once; the receive side, driven by its completion queue,
 * reads into an inbound buffer, validates each frame completely before acting on it, places
 * sends into posted receives and writes into registered regions, and acknowledges what it placed:
 * piggybacked on the next outgoing frame, or in an ACK frame of its own once half the peer's send
 * queue waits for it or the oldest unacknowledged frame is {@link #ACK_DELAY_NANOS} old. Request /
 * answer traffic thus needs no ACK frames: each answer acknowledges its request and the next
 * request the answer (an ACK frame of its own would wake the peer a second time for every
 * message). A frame that fails any check breaks the connection: it is logged, an ERROR frame is attempted, the socket is closed,
 * nothing of the frame is written, and everything outstanding is flushed with errors.
 *
 * <p>Owned by the thread that polls its completion queue; not thread safe. Sequence numbers are
 * 32-bit and compared modulo 2^32.
 */
final class TcpEndpoint implements Endpoint {
    private static final System.Logger LOG = System.getLogger(TcpEndpoint.class.getName());
    private static final int SLACK = 64 << 10;

    private final TcpTransport transport;
    private final TcpCompletionQueue cq;
    private final SocketChannel channel;
    private final EndpointOptions options;
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final int sendMax;
    private final int recvMax;
    private final Arena arena = Arena.ofShared();
    private SelectionKey key;
    private int interest = -1;

    // outbound bytes [outStart, outEnd) are encoded and not yet written
    private final MemorySegment outSeg;
    private final ByteBuffer outBuf;
    private final FrameFlyweight outFrame;
    private int outStart;
    private int outEnd;

    // inbound bytes [inStart, inEnd) are read and not yet consumed
    private final MemorySegment inSeg;
    private final ByteBuffer inBuf;
    private final FrameFlyweight inFrame;
    private int inStart;
    private int inEnd;
    private boolean headerChecked;
    private boolean stalled;

    // sends and writes in flight: ring of sendDepth slots, oldest at sendHead, seq ackedSeq+1
    private final int sendDepth;
    private final long[] sendWrId;
    private final int[] sendOpcode;
    private final int[] sendLength;
    private int sendHead;
    private int sendCount;
    private int sendSeq;   // last sequence number sent
    private int ackedSeq;  // last sequence number the peer acknowledged

    // posted receives: FIFO of recvDepth slots
    private final int recvDepth;
    private final TcpMemoryRegion[] recvRegion;
    private final long[] recvOffset;
    private final int[] recvLength;
    private final long[] recvWrId;
    private int recvHead;
    private int recvCount;
    private int recvSeq;     // last sequence number received and placed
    private int ackSentSeq;  // last acknowledgement sent
    /** Frames received and not acknowledged that call for an ACK frame at once: half the peer's send queue. */
    private final int ackEvery;
    /** When the oldest frame not yet acknowledged was placed (System.nanoTime; meaningful while recvSeq != ackSentSeq). */
    private long unackedSince;
    /** Longest an acknowledgement waits for a frame to ride on by default (the peer's send completes only with it). */
    static final long ACK_DELAY_NANOS = 200_000;
    private final long ackDelay;

    private EndpointState state = EndpointState.CONNECTED;
    private int oldestStatus = CompletionStatus.FLUSHED; // what the oldest outstanding send gets when flushed
    private String failure;
    private boolean released;
    private Object attachment;

    TcpEndpoint(TcpTransport transport, TcpCompletionQueue cq, SocketChannel channel, EndpointOptions options, Handshake.Peer peer)
            throws IOException {
        this.transport = transport;
        this.cq = cq;
        this.channel = channel;
        this.options = options;
        this.local = (InetSocketAddress) channel.getLocalAddress();
        this.remote = (InetSocketAddress) channel.getRemoteAddress();
        this.sendMax = Math.min(options.maxMessageSize(), peer.maxMessageSize());
        this.recvMax = options.maxMessageSize();
        outSeg = arena.allocate(HEADER_LENGTH + (long) sendMax + SLACK, 64);
        outBuf = outSeg.asByteBuffer();
        outFrame = new FrameFlyweight(outBuf);
        inSeg = arena.allocate(HEADER_LENGTH + (long) recvMax + SLACK, 64);
        inBuf = inSeg.asByteBuffer();
        inFrame = new FrameFlyweight(inBuf);
        sendDepth = options.sendQueueDepth();
        sendWrId = new long[sendDepth];
        sendOpcode = new int[sendDepth];
        sendLength = new int[sendDepth];
        recvDepth = options.recvQueueDepth();
        recvRegion = new TcpMemoryRegion[recvDepth];
        recvOffset = new long[recvDepth];
        recvLength = new int[recvDepth];
        recvWrId = new long[recvDepth];
        ackEvery = Math.max(1, (peer.sendQueueDepth() + 1) / 2);
        ackDelay = transport.ackDelayNanos;
    }

    // ================================================================== posting (owner thread)

    @Override
    public int postSend(MemoryRegion region, long offset, int length, long wrId) {
        return post(SEND, 0, region, offset, length, 0L, 0, 0, wrId, Opcode.SEND);
    }

    @Override
    public int postSendWithImm(MemoryRegion region, long offset, int length, int imm, long wrId) {
        return post(SEND, FLAG_IMM, region, offset, length, 0L, 0, imm, wrId, Opcode.SEND);
    }

    @Override
    public int postWrite(MemoryRegion region, long offset, int length, long remoteAddress, int rkey, long wrId) {
        if (length <= 0) return PostStatus.BAD_LENGTH;
        return post(WRITE, 0, region, offset, length, remoteAddress, rkey, 0, wrId, Opcode.RDMA_WRITE);
    }

    @Override
    public int postWriteWithImm(MemoryRegion region, long offset, int length, long remoteAddress, int rkey, int imm, long wrId) {
        if (length <= 0) return PostStatus.BAD_LENGTH;
        return post(WRITE, FLAG_IMM, region, offset, length, remoteAddress, rkey, imm, wrId, Opcode.RDMA_WRITE);
    }

    private int post(int type, int flags, MemoryRegion region, long offset, int length, long remoteAddress, int rkey, int imm,
                     long wrId, int opcode) {
        if (state != EndpointState.CONNECTED) return PostStatus.NOT_CONNECTED;
        if (length < 0 || length > sendMax) return PostStatus.BAD_LENGTH;
        if (!(region instanceof TcpMemoryRegion r) || r.transport != transport || !r.isOpen()) return PostStatus.BAD_BUFFER;
        if (offset < 0 || offset > r.length - length) return PostStatus.BAD_BUFFER;
        if (sendCount == sendDepth) return PostStatus.SEND_QUEUE_FULL;
        int need = HEADER_LENGTH + length;
        if (!reserveOut(need)) return PostStatus.SEND_QUEUE_FULL;
        int at = outEnd;
        if (length > 0) MemorySegment.copy(r.segment, offset, outSeg, at + HEADER_LENGTH, length);
        int seq = sendSeq + 1;
        outFrame.at(at).encode(type, flags, length, seq, recvSeq, imm, rkey, remoteAddress);
        ackSentSeq = recvSeq;
        outEnd = at + need;
        int slot = sendHead + sendCount;
        if (slot >= sendDepth) slot -= sendDepth;
        sendWrId[slot] = wrId;
        sendOpcode[slot] = opcode;
        sendLength[slot] = length;
        sendCount++;
        sendSeq = seq;
        flushOut();
        return PostStatus.OK;
    }

    @Override
    public int postRecv(MemoryRegion region, long offset, int length, long wrId) {
        if (state != EndpointState.CONNECTED) return PostStatus.NOT_CONNECTED;
        if (length < 0) return PostStatus.BAD_LENGTH;
        if (!(region instanceof TcpMemoryRegion r) || r.transport != transport || !r.isOpen()
                || (r.access & Access.LOCAL_WRITE) == 0) return PostStatus.BAD_BUFFER;
        if (offset < 0 || offset > r.length - length) return PostStatus.BAD_BUFFER;
        if (recvCount == recvDepth) return PostStatus.RECV_QUEUE_FULL;
        int slot = recvHead + recvCount;
        if (slot >= recvDepth) slot -= recvDepth;
        recvRegion[slot] = r;
        recvOffset[slot] = offset;
        recvLength[slot] = length;
        recvWrId[slot] = wrId;
        recvCount++;
        stalled = false;
        return PostStatus.OK;
    }

    /** Room for {@code need} contiguous bytes at {@code outEnd}, compacting if that helps. */
    private boolean reserveOut(int need) {
        if (outStart == outEnd) outStart = outEnd = 0;
        if (outSeg.byteSize() - outEnd >= need) return true;
        if (outStart > 0) {
            MemorySegment.copy(outSeg, outStart, outSeg, 0, outEnd - outStart);
            outEnd -= outStart;
            outStart = 0;
        }
        return outSeg.byteSize() - outEnd >= need;
    }

    private void flushOut() {
        if (outStart == outEnd) return;
        outBuf.limit(outEnd).position(outStart);
        try {
            channel.write(outBuf);
        } catch (IOException e) {
            fail(CompletionStatus.TRANSPORT_ERROR, "write failed: " + e.getMessage(), false);
            return;
        }
        outStart = outBuf.position();
        if (outStart == outEnd) outStart = outEnd = 0;
    }

    // ================================================================== progress (called by the completion queue, owner thread)

    void attach(Selector selector) throws IOException {
        if (state != EndpointState.CONNECTED) return;
        key = channel.register(selector, SelectionKey.OP_READ, this);
        interest = SelectionKey.OP_READ;
    }

    /** Before the selector runs: acknowledgements due since the last poll, unsent bytes, frames left unparsed. */
    void beforeRead() {
        if (state != EndpointState.CONNECTED) return;
        int owed = recvSeq - ackSentSeq;
        if (owed != 0 && (owed >= ackEvery || System.nanoTime() - unackedSince >= ackDelay) && reserveOut(HEADER_LENGTH)) {
            outFrame.at(outEnd).encode(ACK, 0, 0, 0, recvSeq, 0, 0, 0L);
            ackSentSeq = recvSeq;
            outEnd += HEADER_LENGTH;
        }
        flushOut();
        if (!stalled && inEnd - inStart >= HEADER_LENGTH) parse();
    }

    /** Nanoseconds until an acknowledgement this endpoint owes falls due (Long.MAX_VALUE: none owed). */
    long ackDueIn(long now) {
        if (state != EndpointState.CONNECTED || recvSeq == ackSentSeq) return Long.MAX_VALUE;
        return Math.max(0, ackDelay - (now - unackedSince));
    }

    void onReady(SelectionKey k) {
        if (state != EndpointState.CONNECTED) return;
        if (k.isWritable()) flushOut();
        if (k.isReadable() && state == EndpointState.CONNECTED) readAndParse();
    }

    private void readAndParse() {
        if (inStart == inEnd) inStart = inEnd = 0;
        if (inEnd == inBuf.capacity()) {
            if (inStart == 0) return; // full of frames waiting for receives or completion-queue room
            MemorySegment.copy(inSeg, inStart, inSeg, 0, inEnd - inStart);
            inEnd -= inStart;
            inStart = 0;
        }
        inBuf.limit(inBuf.capacity()).position(inEnd);
        int n;
        try {
            n = channel.read(inBuf);
        } catch (IOException e) {
            fail(CompletionStatus.TRANSPORT_ERROR, "read failed: " + e.getMessage(), false);
            return;
        }
        if (n < 0) {
            if (inEnd > inStart) fail(CompletionStatus.TRANSPORT_ERROR, "truncated frame: peer closed after " + (inEnd - inStart)
                    + " bytes of a frame", true);
            else fail(CompletionStatus.TRANSPORT_ERROR, "peer closed the connection", false);
            return;
        }
        inEnd = inBuf.position();
        parse();
    }

    /** Consumes complete frames while receives and completion-queue room allow. */
    private void parse() {
        while (state == EndpointState.CONNECTED) {
            int avail = inEnd - inStart;
            if (avail < HEADER_LENGTH) break;
            FrameFlyweight f = inFrame.at(inStart);
            if (!headerChecked) {
                int problem = f.validateHeader(recvMax);
                if (problem != FrameFlyweight.VALID) {
                    reject(ERR_PROTOCOL, f.seq(), "bad frame header: " + FrameFlyweight.problemName(problem));
                    return;
                }
                headerChecked = true;
            }
            int length = f.length();
            int need = HEADER_LENGTH + length;
            if (avail < need) {
                if (inBuf.capacity() - inStart < need) { // make room for the rest of this frame
                    MemorySegment.copy(inSeg, inStart, inSeg, 0, avail);
                    inEnd = avail;
                    inStart = 0;
                }
                break;
            }
            if (cq.ring.free() < 1 + sendCount) break; // the completions this frame may raise must fit
            if (!f.payloadValid()) {
                reject(ERR_PROTOCOL, f.seq(), "payload checksum mismatch (" + typeName(f.type()) + ", " + length + " bytes)");
                return;
            }
            if (!applyAck(f.ack())) {
                reject(ERR_PROTOCOL, 0, "acknowledges " + Integer.toUnsignedString(f.ack()) + " but only "
                        + Integer.toUnsignedString(sendSeq) + " were sent");
                return;
            }
            boolean consumed = switch (f.type()) {
                case SEND -> onSend(f);
                case WRITE -> onWrite(f);
                case ACK -> true;
                case ERROR -> onError(f);
                default -> { // HELLO after the handshake
                    reject(ERR_PROTOCOL, 0, "unexpected " + typeName(f.type()) + " frame");
                    yield false;
                }
            };
            if (!consumed) return;
            inStart += need;
            headerChecked = false;
        }
        if (inStart == inEnd) inStart = inEnd = 0;
    }

    /** Completes sends up to {@code ack}; false when it acknowledges something never sent. */
    private boolean applyAck(int ack) {
        int d = ack - ackedSeq;
        if (d == 0) return true;
        if (d < 0 || d > sendCount) return false;
        for (int i = 0; i < d; i++) {
            int slot = sendHead;
            cq.ring.add(this, sendWrId[slot], sendOpcode[slot], CompletionStatus.SUCCESS, sendLength[slot], 0, false);
            sendHead = slot + 1 == sendDepth ? 0 : slot + 1;
            sendCount--;
        }
        ackedSeq = ack;
        return true;
    }

    private boolean inOrder(FrameFlyweight f) {
        if (f.seq() == recvSeq + 1) return true;
        reject(ERR_PROTOCOL, f.seq(), "sequence " + Integer.toUnsignedString(f.seq()) + " where "
                + Integer.toUnsignedString(recvSeq + 1) + " was due");
        return false;
    }

    private boolean onSend(FrameFlyweight f) {
        if (!inOrder(f)) return false;
        if (recvCount == 0) { // receiver not ready: hold the frame (and the stream) until a receive is posted
            stalled = true;
            return false;
        }
        int slot = recvHead;
        int length = f.length();
        TcpMemoryRegion r = recvRegion[slot];
        long wrId = recvWrId[slot];
        recvRegion[slot] = null;
        recvHead = slot + 1 == recvDepth ? 0 : slot + 1;
        recvCount--;
        if (length > recvLength[slot]) {
            cq.ring.add(this, wrId, Opcode.RECV, CompletionStatus.LOCAL_LENGTH_ERROR, length, 0, false);
            reject(ERR_INVALID_REQUEST, f.seq(), "send of " + length + " bytes into a receive of " + recvLength[slot]);
            return false;
        }
        try {
            if (length > 0) MemorySegment.copy(inSeg, f.payloadOffset(), r.segment, recvOffset[slot], length);
        } catch (RuntimeException e) { // the receive buffer's memory went away under it
            cq.ring.add(this, wrId, Opcode.RECV, CompletionStatus.GENERAL_ERROR, 0, 0, false);
            reject(ERR_INVALID_REQUEST, f.seq(), "receive buffer unusable: " + e.getMessage());
            return false;
        }
        if (recvSeq == ackSentSeq) unackedSince = System.nanoTime();
        recvSeq = f.seq();
        cq.ring.add(this, wrId, Opcode.RECV, CompletionStatus.SUCCESS, length, f.imm(), f.hasImm());
        return true;
    }

    private boolean onWrite(FrameFlyweight f) {
        if (!inOrder(f)) return false;
        boolean imm = f.hasImm();
        if (imm && recvCount == 0) {
            stalled = true;
            return false;
        }
        int length = f.length();
        long address = f.remoteAddress();
        TcpMemoryRegion r = transport.lookup(f.rkey());
        if (r == null) {
            reject(ERR_REMOTE_ACCESS, f.seq(), "write with unknown rkey 0x" + Integer.toHexString(f.rkey()));
            return false;
        }
        if ((r.access & Access.REMOTE_WRITE) == 0) {
            reject(ERR_REMOTE_ACCESS, f.seq(), "write into " + r + " without remote-write access");
            return false;
        }
        long off = address - r.address;
        if (off < 0 || off > r.length - length) {
            reject(ERR_REMOTE_ACCESS, f.seq(), "write of " + length + " bytes at 0x" + Long.toHexString(address)
                    + " outside " + r + " at 0x" + Long.toHexString(r.address));
            return false;
        }
        try {
            MemorySegment.copy(inSeg, f.payloadOffset(), r.segment, off, length);
        } catch (RuntimeException e) {
            reject(ERR_REMOTE_ACCESS, f.seq(), "region unusable: " + e.getMessage());
            return false;
        }
        if (recvSeq == ackSentSeq) unackedSince = System.nanoTime();
        recvSeq = f.seq();
        if (imm) {
            int slot = recvHead;
            long wrId = recvWrId[slot];
            recvRegion[slot] = null;
            recvHead = slot + 1 == recvDepth ? 0 : slot + 1;
            recvCount--;
            cq.ring.add(this, wrId, Opcode.RECV_RDMA_WITH_IMM, CompletionStatus.SUCCESS, length, f.imm(), true);
        }
        return true;
    }

    /** The peer refused our request {@code seq}: everything before it arrived; it gets the peer's verdict. */
    private boolean onError(FrameFlyweight f) {
        int seq = f.seq();
        int d = seq - ackedSeq;
        if (d >= 1 && d <= sendCount) applyAck(seq - 1);
        int status = switch (f.imm()) {
            case ERR_REMOTE_ACCESS -> CompletionStatus.REMOTE_ACCESS_ERROR;
            case ERR_INVALID_REQUEST -> CompletionStatus.REMOTE_INVALID_REQUEST;
            default -> CompletionStatus.TRANSPORT_ERROR;
        };
        fail(status, "peer reported " + CompletionStatus.name(status) + " for request " + Integer.toUnsignedString(seq), true);
        return false;
    }

    /** A frame failed a check: nothing of it is applied; tell the peer (best effort) and break the connection. */
    private void reject(int errorCode, int seq, String why) {
        if (reserveOut(HEADER_LENGTH)) {
            outFrame.at(outEnd).encode(ERROR, 0, 0, seq, recvSeq, errorCode, 0, 0L);
            outEnd += HEADER_LENGTH;
            flushOut();
        }
        fail(CompletionStatus.TRANSPORT_ERROR, "rejected frame from " + remote + ": " + why, true);
    }

    /**
     * Breaks the connection (once): the socket is closed, and later polls flush what is outstanding
     * (the oldest send gets {@code oldest}, the rest {@link CompletionStatus#FLUSHED}).
     */
    void fail(int oldest, String why, boolean warn) {
        if (state != EndpointState.CONNECTED) return;
        state = EndpointState.ERROR;
        oldestStatus = oldest;
        failure = why;
        LOG.log(warn ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG, "endpoint " + local + " -> " + remote + ": " + why);
        closeChannel();
    }

    private void closeChannel() {
        if (key != null) key.cancel();
        TcpTransport.closeQuietly(channel);
    }

    /** After the selector ran: for a broken or closed endpoint, flush into the ring; true once nothing is left (remove it). */
    boolean afterRead() {
        if (state == EndpointState.CONNECTED) return false;
        while (sendCount > 0 && cq.ring.free() > 0) {
            int slot = sendHead;
            cq.ring.add(this, sendWrId[slot], sendOpcode[slot], oldestStatus, 0, 0, false);
            oldestStatus = CompletionStatus.FLUSHED;
            sendHead = slot + 1 == sendDepth ? 0 : slot + 1;
            sendCount--;
        }
        while (recvCount > 0 && cq.ring.free() > 0) {
            int slot = recvHead;
            cq.ring.add(this, recvWrId[slot], Opcode.RECV, CompletionStatus.FLUSHED, 0, 0, false);
            recvRegion[slot] = null;
            recvHead = slot + 1 == recvDepth ? 0 : slot + 1;
            recvCount--;
        }
        if (sendCount > 0 || recvCount > 0) return false;
        release();
        return true;
    }

    /** Frees the buffers (owner thread; once nothing can use them). */
    void release() {
        if (released) return;
        released = true;
        arena.close();
    }

    /** Sets the selector interest for a blocking wait: reads unless the inbound buffer is full and stuck; writes while bytes wait. */
    void updateInterest() {
        if (state != EndpointState.CONNECTED || key == null || !key.isValid()) return;
        boolean inboundFull = inStart == 0 && inEnd == inBuf.capacity();
        int want = (inboundFull ? 0 : SelectionKey.OP_READ) | (outStart != outEnd ? SelectionKey.OP_WRITE : 0);
        if (want != interest) {
            key.interestOps(want);
            interest = want;
        }
    }

    // ================================================================== state

    @Override public EndpointState state() { return state; }
    @Override public int maxMessageSize() { return sendMax; }
    @Override public EndpointOptions options() { return options; }
    @Override public int sendsOutstanding() { return sendCount; }
    @Override public int recvsOutstanding() { return recvCount; }
    @Override public InetSocketAddress remoteAddress() { return remote; }
    @Override public InetSocketAddress localAddress() { return local; }
    @Override public CompletionQueue completionQueue() { return cq; }
    @Override public Object attachment() { return attachment; }
    @Override public void attach(Object attachment) { this.attachment = attachment; }

    /** Why the endpoint broke ({@code null} while connected or after a plain close). */
    String failure() {
        return failure;
    }

    @Override
    public void close() {
        if (state != EndpointState.CONNECTED) return;
        state = EndpointState.CLOSED;
        oldestStatus = CompletionStatus.FLUSHED;
        flushOut();
        closeChannel();
    }

    @Override
    public String toString() {
        return "TcpEndpoint[" + local + " -> " + remote + ", " + state + "]";
    }
}
