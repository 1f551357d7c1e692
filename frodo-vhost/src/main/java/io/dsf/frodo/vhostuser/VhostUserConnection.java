package io.dsf.frodo.vhostuser;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ScmRights;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.frodo.virtq.GuestMemory;
import io.dsf.frodo.virtq.InflightQueue;
import io.dsf.frodo.virtq.VirtioDevice;
import io.dsf.frodo.virtq.VirtqueueWorker;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.dsf.frodo.vhostuser.VhostUserProtocol.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * One front-end connection: reads each message (header, payload, passed descriptors), validates it
 * completely before acting (size, flags, descriptor count, indices, values), applies it to the
 * vring states and the queue workers, and replies. Any violation is a {@link VhostUserException}:
 * logged, answered with a failed REPLY_ACK when one was asked for, and the connection is closed;
 * queues are stopped (waiting for their requests in flight), passed descriptors closed, guest memory
 * unmapped. Runs on the server's accept thread; {@link #shutdown} may be called from any thread.
 */
final class VhostUserConnection {
    private static final System.Logger LOG = System.getLogger(VhostUserConnection.class.getName());
    private static final int MAX_FDS = GuestMemory.MAX_REGIONS;

    /** State of one vring as the front-end configured it. Connection thread only. */
    private static final class Vring {
        int num;
        long descUva, usedUva, availUva;
        boolean addrSet;
        int base;
        int kickFd = -1;
        boolean kickNoFd;
        int errFd = -1;
        boolean started;
        boolean enabled;
    }

    private final VhostUserServer server;
    private final VirtioDevice device;
    private final VhostOptions opts;
    private final int sock;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment hdr;
    private final MemorySegment payload;
    private final MemorySegment reply;
    private final ScmRights scm = new ScmRights(MAX_FDS);
    private final int[] fds = new int[MAX_FDS];
    private int nfds;
    private final Vring[] vrings;
    private final long offeredFeatures;
    private final long offeredProtocol;
    private long ackedFeatures;
    private long ackedProtocol;
    private GuestMemory memory;
    private InflightArea inflight;
    private volatile boolean abandonOnClose;
    private volatile boolean shutdown;
    private final long[] messages = new long[64];

    VhostUserConnection(VhostUserServer server, VirtioDevice device, VhostOptions opts, int sock) {
        this.server = server;
        this.device = device;
        this.opts = opts;
        this.sock = sock;
        this.hdr = arena.allocate(HEADER_SIZE, 8);
        this.payload = arena.allocate(MAX_PAYLOAD, 8);
        this.reply = arena.allocate(HEADER_SIZE + MAX_PAYLOAD, 8);
        this.vrings = new Vring[device.maxQueues()];
        for (int i = 0; i < vrings.length; i++) vrings[i] = new Vring();
        this.offeredFeatures = device.features() | VHOST_USER_F_PROTOCOL_FEATURES;
        this.offeredProtocol = PROTOCOL_F_MQ | PROTOCOL_F_REPLY_ACK | PROTOCOL_F_INFLIGHT_SHMFD | device.protocolFeatures();
    }

    /** Ends the connection from another thread: the serving thread sees end of stream and tears down. */
    void shutdown(boolean abandon) {
        if (abandon) abandonOnClose = true;
        shutdown = true;
        Libc.shutdown(sock, Libc.SHUT_RDWR);
    }

    /** Serves messages until the front-end disconnects or breaks the protocol, then tears down. */
    void serve() {
        String why = "front-end disconnected";
        try {
            while (!shutdown && readMessage()) {
                handle();
            }
        } catch (VhostUserException e) {
            why = e.getMessage();
            LOG.log(System.Logger.Level.WARNING, "{0}: closing the vhost-user connection: {1}", device.name(), why);
        } catch (RuntimeException e) {
            why = e.toString();
            LOG.log(System.Logger.Level.ERROR, device.name() + ": closing the vhost-user connection after an internal error", e);
        } finally {
            closeFds();
            teardown();
            LOG.log(System.Logger.Level.DEBUG, "{0}: connection closed ({1})", device.name(), why);
        }
    }

    // ------------------------------------------------------------------ reading

    private int request;
    private int flags;
    private int size;

