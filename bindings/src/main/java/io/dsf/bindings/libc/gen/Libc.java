package io.dsf.bindings.libc.gen;

import io.dsf.bindings.libc.Errno;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Header class for the libc subset dsf uses (fcntl.h, unistd.h, sys/stat.h, sys/ioctl.h,
 * sys/mman.h, sys/eventfd.h, sys/epoll.h, sys/socket.h, string.h), x86_64 / glibc. Laid out as
 * jextract lays a header class out (see {@code ../jextract-libc.args}): one
 * {@code static final MethodHandle name$mh} per function plus a static wrapper of the same name.
 *
 * <p>Every handle that can set {@code errno} is linked with {@link Errno#CAPTURE}, so its first
 * parameter is a capture segment. The wrappers pass the calling thread's {@link Errno#segment()}
 * and return the raw C result ({@code -1} on failure; read {@link Errno#last()}); hot loops that
 * own a capture segment call {@code name$mh.invokeExact(capture, ...)} directly.
 *
 * <p>Constants are {@code public static final} fields (jextract emits accessor methods) so that
 * they are compile-time constants usable in {@code switch}; the ABI test checks every one of them
 * against {@code native/abi-probe}.
 *
 * <p>Thread safe: stateless static handles.
 */
public final class Libc {
    private Libc() {}

    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LOOKUP = LINKER.defaultLookup();

    static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment addr = LOOKUP.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libc symbol not found: " + name));
        return LINKER.downcallHandle(addr, fd, options);
    }

    static RuntimeException rethrow(Throwable t) {
        return rethrowPublic(t);
    }

    /** For hand-written callers of the {@code $mh} handles: rethrows errors, wraps the impossible checked case. */
    public static RuntimeException rethrowPublic(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }

    // ---------------------------------------------------------------- constants: open(2), fcntl(2)
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_NONBLOCK = 04000;
    public static final int O_DSYNC = 010000;
    public static final int O_SYNC = 04010000;
    public static final int O_DIRECT = 040000;
    public static final int O_CLOEXEC = 02000000;
    public static final int O_NOFOLLOW = 0400000;
    public static final int AT_FDCWD = -100;
    public static final int AT_EMPTY_PATH = 0x1000;
    public static final int AT_STATX_SYNC_AS_STAT = 0;
    public static final int F_GETFD = 1;
    public static final int F_SETFD = 2;
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_DUPFD_CLOEXEC = 1030;
    public static final int FD_CLOEXEC = 1;

    // ---------------------------------------------------------------- fallocate(2)
    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    public static final int FALLOC_FL_ZERO_RANGE = 0x10;

    // ---------------------------------------------------------------- stat(2), statx(2)
    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFIFO = 0010000;
    public static final int S_IFSOCK = 0140000;
    public static final int STATX_TYPE = 0x0001;
    public static final int STATX_SIZE = 0x0200;
    public static final int STATX_BASIC_STATS = 0x07ff;
    public static final int STATX_DIOALIGN = 0x2000;

    // ---------------------------------------------------------------- ioctl(2) on block devices (unsigned long requests)
    public static final long BLKGETSIZE64 = 0x80081272L;
    public static final long BLKSSZGET = 0x1268L;
    public static final long BLKPBSZGET = 0x127bL;
    public static final long BLKDISCARD = 0x1277L;

    // ---------------------------------------------------------------- mmap(2), madvise(2)
    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_POPULATE = 0x8000;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MADV_NORMAL = 0;
    public static final int MADV_WILLNEED = 3;
    public static final int MADV_DONTNEED = 4;
    public static final int MADV_REMOVE = 9;
    public static final int MADV_DONTFORK = 10;
    public static final int MADV_HUGEPAGE = 14;
    /** Linux 5.14+: fault the range in, writable, now (EINVAL before). */
    public static final int MADV_POPULATE_WRITE = 23;

    // ---------------------------------------------------------------- memfd_create(2), eventfd(2), epoll(7)
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;
    public static final int MFD_HUGETLB = 4;
    public static final int EFD_CLOEXEC = 02000000;
    public static final int EFD_NONBLOCK = 04000;
    public static final int EFD_SEMAPHORE = 1;
    public static final int EPOLL_CLOEXEC = 02000000;
    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    public static final int EPOLLET = 1 << 31;

    // ---------------------------------------------------------------- sockets
    public static final int AF_UNIX = 1;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_SEQPACKET = 5;
    public static final int SOCK_NONBLOCK = 04000;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1;
    public static final int SCM_RIGHTS = 1;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int MSG_CTRUNC = 0x08;
    public static final int MSG_TRUNC = 0x20;
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    // ---------------------------------------------------------------- errno values
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int EPIPE = 32;
    public static final int ENOSYS = 38;
    public static final int ETIME = 62;
    public static final int EOPNOTSUPP = 95;
    public static final int ECONNRESET = 104;
    public static final int ENOTCONN = 107;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;
    public static final int EALREADY = 114;
    public static final int ECANCELED = 125;

    // ---------------------------------------------------------------- functions
    // int open(const char *path, int flags, ...);  the mode is the variadic argument
    public static final MethodHandle open$mh = downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Errno.CAPTURE, Linker.Option.firstVariadicArg(2));
    public static int open(MemorySegment path, int flags, int mode) {
        try { return (int) open$mh.invokeExact(Errno.segment(), path, flags, mode); } catch (Throwable t) { throw rethrow(t); }
    }

    // int close(int fd);
    public static final MethodHandle close$mh = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int close(int fd) {
        try { return (int) close$mh.invokeExact(Errno.segment(), fd); } catch (Throwable t) { throw rethrow(t); }
    }

    // ssize_t read(int fd, void *buf, size_t count);
    public static final MethodHandle read$mh = downcall("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Errno.CAPTURE);
    public static long read(int fd, MemorySegment buf, long count) {
        try { return (long) read$mh.invokeExact(Errno.segment(), fd, buf, count); } catch (Throwable t) { throw rethrow(t); }
    }

    // ssize_t write(int fd, const void *buf, size_t count);
    public static final MethodHandle write$mh = downcall("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), Errno.CAPTURE);
    public static long write(int fd, MemorySegment buf, long count) {
        try { return (long) write$mh.invokeExact(Errno.segment(), fd, buf, count); } catch (Throwable t) { throw rethrow(t); }
    }

    // ssize_t pread(int fd, void *buf, size_t count, off_t offset);
    public static final MethodHandle pread$mh = downcall("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), Errno.CAPTURE);
    public static long pread(int fd, MemorySegment buf, long count, long offset) {
        try { return (long) pread$mh.invokeExact(Errno.segment(), fd, buf, count, offset); } catch (Throwable t) { throw rethrow(t); }
    }

    // ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset);
    public static final MethodHandle pwrite$mh = downcall("pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), Errno.CAPTURE);
    public static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        try { return (long) pwrite$mh.invokeExact(Errno.segment(), fd, buf, count, offset); } catch (Throwable t) { throw rethrow(t); }
    }

    // int fallocate(int fd, int mode, off_t offset, off_t len);
    public static final MethodHandle fallocate$mh = downcall("fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), Errno.CAPTURE);
    public static int fallocate(int fd, int mode, long offset, long len) {
        try { return (int) fallocate$mh.invokeExact(Errno.segment(), fd, mode, offset, len); } catch (Throwable t) { throw rethrow(t); }
    }

    // int ftruncate(int fd, off_t length);
    public static final MethodHandle ftruncate$mh = downcall("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), Errno.CAPTURE);
    public static int ftruncate(int fd, long length) {
        try { return (int) ftruncate$mh.invokeExact(Errno.segment(), fd, length); } catch (Throwable t) { throw rethrow(t); }
    }

    // int fstat(int fd, struct stat *buf);
    public static final MethodHandle fstat$mh = downcall("fstat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), Errno.CAPTURE);
    public static int fstat(int fd, MemorySegment statbuf) {
        try { return (int) fstat$mh.invokeExact(Errno.segment(), fd, statbuf); } catch (Throwable t) { throw rethrow(t); }
    }

    // int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf);
    public static final MethodHandle statx$mh = downcall("statx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), Errno.CAPTURE);
    public static int statx(int dirfd, MemorySegment path, int flags, int mask, MemorySegment statxbuf) {
        try { return (int) statx$mh.invokeExact(Errno.segment(), dirfd, path, flags, mask, statxbuf); } catch (Throwable t) { throw rethrow(t); }
    }

    // int ioctl(int fd, unsigned long request, ...);  bound for the pointer-argument form
    public static final MethodHandle ioctl$mh = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Errno.CAPTURE, Linker.Option.firstVariadicArg(2));
    public static int ioctl(int fd, long request, MemorySegment arg) {
        try { return (int) ioctl$mh.invokeExact(Errno.segment(), fd, request, arg); } catch (Throwable t) { throw rethrow(t); }
    }

    // int fcntl(int fd, int cmd, ...);  bound for the int-argument form
    public static final MethodHandle fcntl$mh = downcall("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE, Linker.Option.firstVariadicArg(2));
    public static int fcntl(int fd, int cmd, int arg) {
        try { return (int) fcntl$mh.invokeExact(Errno.segment(), fd, cmd, arg); } catch (Throwable t) { throw rethrow(t); }
    }

    // int fsync(int fd);
    public static final MethodHandle fsync$mh = downcall("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int fsync(int fd) {
        try { return (int) fsync$mh.invokeExact(Errno.segment(), fd); } catch (Throwable t) { throw rethrow(t); }
    }

    // int fdatasync(int fd);
    public static final MethodHandle fdatasync$mh = downcall("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int fdatasync(int fd) {
        try { return (int) fdatasync$mh.invokeExact(Errno.segment(), fd); } catch (Throwable t) { throw rethrow(t); }
    }

    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
    public static final MethodHandle mmap$mh = downcall("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), Errno.CAPTURE);
    /** Returns the mapping (a zero-length segment: reinterpret it) or {@link #MAP_FAILED}. */
    public static MemorySegment mmap(MemorySegment addr, long length, int prot, int flags, int fd, long offset) {
        try { return (MemorySegment) mmap$mh.invokeExact(Errno.segment(), addr, length, prot, flags, fd, offset); } catch (Throwable t) { throw rethrow(t); }
    }
    /** {@code (void *) -1}. */
    public static final MemorySegment MAP_FAILED = MemorySegment.ofAddress(-1L);

    // int munmap(void *addr, size_t length);
    public static final MethodHandle munmap$mh = downcall("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), Errno.CAPTURE);
    public static int munmap(MemorySegment addr, long length) {
        try { return (int) munmap$mh.invokeExact(Errno.segment(), addr, length); } catch (Throwable t) { throw rethrow(t); }
    }

    // int madvise(void *addr, size_t length, int advice);
    public static final MethodHandle madvise$mh = downcall("madvise",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), Errno.CAPTURE);
    public static int madvise(MemorySegment addr, long length, int advice) {
        try { return (int) madvise$mh.invokeExact(Errno.segment(), addr, length, advice); } catch (Throwable t) { throw rethrow(t); }
    }

    // int memfd_create(const char *name, unsigned int flags);
    public static final MethodHandle memfd_create$mh = downcall("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    public static int memfd_create(MemorySegment name, int flags) {
        try { return (int) memfd_create$mh.invokeExact(Errno.segment(), name, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    // int eventfd(unsigned int initval, int flags);
    public static final MethodHandle eventfd$mh = downcall("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int eventfd(int initval, int flags) {
        try { return (int) eventfd$mh.invokeExact(Errno.segment(), initval, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    // int epoll_create1(int flags);
    public static final MethodHandle epoll_create1$mh = downcall("epoll_create1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int epoll_create1(int flags) {
        try { return (int) epoll_create1$mh.invokeExact(Errno.segment(), flags); } catch (Throwable t) { throw rethrow(t); }
    }

    // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
    public static final MethodHandle epoll_ctl$mh = downcall("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), Errno.CAPTURE);
    public static int epoll_ctl(int epfd, int op, int fd, MemorySegment event) {
        try { return (int) epoll_ctl$mh.invokeExact(Errno.segment(), epfd, op, fd, event); } catch (Throwable t) { throw rethrow(t); }
    }

    // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
    public static final MethodHandle epoll_wait$mh = downcall("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int epoll_wait(int epfd, MemorySegment events, int maxevents, int timeoutMillis) {
        try { return (int) epoll_wait$mh.invokeExact(Errno.segment(), epfd, events, maxevents, timeoutMillis); } catch (Throwable t) { throw rethrow(t); }
    }

    // int socket(int domain, int type, int protocol);
    public static final MethodHandle socket$mh = downcall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int socket(int domain, int type, int protocol) {
        try { return (int) socket$mh.invokeExact(Errno.segment(), domain, type, protocol); } catch (Throwable t) { throw rethrow(t); }
    }

    // int socketpair(int domain, int type, int protocol, int sv[2]);
    public static final MethodHandle socketpair$mh = downcall("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), Errno.CAPTURE);
    public static int socketpair(int domain, int type, int protocol, MemorySegment sv) {
        try { return (int) socketpair$mh.invokeExact(Errno.segment(), domain, type, protocol, sv); } catch (Throwable t) { throw rethrow(t); }
    }

    // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
    public static final MethodHandle bind$mh = downcall("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    public static int bind(int sockfd, MemorySegment addr, int addrlen) {
        try { return (int) bind$mh.invokeExact(Errno.segment(), sockfd, addr, addrlen); } catch (Throwable t) { throw rethrow(t); }
    }

    // int listen(int sockfd, int backlog);
    public static final MethodHandle listen$mh = downcall("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int listen(int sockfd, int backlog) {
        try { return (int) listen$mh.invokeExact(Errno.segment(), sockfd, backlog); } catch (Throwable t) { throw rethrow(t); }
    }

    // int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
    public static final MethodHandle accept4$mh = downcall("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), Errno.CAPTURE);
    public static int accept4(int sockfd, MemorySegment addr, MemorySegment addrlen, int flags) {
        try { return (int) accept4$mh.invokeExact(Errno.segment(), sockfd, addr, addrlen, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
    public static final MethodHandle connect$mh = downcall("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    public static int connect(int sockfd, MemorySegment addr, int addrlen) {
        try { return (int) connect$mh.invokeExact(Errno.segment(), sockfd, addr, addrlen); } catch (Throwable t) { throw rethrow(t); }
    }

    // int shutdown(int sockfd, int how);
    public static final MethodHandle shutdown$mh = downcall("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), Errno.CAPTURE);
    public static int shutdown(int sockfd, int how) {
        try { return (int) shutdown$mh.invokeExact(Errno.segment(), sockfd, how); } catch (Throwable t) { throw rethrow(t); }
    }

    // ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags);
    public static final MethodHandle sendmsg$mh = downcall("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    public static long sendmsg(int sockfd, MemorySegment msg, int flags) {
        try { return (long) sendmsg$mh.invokeExact(Errno.segment(), sockfd, msg, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    // ssize_t recvmsg(int sockfd, struct msghdr *msg, int flags);
    public static final MethodHandle recvmsg$mh = downcall("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), Errno.CAPTURE);
    public static long recvmsg(int sockfd, MemorySegment msg, int flags) {
        try { return (long) recvmsg$mh.invokeExact(Errno.segment(), sockfd, msg, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    // int unlink(const char *path);
    public static final MethodHandle unlink$mh = downcall("unlink",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), Errno.CAPTURE);
    public static int unlink(MemorySegment path) {
        try { return (int) unlink$mh.invokeExact(Errno.segment(), path); } catch (Throwable t) { throw rethrow(t); }
    }

    // char *strerror(int errnum);  (no errno capture: it does not fail)
    public static final MethodHandle strerror$mh = downcall("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    public static MemorySegment strerror(int errnum) {
        try { return (MemorySegment) strerror$mh.invokeExact(errnum); } catch (Throwable t) { throw rethrow(t); }
    }
}
