package io.dsf.frodo.driver;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.LibcMacros;
import io.dsf.bindings.libc.ScmRights;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;
import io.dsf.frodo.vhostuser.VhostUserProtocol;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

import static io.dsf.frodo.vhostuser.VhostUserProtocol.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A minimal vhost-user front-end (what QEMU is to the back-end): it owns a guest memory memfd,
 * negotiates, passes the memory table and sets up split rings it drives itself. Tests use it to
 * send well-formed and malformed messages and descriptor chains; the load generator can drive a
 * back-end with it. Guest-physical addresses start at {@link #GPA_BASE}; user addresses are the
 * driver's own mapping. Owned by one thread; not thread safe.
 */
public final class VhostUserDriver implements AutoCloseable {
    public static final long GPA_BASE = 0x1_0000_0000L;

    private final Arena arena = Arena.ofShared();
    private int sock;
    private final ScmRights scm = new ScmRights(8);
    private final MemorySegment msg = arena.allocate(HEADER_SIZE + MAX_PAYLOAD, 8);
    private final MemorySegment in = arena.allocate(HEADER_SIZE + MAX_PAYLOAD, 8);
    private int memfd = -1;
    private MemorySegment guest;
    private long guestSize;
    private long bump;

    private VhostUserDriver(int sock) {
        this.sock = sock;
    }

    /** Connects to a back-end's socket. */
    public static VhostUserDriver connect(Path socket) throws IOException {
        return new VhostUserDriver(open(socket));
    }

    /**
     * Drops the connection and connects to {@code socket} again, keeping the guest memory, the rings
     * and the in-flight area, as QEMU does when its back-end restarts ({@code reconnect=N}). The
     * caller then negotiates, sends the memory table, {@link #resendInflight} and
     * {@link #resumeQueue}s.
     */
    public void reconnect(Path socket) throws IOException {
        int fd = open(socket);
        Libc.close(sock);
        sock = fd;
    }

    private static int open(Path socket) throws IOException {
        int fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException("socket: " + Errno.describe(Errno.last()));
        try (Arena a = Arena.ofConfined()) {
            String p = socket.toAbsolutePath().toString();
            if (Libc.connect(fd, LibcMacros.sockaddrUn(a, p), LibcMacros.sockaddrUnLength(p)) < 0) {
                int e = Errno.last();
                Libc.close(fd);
                throw new IOException("connect " + p + ": " + Errno.describe(e));
            }
        }
        return fd;
    }

    // ------------------------------------------------------------------ messages

    /** Sends a message as given (no validation: tests send malformed ones on purpose). */
    public void sendRaw(int request, int flags, int size, MemorySegment payload, int payloadBytes, int[] fds, int nfds) throws IOException {
        msg.set(JAVA_INT_UNALIGNED, 0, request);
        msg.set(JAVA_INT_UNALIGNED, 4, flags);
        msg.set(JAVA_INT_UNALIGNED, 8, size);
        if (payloadBytes > 0) MemorySegment.copy(payload, 0, msg, HEADER_SIZE, payloadBytes);
        long rc = scm.send(sock, msg, HEADER_SIZE + payloadBytes, fds, nfds, 0);
        if (rc < 0) throw new IOException("sendmsg: " + Errno.describe((int) -rc));
        if (rc != HEADER_SIZE + payloadBytes) throw new IOException("short send " + rc);
    }

    /** Sends a well-formed request (version 1 flags, size = payload bytes). */
    public void send(int request, boolean needReply, MemorySegment payload, int payloadBytes, int... fds) throws IOException {
        sendRaw(request, VERSION | (needReply ? FLAG_NEED_REPLY : 0), payloadBytes, payload, payloadBytes, fds, fds.length);
    }

    /**
     * Reads one reply into {@link #replyPayload()}; returns its payload size, or -1 when the back-end
     * closed the connection.
     *
     * @throws IOException for a reply to another request or a malformed reply
     */
    public int readReply(int request) throws IOException {
        long n = scm.receive(sock, in, HEADER_SIZE, 0);
        if (n == 0) return -1;
        if (n < 0) {
            if (-n == Libc.ECONNRESET) return -1;
            throw new IOException("recvmsg: " + Errno.describe((int) -n));
        }
        lastReplyFd = scm.receivedFdCount() > 0 ? scm.receivedFd(0) : -1;
        readFully(n, HEADER_SIZE);
        int req = in.get(JAVA_INT_UNALIGNED, 0);
        int flags = in.get(JAVA_INT_UNALIGNED, 4);
        int size = in.get(JAVA_INT_UNALIGNED, 8);
        if (req != request || (flags & FLAG_REPLY) == 0 || size < 0 || size > MAX_PAYLOAD)
            throw new IOException("bad reply: request " + req + " flags 0x" + Integer.toHexString(flags) + " size " + size);
        readFully(HEADER_SIZE, HEADER_SIZE + size);
        return size;
    }

    private int lastReplyFd = -1;

    /** The descriptor the last reply carried, or -1 (the caller owns it). */
    public int lastReplyFd() { return lastReplyFd; }

    private void readFully(long from, long to) throws IOException {
        long at = from;
        while (at < to) {
            long n = Libc.read(sock, in.asSlice(at), to - at);
            if (n <= 0) throw new IOException("connection closed inside a reply");
            at += n;
        }
    }

    /** The payload of the last reply. */
    public MemorySegment replyPayload() { return in.asSlice(HEADER_SIZE); }

    /** Sends a request without payload that returns a u64, and returns it. */
    public long getU64(int request) throws IOException {
        send(request, false, msg, 0);
        int n = readReply(request);
        if (n != 8) throw new IOException(name(request) + ": reply of " + n + " bytes");
        return replyPayload().get(JAVA_LONG_UNALIGNED, 0);
    }

    /** Sends a u64-payload request; with REPLY_ACK negotiated and {@code ack}, returns the ack value. */
    public long setU64(int request, long v, boolean ack, int... fds) throws IOException {
        MemorySegment p = arena.allocate(8, 8);
        p.set(JAVA_LONG, 0, v);
        send(request, ack, p, 8, fds);
        if (!ack) return 0;
        int n = readReply(request);
        if (n < 0) return -1;
        return replyPayload().get(JAVA_LONG_UNALIGNED, 0);
    }

    /** Sends a vring state (index, num) request. */
    public void setState(int request, int index, int num) throws IOException {
        MemorySegment p = arena.allocate(8, 8);
        p.set(JAVA_INT_UNALIGNED, 0, index);
        p.set(JAVA_INT_UNALIGNED, 4, num);
        send(request, false, p, 8);
    }

    /** GET_VRING_BASE: stops the ring and returns its last available index. */
    public int getVringBase(int index) throws IOException {
        MemorySegment p = arena.allocate(8, 8);
        p.set(JAVA_INT_UNALIGNED, 0, index);
        send(GET_VRING_BASE, false, p, 8);
        int n = readReply(GET_VRING_BASE);
        if (n != 8) throw new IOException("GET_VRING_BASE: reply of " + n + " bytes");
        return replyPayload().get(JAVA_INT_UNALIGNED, 4);
    }

    /** GET_CONFIG of {@code len} bytes at {@code offset}; returns the config bytes. */
    public MemorySegment getConfig(int offset, int len) throws IOException {
        MemorySegment p = arena.allocate(12 + len, 8);
        p.set(JAVA_INT_UNALIGNED, 0, offset);
        p.set(JAVA_INT_UNALIGNED, 4, len);
        send(GET_CONFIG, false, p, 12 + len);
        int n = readReply(GET_CONFIG);
        if (n != 12 + len) throw new IOException("GET_CONFIG: reply of " + n + " bytes");
        return replyPayload().asSlice(12, len);
    }

    /** Standard negotiation: features (all offered but {@code dropFeatures}), protocol features, owner. */
    public long negotiate(long dropFeatures) throws IOException {
        return negotiate(-1L, dropFeatures, PROTOCOL_F_MQ | PROTOCOL_F_REPLY_ACK | PROTOCOL_F_CONFIG | PROTOCOL_F_INFLIGHT_SHMFD);
    }

    /**
     * Negotiates the offered features that are in {@code wanted} and not in {@code drop}, the offered
     * protocol features in {@code wantedProtocol}, and takes ownership; returns the features in use.
     */
    public long negotiate(long wanted, long drop, long wantedProtocol) throws IOException {
        long f = getU64(GET_FEATURES);
        long pf = 0;
        if ((f & VHOST_USER_F_PROTOCOL_FEATURES) != 0) {
            pf = getU64(GET_PROTOCOL_FEATURES) & wantedProtocol;
            setU64(SET_PROTOCOL_FEATURES, pf, false);
        }
        send(SET_OWNER, false, msg, 0);
        long use = f & wanted & ~drop;
        setU64(SET_FEATURES, use, false);
        features = use;
        protocolFeatures = pf;
        return use;
    }

    private long features;
    private long protocolFeatures;

    /** The features negotiated (0 before {@link #negotiate}). */
    public long features() { return features; }

    /** The protocol features negotiated. */
    public long protocolFeatures() { return protocolFeatures; }

    // ------------------------------------------------------------------ guest memory

    /** Creates the guest memory (a memfd of {@code bytes}) and sends it as a one-region table. */
    public MemorySegment createGuestMemory(long bytes) throws IOException {
        memfd = Errno.check(Libc.memfd_create(arena.allocateFrom("driver-guest"), Libc.MFD_CLOEXEC), "memfd_create");
        Errno.check(Libc.ftruncate(memfd, bytes), "ftruncate");
        MemorySegment m = Libc.mmap(MemorySegment.NULL, bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
        if (m.address() == Libc.MAP_FAILED.address()) throw new IOException("mmap: " + Errno.describe(Errno.last()));
        long addr = m.address();
        guest = m.reinterpret(bytes, arena, s -> Libc.munmap(MemorySegment.ofAddress(addr), bytes));
        guestSize = bytes;
        bump = 0;
        sendMemTable();
        return guest;
    }

    /** (Re)sends the one-region memory table. */
    public void sendMemTable() throws IOException {
        MemorySegment p = arena.allocate(8 + MEM_REGION_SIZE, 8);
        p.set(JAVA_INT_UNALIGNED, 0, 1);
        p.set(JAVA_INT_UNALIGNED, 4, 0);
        p.set(JAVA_LONG_UNALIGNED, 8, GPA_BASE);
        p.set(JAVA_LONG_UNALIGNED, 16, guestSize);
        p.set(JAVA_LONG_UNALIGNED, 24, guest.address());
        p.set(JAVA_LONG_UNALIGNED, 32, 0L);
        send(SET_MEM_TABLE, false, p, 8 + MEM_REGION_SIZE, memfd);
    }

    /** The memfd behind the guest memory (tests that misbehave with it, e.g. shrink it under the back-end). */
    public int memfd() { return memfd; }

    /** The guest memory (offset 0 is guest-physical {@link #GPA_BASE}). */
    public MemorySegment guest() { return guest; }

    /** Allocates {@code bytes} of guest memory aligned to {@code align}; returns its guest-physical address. */
    public long alloc(long bytes, long align) {
        long at = (bump + align - 1) & -align;
        if (at + bytes > guestSize) throw new IllegalStateException("guest memory exhausted");
        bump = at + bytes;
        return GPA_BASE + at;
    }

    /** Guest memory at a guest-physical address. */
    public MemorySegment at(long gpa, long len) { return guest.asSlice(gpa - GPA_BASE, len); }

    /** The driver's user address of a guest-physical address (what SET_VRING_ADDR carries). */
    public long uva(long gpa) { return guest.address() + (gpa - GPA_BASE); }

    /** Sets up and starts queue {@code index} with {@code size} entries; returns it. */
    public DriverQueue startQueue(int index, int size, boolean enable) throws IOException {
        DriverQueue q = new DriverQueue(this, index, size);
        setUpRing(q, 0, enable);
        return q;
    }

    /**
     * Sets an existing ring up again on this (new) connection, as QEMU restores a ring after a
     * reconnect: base = the used index in guest memory (what QEMU falls back to when it could not
     * read the base from the crashed back-end), then address, call, kick and enable.
     */
    public void resumeQueue(DriverQueue q, boolean enable) throws IOException {
        setUpRing(q, q.usedIdx(), enable);
    }

    private void setUpRing(DriverQueue q, int base, boolean enable) throws IOException {
        int index = q.index;
        setState(SET_VRING_NUM, index, q.size);
        setState(SET_VRING_BASE, index, base);
        MemorySegment p = arena.allocate(40, 8);
        p.set(JAVA_INT_UNALIGNED, 0, index);
        p.set(JAVA_INT_UNALIGNED, 4, 0);
        p.set(JAVA_LONG_UNALIGNED, 8, uva(q.descGpa));
        p.set(JAVA_LONG_UNALIGNED, 16, uva(q.usedGpa));
        p.set(JAVA_LONG_UNALIGNED, 24, uva(q.availGpa));
        p.set(JAVA_LONG_UNALIGNED, 32, 0L);
        send(SET_VRING_ADDR, false, p, 40);
        setU64(SET_VRING_CALL, index, false, q.callFd);
        setU64(SET_VRING_KICK, index, false, q.kickFd);
        if (enable) setState(SET_VRING_ENABLE, index, 1);
    }

    // ------------------------------------------------------------------ in-flight area

    private int inflightFd = -1;
    private final MemorySegment inflightDesc = arena.allocate(INFLIGHT_PAYLOAD, 8);

    /**
     * GET_INFLIGHT_FD for {@code numQueues} rings of {@code queueSize}, then SET_INFLIGHT_FD with the
     * area the back-end made (the driver keeps its descriptor for {@link #resendInflight}).
     */
    public void setUpInflight(int numQueues, int queueSize) throws IOException {
        MemorySegment p = arena.allocate(INFLIGHT_PAYLOAD, 8);
        p.set(JAVA_SHORT_UNALIGNED, 16, (short) numQueues);
        p.set(JAVA_SHORT_UNALIGNED, 18, (short) queueSize);
        send(GET_INFLIGHT_FD, false, p, INFLIGHT_PAYLOAD);
        int n = readReply(GET_INFLIGHT_FD);
        if (n != INFLIGHT_PAYLOAD || lastReplyFd < 0) throw new IOException("GET_INFLIGHT_FD: reply of " + n + " bytes, fd " + lastReplyFd);
        if (inflightFd >= 0) Libc.close(inflightFd);
        inflightFd = lastReplyFd;
        MemorySegment.copy(replyPayload(), 0, inflightDesc, 0, INFLIGHT_PAYLOAD);
        resendInflight();
    }

    /** SET_INFLIGHT_FD with the area kept from {@link #setUpInflight} (after a reconnect). */
    public void resendInflight() throws IOException {
        if (inflightFd < 0) throw new IllegalStateException("no in-flight area yet");
        send(SET_INFLIGHT_FD, false, inflightDesc, INFLIGHT_PAYLOAD, inflightFd);
    }

    /** Whether the back-end closed the connection within {@code timeoutMillis} (reads and discards). */
    public boolean closedByPeer(int timeoutMillis) {
        try (Arena a = Arena.ofConfined()) {
            int ep = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
            try {
                MemorySegment ev = epoll_event.allocateArray(1, a);
                epoll_event.events(ev, 0, Libc.EPOLLIN | Libc.EPOLLRDHUP);
                Errno.check(Libc.epoll_ctl(ep, Libc.EPOLL_CTL_ADD, sock, ev), "epoll_ctl");
                long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
                MemorySegment buf = a.allocate(4096);
                while (true) {
                    int left = (int) Math.max(0, (deadline - System.nanoTime()) / 1_000_000L);
                    int n = Libc.epoll_wait(ep, ev, 1, left);
                    if (n <= 0) return false;
                    long r = Libc.read(sock, buf, 4096);
                    if (r <= 0) return true;
                }
            } finally {
                Libc.close(ep);
            }
        }
    }

    /** The socket (tests that shut it down). */
    public int socketFd() { return sock; }

    @Override
    public void close() {
        Libc.close(sock);
        if (inflightFd >= 0) Libc.close(inflightFd);
        scm.close();
        if (memfd >= 0) Libc.close(memfd);
        arena.close();
    }
}