    private boolean readMessage() {
        nfds = 0;
        long rc = scm.receive(sock, hdr, HEADER_SIZE, 0);
        if (rc == 0) return false;
        if (rc < 0) {
            if (shutdown) return false;
            throw new VhostUserException("recvmsg: " + Errno.describe((int) -rc));
        }
        if (scm.controlTruncated()) throw new VhostUserException("more than " + MAX_FDS + " file descriptors in one message");
        nfds = scm.receivedFdCount();
        for (int i = 0; i < nfds; i++) fds[i] = scm.receivedFd(i);
        if (rc < HEADER_SIZE) readFully(hdr, rc, HEADER_SIZE, "header");
        request = hdr.get(JAVA_INT_UNALIGNED, 0);
        flags = hdr.get(JAVA_INT_UNALIGNED, 4);
        size = hdr.get(JAVA_INT_UNALIGNED, 8);
        String what = name(request);
        if ((flags & VERSION_MASK) != VERSION)
            throw new VhostUserException(what + ": protocol version " + (flags & VERSION_MASK) + ", expected 1");
        if ((flags & ~(VERSION_MASK | FLAG_NEED_REPLY)) != 0)
            throw new VhostUserException(what + ": unexpected flags 0x" + Integer.toHexString(flags));
        if (size < 0 || size > MAX_PAYLOAD)
            throw new VhostUserException(what + ": payload size " + Integer.toUnsignedString(size) + " above " + MAX_PAYLOAD);
        if (size > 0) readFully(payload, 0, size, what + " payload");
        return true;
    }

    private void readFully(MemorySegment buf, long from, long to, String what) {
        long at = from;
        while (at < to) {
            long n = Libc.read(sock, buf.asSlice(at), to - at);
            if (n == 0) throw new VhostUserException("end of stream inside a message's " + what);
            if (n < 0) {
                int e = Errno.last();
                if (e == Libc.EINTR) continue;
                throw new VhostUserException("read: " + Errno.describe(e));
            }
            at += n;
        }
    }

    // ------------------------------------------------------------------ dispatch

    private void handle() {
        if (request > 0 && request < messages.length) messages[request]++;
        boolean needAck = (flags & FLAG_NEED_REPLY) != 0 && (ackedProtocol & PROTOCOL_F_REPLY_ACK) != 0;
        try {
            boolean replied = dispatch();
            if (needAck && !replied) sendU64Reply(0);
        } catch (VhostUserException e) {
            if (needAck) {
                try {
                    sendU64Reply(1);
                } catch (RuntimeException ignored) {
                    // the connection closes anyway
                }
            }
            throw e;
        } finally {
            closeFds();
        }
    }

