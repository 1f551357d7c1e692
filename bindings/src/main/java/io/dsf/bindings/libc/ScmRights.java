package io.dsf.bindings.libc;

import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.cmsghdr;
import io.dsf.bindings.libc.gen.iovec;
import io.dsf.bindings.libc.gen.msghdr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * {@code sendmsg}/{@code recvmsg} on a unix socket with file descriptors passed as
 * {@code SCM_RIGHTS}, over message headers and a control buffer allocated once. Results are
 * returned, never thrown: bytes transferred, or a negative errno. Received descriptors are opened
 * close-on-exec and belong to the caller (see {@link #receivedFd(int)}); when the sender passed more
 * than fit, the kernel sets {@code MSG_CTRUNC}: then every descriptor that did arrive is closed here
 * and {@link #controlTruncated()} says so, because such a message cannot be used. Owned by one
 * thread; not thread safe.
 */
public final class ScmRights implements AutoCloseable {
    /** The kernel's limit of descriptors in one message ({@code SCM_MAX_FD}). */
    public static final int SCM_MAX_FD = 253;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment errno;
    private final MemorySegment msg;
    private final MemorySegment iov;
    private final MemorySegment control;
    private final int maxFds;
    private final int[] received;
    private int receivedCount;
    private boolean controlTruncated;
    private boolean dataTruncated;

    /** @param maxFds most descriptors sent or received in one message (1..253) */
    public ScmRights(int maxFds) {
        if (maxFds < 1 || maxFds > SCM_MAX_FD)
            throw new IllegalArgumentException("maxFds must be in 1.." + SCM_MAX_FD + ": " + maxFds);
        this.maxFds = maxFds;
        this.received = new int[maxFds];
        this.errno = Errno.allocate(arena);
        this.msg = msghdr.allocate(arena);
        this.iov = iovec.allocate(arena);
        this.control = arena.allocate(LibcMacros.CMSG_SPACE((long) maxFds * Integer.BYTES), 8);
    }

    public int maxFds() { return maxFds; }

    /**
     * Sends {@code length} bytes of {@code data} and the first {@code nfds} descriptors of
     * {@code fds} (none when {@code nfds == 0}). Retries on EINTR.
     *
     * @return bytes sent, or a negative errno ({@code -EAGAIN} on a non-blocking socket that is full)
     */
    public long send(int sock, MemorySegment data, long length, int[] fds, int nfds, int flags) {
        if (nfds < 0 || nfds > maxFds || (nfds > 0 && (fds == null || fds.length < nfds)))
            throw new IllegalArgumentException("nfds " + nfds + " outside 0.." + maxFds + " or beyond the array");
        if (length < 0 || length > data.byteSize()) throw new IllegalArgumentException("length " + length + " outside the data segment");
        prepare(data, length);
        if (nfds > 0) {
            long space = LibcMacros.CMSG_SPACE((long) nfds * Integer.BYTES);
            control.asSlice(0, space).fill((byte) 0);
            cmsghdr.cmsg_len(control, 0, LibcMacros.CMSG_LEN((long) nfds * Integer.BYTES));
            cmsghdr.cmsg_level(control, 0, Libc.SOL_SOCKET);
            cmsghdr.cmsg_type(control, 0, Libc.SCM_RIGHTS);
            for (int i = 0; i < nfds; i++) control.set(JAVA_INT, LibcMacros.CMSG_DATA_OFFSET + 4L * i, fds[i]);
            msghdr.msg_control(msg, control);
            msghdr.msg_controllen(msg, space);
        }
        while (true) {
            long rc;
            try {
                rc = (long) Libc.sendmsg$mh.invokeExact(errno, sock, msg, flags | Libc.MSG_NOSIGNAL);
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
            if (rc >= 0) return rc;
            int e = Errno.get(errno);
            if (e != Libc.EINTR) return -e;
        }
    }

    /**
     * Receives up to {@code capacity} bytes into {@code data} and any descriptors sent with them.
     * Retries on EINTR. Returns 0 at end of stream.
     *
     * @return bytes received, or a negative errno
     */
    public long receive(int sock, MemorySegment data, long capacity, int flags) {
        if (capacity < 0 || capacity > data.byteSize()) throw new IllegalArgumentException("capacity " + capacity + " outside the data segment");
        receivedCount = 0;
        controlTruncated = false;
        dataTruncated = false;
        prepare(data, capacity);
        long space = control.byteSize();
        control.fill((byte) 0);
        msghdr.msg_control(msg, control);
        msghdr.msg_controllen(msg, space);
        long rc;
        while (true) {
            try {
                rc = (long) Libc.recvmsg$mh.invokeExact(errno, sock, msg, flags | Libc.MSG_CMSG_CLOEXEC);
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
            if (rc >= 0) break;
            int e = Errno.get(errno);
            if (e != Libc.EINTR) return -e;
        }
        int mflags = msghdr.msg_flags(msg);
        dataTruncated = (mflags & Libc.MSG_TRUNC) != 0;
        collectFds(Math.min(msghdr.msg_controllen(msg), space));
        if ((mflags & Libc.MSG_CTRUNC) != 0) {
            controlTruncated = true;
            closeReceived();
        }
        return rc;
    }

    private void prepare(MemorySegment data, long length) {
        iovec.iov_base(iov, data);
        iovec.iov_len(iov, length);
        msghdr.msg_name(msg, MemorySegment.NULL);
        msghdr.msg_namelen(msg, 0);
        msghdr.msg_iov(msg, iov);
        msghdr.msg_iovlen(msg, 1);
        msghdr.msg_control(msg, MemorySegment.NULL);
        msghdr.msg_controllen(msg, 0);
        msghdr.msg_flags(msg, 0);
    }

    /** Walks the control messages the kernel wrote (bounded by {@code len}), keeping SCM_RIGHTS descriptors. */
    private void collectFds(long len) {
        long hdr = cmsghdr.LAYOUT.byteSize();
        long at = 0;
        while (at + hdr <= len) {
            long clen = cmsghdr.cmsg_len(control, at);
            if (clen < hdr || clen > len - at) break; // malformed: stop
            if (cmsghdr.cmsg_level(control, at) == Libc.SOL_SOCKET && cmsghdr.cmsg_type(control, at) == Libc.SCM_RIGHTS) {
                long n = (clen - LibcMacros.CMSG_DATA_OFFSET) / Integer.BYTES;
                for (long i = 0; i < n; i++) {
                    int fd = control.get(JAVA_INT, at + LibcMacros.CMSG_DATA_OFFSET + 4 * i);
                    if (receivedCount < maxFds) received[receivedCount++] = fd;
                    else closeQuietly(fd);
                }
            }
            at += LibcMacros.CMSG_ALIGN(clen);
        }
    }

    /** Descriptors received by the last {@link #receive}. */
    public int receivedFdCount() { return receivedCount; }

    /** Descriptor {@code i} of the last {@link #receive}; the caller owns (and closes) it. */
    public int receivedFd(int i) {
        if (i < 0 || i >= receivedCount) throw new IndexOutOfBoundsException("fd " + i + " of " + receivedCount);
        return received[i];
    }

    /** Whether the last receive lost descriptors (MSG_CTRUNC); those that arrived were closed. */
    public boolean controlTruncated() { return controlTruncated; }

    /** Whether the last receive lost payload bytes (MSG_TRUNC, datagram and seqpacket sockets). */
    public boolean dataTruncated() { return dataTruncated; }

    /** Closes the descriptors of the last receive that the caller did not take. */
    public void closeReceived() {
        for (int i = 0; i < receivedCount; i++) closeQuietly(received[i]);
        receivedCount = 0;
    }

    private void closeQuietly(int fd) {
        try {
            int rc = (int) Libc.close$mh.invokeExact(errno, fd);
            assert rc == 0 || rc == -1;
        } catch (Throwable t) {
            throw Libc.rethrowPublic(t);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