    /** Handles the current message; returns true when it sent its own reply. */
    private boolean dispatch() {
        String what = name(request);
        switch (request) {
            case GET_FEATURES -> {
                expect(0, 0);
                sendU64Reply(offeredFeatures);
                return true;
            }
            case SET_FEATURES -> {
                expect(8, 0);
                long f = payload.get(JAVA_LONG_UNALIGNED, 0);
                if ((f & ~offeredFeatures) != 0)
                    throw new VhostUserException(what + ": features 0x" + Long.toHexString(f & ~offeredFeatures) + " were not offered");
                boolean[] running = stopRunning();
                ackedFeatures = f;
                device.featuresAcked(f);
                restart(running);
                return false;
            }
            case SET_OWNER -> {
                expect(0, 0);
                return false;
            }
            case RESET_OWNER -> {
                expect(0, 0);
                resetAll();
                return false;
            }
            case SET_MEM_TABLE -> {
                setMemTable();
                return false;
            }
            case SET_VRING_NUM -> {
                expect(8, 0);
                Vring v = vring(payload.get(JAVA_INT_UNALIGNED, 0), what);
                int num = payload.get(JAVA_INT_UNALIGNED, 4);
                requireStopped(payload.get(JAVA_INT_UNALIGNED, 0), what);
                if (num < 1 || num > 32768 || Integer.bitCount(num) != 1)
                    throw new VhostUserException(what + ": ring size " + Integer.toUnsignedString(num) + " is not a power of two in 1..32768");
                v.num = num;
                return false;
            }
            case SET_VRING_ADDR -> {
                expect(40, 0);
                Vring v = vring(payload.get(JAVA_INT_UNALIGNED, 0), what);
                int fl = payload.get(JAVA_INT_UNALIGNED, 4);
                if ((fl & ~1) != 0) throw new VhostUserException(what + ": unknown flags 0x" + Integer.toHexString(fl));
                requireStopped(payload.get(JAVA_INT_UNALIGNED, 0), what);
                v.descUva = payload.get(JAVA_LONG_UNALIGNED, 8);
                v.usedUva = payload.get(JAVA_LONG_UNALIGNED, 16);
                v.availUva = payload.get(JAVA_LONG_UNALIGNED, 24);
                v.addrSet = true;
                return false;
            }
            case SET_VRING_BASE -> {
                expect(8, 0);
                Vring v = vring(payload.get(JAVA_INT_UNALIGNED, 0), what);
                int base = payload.get(JAVA_INT_UNALIGNED, 4);
                requireStopped(payload.get(JAVA_INT_UNALIGNED, 0), what);
                if (base < 0 || base > 0xffff) throw new VhostUserException(what + ": base " + Integer.toUnsignedString(base) + " above 65535");
                v.base = base;
                return false;
            }
            case GET_VRING_BASE -> {
                expect(8, 0);
                int idx = payload.get(JAVA_INT_UNALIGNED, 0);
                Vring v = vring(idx, what);
                stopQueue(idx);
                v.started = false;
                closeFd(v.kickFd);
                v.kickFd = -1;
                reply.set(JAVA_INT_UNALIGNED, HEADER_SIZE, idx);
                reply.set(JAVA_INT_UNALIGNED, HEADER_SIZE + 4, v.base);
                sendReply(8, -1);
                return true;
            }
            case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> {
                vringFd(what);
                return false;
            }
            case GET_PROTOCOL_FEATURES -> {
                expect(0, 0);
                sendU64Reply(offeredProtocol);
                return true;
            }
            case SET_PROTOCOL_FEATURES -> {
                expect(8, 0);
                long f = payload.get(JAVA_LONG_UNALIGNED, 0);
                if ((f & ~offeredProtocol) != 0)
                    throw new VhostUserException(what + ": protocol features 0x" + Long.toHexString(f & ~offeredProtocol) + " were not offered");
                ackedProtocol = f;
                return false;
            }
            case GET_QUEUE_NUM -> {
                expect(0, 0);
                sendU64Reply(device.maxQueues());
                return true;
            }
            case SET_VRING_ENABLE -> {
                expect(8, 0);
                int idx = payload.get(JAVA_INT_UNALIGNED, 0);
                Vring v = vring(idx, what);
                int on = payload.get(JAVA_INT_UNALIGNED, 4);
                if (on != 0 && on != 1) throw new VhostUserException(what + ": value " + Integer.toUnsignedString(on) + " is neither 0 nor 1");
                v.enabled = on == 1;
                if (v.enabled) maybeStart(idx);
                else stopQueue(idx);
                return false;
            }
            case GET_CONFIG -> {
                int[] c = config(what);
                MemorySegment space = arena.allocate(MAX_CONFIG_SIZE); // control path, rare
                device.readConfig(space.asSlice(0, device.configSize()));
                reply.set(JAVA_INT_UNALIGNED, HEADER_SIZE, c[0]);
                reply.set(JAVA_INT_UNALIGNED, HEADER_SIZE + 4, c[1]);
                reply.set(JAVA_INT_UNALIGNED, HEADER_SIZE + 8, c[2]);
                MemorySegment.copy(space, c[0], reply, HEADER_SIZE + 12, c[1]);
                sendReply(12 + c[1], -1);
                return true;
            }
            case SET_CONFIG -> {
                int[] c = config(what);
                if (!device.writeConfig(c[0], payload.asSlice(12, c[1])))
                    throw new VhostUserException(what + ": the device refuses writes at offset " + c[0] + " (" + c[1] + " bytes)");
                return false;
            }
            case GET_INFLIGHT_FD -> {
                getInflight(what);
                return true;
            }
            case SET_INFLIGHT_FD -> {
                setInflight(what);
                return false;
            }
            default -> throw new VhostUserException("unsupported " + what);
        }
    }

    private void expect(int payloadSize, int fdCount) {
        if (size != payloadSize)
            throw new VhostUserException(name(request) + ": payload of " + size + " bytes, expected " + payloadSize);
        if (nfds != fdCount)
            throw new VhostUserException(name(request) + ": " + nfds + " file descriptors, expected " + fdCount);
    }

    private Vring vring(int idx, String what) {
        if (idx < 0 || idx >= vrings.length)
            throw new VhostUserException(what + ": vring index " + Integer.toUnsignedString(idx) + " outside 0.." + (vrings.length - 1));
        return vrings[idx];
    }

    private void requireStopped(int idx, String what) {
        if (server.worker(idx).running()) throw new VhostUserException(what + ": vring " + idx + " is running");
    }

    private void vringFd(String what) {
        if (size != 8) throw new VhostUserException(what + ": payload of " + size + " bytes, expected 8");
        long u = payload.get(JAVA_LONG_UNALIGNED, 0);
        if ((u & ~(VRING_IDX_MASK | VRING_NOFD_MASK)) != 0)
            throw new VhostUserException(what + ": unknown bits in 0x" + Long.toHexString(u));
        int idx = (int) (u & VRING_IDX_MASK);
        Vring v = vring(idx, what);
        boolean noFd = (u & VRING_NOFD_MASK) != 0;
        if (nfds != (noFd ? 0 : 1))
            throw new VhostUserException(what + ": " + nfds + " file descriptors with the no-descriptor bit " + (noFd ? "set" : "clear"));
        int fd = noFd ? -1 : takeFd(0);
        VirtqueueWorker w = server.worker(idx);
        switch (request) {
            case SET_VRING_CALL -> w.setCallFd(fd);
            case SET_VRING_ERR -> {
                boolean running = w.running();
                if (running) stopQueue(idx);
                closeFd(v.errFd);
                v.errFd = fd;
                if (running) maybeStart(idx);
            }
            default -> { // kick: (re)starts the ring
                if (w.running()) stopQueue(idx);
                closeFd(v.kickFd);
                v.kickFd = fd;
                v.kickNoFd = noFd;
                v.started = true;
                if ((ackedFeatures & VHOST_USER_F_PROTOCOL_FEATURES) == 0) v.enabled = true;
                maybeStart(idx);
            }
        }
    }

    private int[] config(String what) {
        if ((offeredProtocol & PROTOCOL_F_CONFIG) == 0) throw new VhostUserException(what + ": the device has no configuration space");
        if (nfds != 0) throw new VhostUserException(what + ": " + nfds + " file descriptors, expected 0");
        if (size < 12) throw new VhostUserException(what + ": payload of " + size + " bytes, below the 12-byte header");
        int off = payload.get(JAVA_INT_UNALIGNED, 0);
        int len = payload.get(JAVA_INT_UNALIGNED, 4);
        int fl = payload.get(JAVA_INT_UNALIGNED, 8);
        if (len < 0 || len > MAX_CONFIG_SIZE || size != 12 + len)
            throw new VhostUserException(what + ": config size " + Integer.toUnsignedString(len) + " does not match the payload of " + size);
        if (off < 0 || off > MAX_CONFIG_SIZE - len)
            throw new VhostUserException(what + ": range " + Integer.toUnsignedString(off) + "+" + len + " outside the " + MAX_CONFIG_SIZE + "-byte space");
        return new int[] {off, len, fl};
    }

    private void setMemTable() {
        String what = name(request);
        if (size < 8) throw new VhostUserException(what + ": payload of " + size + " bytes, below 8");
        int n = payload.get(JAVA_INT_UNALIGNED, 0);
        if (n < 1 || n > GuestMemory.MAX_REGIONS)
            throw new VhostUserException(what + ": " + Integer.toUnsignedString(n) + " regions, expected 1.." + GuestMemory.MAX_REGIONS);
        if (size != 8 + MEM_REGION_SIZE * n && size != 8 + MEM_REGION_SIZE * GuestMemory.MAX_REGIONS)
            throw new VhostUserException(what + ": payload of " + size + " bytes does not fit " + n + " regions");
        if (nfds != n) throw new VhostUserException(what + ": " + nfds + " file descriptors for " + n + " regions");
        long[] gpa = new long[n], sz = new long[n], uva = new long[n], off = new long[n];
        int[] rfds = new int[n];
        for (int i = 0; i < n; i++) {
            long at = 8 + (long) MEM_REGION_SIZE * i;
            gpa[i] = payload.get(JAVA_LONG_UNALIGNED, at);
            sz[i] = payload.get(JAVA_LONG_UNALIGNED, at + 8);
            uva[i] = payload.get(JAVA_LONG_UNALIGNED, at + 16);
            off[i] = payload.get(JAVA_LONG_UNALIGNED, at + 24);
            rfds[i] = fds[i];
        }
        GuestMemory m;
        try {
            m = GuestMemory.map(gpa, sz, uva, off, rfds);
        } catch (IllegalArgumentException e) {
            throw new VhostUserException(what + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new VhostUserException(what + ": " + e.getMessage(), e);
        }
        // the regions are mapped; the descriptors are closed with the message
        boolean[] running;
        try {
            running = stopRunning();
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        GuestMemory old = memory;
        memory = m;
        if (old != null) old.close();
        restart(running);
    }

    private void getInflight(String what) {
        expect(INFLIGHT_PAYLOAD, 0);
        int numQueues = Short.toUnsignedInt(payload.get(JAVA_SHORT_UNALIGNED, 16));
        int queueSize = Short.toUnsignedInt(payload.get(JAVA_SHORT_UNALIGNED, 18));
        if (numQueues < 1 || numQueues > vrings.length)
            throw new VhostUserException(what + ": " + numQueues + " queues, expected 1.." + vrings.length);
        if (queueSize < 1 || queueSize > 32768 || Integer.bitCount(queueSize) != 1)
            throw new VhostUserException(what + ": queue size " + queueSize + " is not a power of two in 1..32768");
        requireNoneRunning(what);
        int[] fd = new int[1];
        InflightArea ia;
        try {
            ia = InflightArea.create(numQueues, queueSize, fd);
        } catch (RuntimeException e) {
            throw new VhostUserException(what + ": " + e.getMessage(), e);
        }
        if (inflight != null) inflight.close();
        inflight = ia;
        reply.set(JAVA_LONG_UNALIGNED, HEADER_SIZE, ia.mmapSize());
        reply.set(JAVA_LONG_UNALIGNED, HEADER_SIZE + 8, 0L);
        reply.set(JAVA_SHORT_UNALIGNED, HEADER_SIZE + 16, (short) numQueues);
        reply.set(JAVA_SHORT_UNALIGNED, HEADER_SIZE + 18, (short) queueSize);
        reply.set(JAVA_INT_UNALIGNED, HEADER_SIZE + 20, 0);
        try {
            sendReply(INFLIGHT_PAYLOAD, fd[0]);
        } finally {
            Libc.close(fd[0]);
        }
    }

    private void setInflight(String what) {
        expect(INFLIGHT_PAYLOAD, 1);
        long mmapSize = payload.get(JAVA_LONG_UNALIGNED, 0);
        long mmapOffset = payload.get(JAVA_LONG_UNALIGNED, 8);
        int numQueues = Short.toUnsignedInt(payload.get(JAVA_SHORT_UNALIGNED, 16));
        int queueSize = Short.toUnsignedInt(payload.get(JAVA_SHORT_UNALIGNED, 18));
        if (numQueues < 1 || numQueues > vrings.length)
            throw new VhostUserException(what + ": " + numQueues + " queues, expected 1.." + vrings.length);
        if (queueSize < 1 || queueSize > 32768 || Integer.bitCount(queueSize) != 1)
            throw new VhostUserException(what + ": queue size " + queueSize + " is not a power of two in 1..32768");
        long need = InflightArea.size(numQueues, queueSize);
        if (mmapSize < need || mmapSize > (1L << 32))
            throw new VhostUserException(what + ": area of " + mmapSize + " bytes, " + need + " needed for " + numQueues + " queues of " + queueSize);
        if (mmapOffset < 0 || mmapOffset > (1L << 32) || (mmapOffset & 4095) != 0)
            throw new VhostUserException(what + ": mmap offset " + mmapOffset + " is not a page-aligned value below 4 GiB");
        requireNoneRunning(what);
        InflightArea ia;
        try {
            ia = InflightArea.map(fds[0], mmapSize, mmapOffset, numQueues, queueSize);
        } catch (RuntimeException e) {
            throw new VhostUserException(what + ": " + e.getMessage(), e);
        }
        if (inflight != null) inflight.close();
        inflight = ia;
    }

    private void requireNoneRunning(String what) {
        for (int i = 0; i < vrings.length; i++)
            if (server.worker(i).running()) throw new VhostUserException(what + ": vring " + i + " is running");
    }

    // ------------------------------------------------------------------ queues

    private void maybeStart(int idx) {
        Vring v = vrings[idx];
        VirtqueueWorker w = server.worker(idx);
        if (!v.started || !v.enabled || w.running()) return;
        String what = "starting vring " + idx;
        if (memory == null) throw new VhostUserException(what + ": no memory table yet");
        if (v.num == 0) throw new VhostUserException(what + ": no ring size yet");
        if (!v.addrSet) throw new VhostUserException(what + ": no ring addresses yet");
        InflightQueue iq = inflight != null && (ackedProtocol & PROTOCOL_F_INFLIGHT_SHMFD) != 0 ? inflight.queue(idx, v.num) : null;
        try {
            w.start(memory, v.num, v.descUva, v.availUva, v.usedUva, v.base,
                    (ackedFeatures & VIRTIO_RING_F_EVENT_IDX) != 0, (ackedFeatures & VIRTIO_RING_F_INDIRECT_DESC) != 0,
                    v.kickNoFd ? -1 : v.kickFd, v.errFd, iq,
                    opts.threading() == VhostOptions.Threading.SHARED ? opts.sharedRunners().pick() : w.dedicatedRunner(opts.idle()));
        } catch (IllegalArgumentException e) {
            throw new VhostUserException(what + ": " + e.getMessage());
        }
    }

    private void stopQueue(int idx) {
        VirtqueueWorker w = server.worker(idx);
        if (!w.running()) return;
        try {
            vrings[idx].base = w.stop(opts.stopTimeoutMillis());
        } catch (IllegalStateException e) {
            throw new VhostUserException(e.getMessage());
        }
    }

    private boolean[] stopRunning() {
        boolean[] running = new boolean[vrings.length];
        for (int i = 0; i < vrings.length; i++) {
            running[i] = server.worker(i).running();
            if (running[i]) stopQueue(i);
        }
        return running;
    }

    private void restart(boolean[] running) {
        for (int i = 0; i < vrings.length; i++) if (running[i]) maybeStart(i);
    }

    private void resetAll() {
        stopRunning();
        for (int i = 0; i < vrings.length; i++) {
            Vring v = vrings[i];
            closeFd(v.kickFd);
            closeFd(v.errFd);
            server.worker(i).setCallFd(-1);
            vrings[i] = new Vring();
        }
        ackedFeatures = 0;
        device.featuresAcked(0);
    }

    /** Stops every queue (or abandons them for a crash), closes descriptors, unmaps memory, closes the socket. */
    private void teardown() {
        device.featuresAcked(0);
        boolean leak = false;
        for (int i = 0; i < vrings.length; i++) {
            VirtqueueWorker w = server.worker(i);
            if (abandonOnClose) {
                w.abandon();
                server.replaceWorker(i);
            } else if (w.running()) {
                try {
                    w.stop(opts.stopTimeoutMillis());
                } catch (IllegalStateException e) {
                    LOG.log(System.Logger.Level.ERROR, "{0}: {1}; its guest memory stays mapped", device.name(), e.getMessage());
                    w.abandon();
                    server.replaceWorker(i);
                    leak = true;
                }
            }
            if (!server.worker(i).running()) server.worker(i).setCallFd(-1);
            closeFd(vrings[i].kickFd);
            closeFd(vrings[i].errFd);
            vrings[i].kickFd = vrings[i].errFd = -1;
        }
        if (memory != null && !leak) memory.close();
        memory = null;
        if (inflight != null) inflight.close();
        inflight = null;
        scm.close();
        Libc.close(sock);
        arena.close();
    }

    // ------------------------------------------------------------------ replies and descriptors

    private void sendU64Reply(long v) {
        reply.set(JAVA_LONG_UNALIGNED, HEADER_SIZE, v);
        sendReply(8, -1);
    }

    private final int[] oneFd = new int[1];

    private void sendReply(int payloadSize, int fd) {
        reply.set(JAVA_INT_UNALIGNED, 0, request);
        reply.set(JAVA_INT_UNALIGNED, 4, VERSION | FLAG_REPLY);
        reply.set(JAVA_INT_UNALIGNED, 8, payloadSize);
        long total = HEADER_SIZE + payloadSize;
        oneFd[0] = fd;
        long rc = scm.send(sock, reply, total, oneFd, fd >= 0 ? 1 : 0, 0);
        if (rc < 0) throw new VhostUserException("reply to " + name(request) + ": " + Errno.describe((int) -rc));
        long at = rc;
        while (at < total) {
            long n = Libc.write(sock, reply.asSlice(at), total - at);
            if (n < 0) {
                int e = Errno.last();
                if (e == Libc.EINTR) continue;
                throw new VhostUserException("reply to " + name(request) + ": " + Errno.describe(e));
            }
            at += n;
        }
    }

    /** Takes ownership of received descriptor {@code i} (it is not closed with the message). */
    private int takeFd(int i) {
        int fd = fds[i];
        fds[i] = -1;
        return fd;
    }

    private void closeFds() {
        for (int i = 0; i < nfds; i++) closeFd(fds[i]);
        nfds = 0;
    }

    private static void closeFd(int fd) {
        if (fd >= 0) Libc.close(fd);
    }

    /** Messages received per request code (tests and stats). Connection thread. */
    long messages(int req) {
        return req > 0 && req < messages.length ? messages[req] : 0;
    }
}
