package io.dsf.blockstore.backend.uring;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.LibcMacros;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.stat;
import io.dsf.bindings.libc.gen.statx;
import io.dsf.bindings.uring.Uring;
import io.dsf.bindings.uring.gen.IoUring;
import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code uring:PATH[?size=SIZE&bs=BS&sqpoll&sqpoll_idle=MS&iopoll]}: a block device or a regular
 * file driven by io_uring with {@code O_DIRECT} (no page cache; {@code O_DSYNC} is not set, so data
 * is durable only after a completed flush, which is {@code IORING_OP_FSYNC} with
 * {@code IORING_FSYNC_DATASYNC}).
 *
 * <ul>
 *   <li>Block devices are opened exclusively ({@code O_EXCL}: refused while mounted or already
 *       open as a device) and sized by {@code BLKGETSIZE64}; their logical block size is
 *       {@code BLKSSZGET}. Trim is {@code BLKDISCARD} (run synchronously on the queue's thread;
 *       discarded blocks are not guaranteed to read back as zeros).</li>
 *   <li>Regular files are sized by their length; {@code size=} creates the file or extends it
 *       (sparse). The logical block size and buffer alignment come from {@code statx}
 *       {@code STATX_DIOALIGN} (Linux 6.1+), else 4096. Trim punches a hole
 *       ({@code FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE}) and reads back zeros.</li>
 *   <li>{@code bs=} raises the block size the device enforces (never below what O_DIRECT needs).</li>
 *   <li>{@code sqpoll}: a kernel thread polls the submission ring (costs a core while busy;
 *       it sleeps after {@code sqpoll_idle} ms, default 100). {@code iopoll}: completions are
 *       polled instead of interrupt driven; it needs a block device with poll queues and is checked
 *       at open by one polled read (regular files are refused: a clear error, not a hang). Under {@code iopoll} flush and trim run
 *       synchronously on the queue's thread, since the kernel cannot poll them.</li>
 * </ul>
 *
 * <p>Each {@link DeviceQueue} is its own ring, created by and owned by the thread that opens it
 * ({@link UringQueue}). Thread safe; queues per thread.
 */
public final class UringBlockDevice extends AbstractBlockDevice {
    static final int MAX_TRANSFER = 1 << 20;
    private static final int DEFAULT_ALIGN = 4096;

    final int fd;
    final String path;
    final boolean blockDevice;
    final boolean sqpoll;
    final int sqpollIdleMillis;
    final boolean iopoll;

    private UringBlockDevice(String uri, Geometry g, int fd, String path, boolean blockDevice,
                             boolean sqpoll, int sqpollIdleMillis, boolean iopoll) {
        super(uri, g);
        this.fd = fd;
        this.path = path;
        this.blockDevice = blockDevice;
        this.sqpoll = sqpoll;
        this.sqpollIdleMillis = sqpollIdleMillis;
        this.iopoll = iopoll;
    }

    /**
     * @throws IllegalArgumentException for a malformed URI or option
     * @throws DeviceException          when the path cannot be opened for O_DIRECT I/O (the message says why)
     */
    public static UringBlockDevice open(DeviceUri u) {
        u.allowOnly("size", "bs", "sqpoll", "sqpoll_idle", "iopoll");
        String uri = u.uri();
        String path = u.path();
        if (path.isEmpty()) throw new IllegalArgumentException("uring: needs a path (a block device or a file): " + uri);
        String sizeOpt = u.options().get("size");
        long wantSize = sizeOpt == null ? -1 : Sizes.parse(sizeOpt);
        int bsOpt = u.options().containsKey("bs") ? u.blockSize(512) : 0;
        boolean sqpoll = u.flag("sqpoll");
        boolean iopoll = u.flag("iopoll");
        int idle = parseIdle(u);

        if (sizeOpt != null && Files.exists(Path.of(path)) && !Files.isRegularFile(Path.of(path)))
            throw new IllegalArgumentException("size= applies to files, not to " + path + ": " + uri);
        int fd = openDirect(uri, path, sizeOpt != null);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = stat.allocate(a);
            if (Libc.fstat(fd, st) < 0) throw fail(uri, "fstat " + path, Errno.last());
            int mode = stat.st_mode(st);
            boolean blk = LibcMacros.S_ISBLK(mode);
            if (!blk && !LibcMacros.S_ISREG(mode))
                throw new DeviceException(IoError.UNSUPPORTED, uri, path + " is neither a block device nor a regular file");

            long size;
            int lbs;
            int memAlign;
            boolean trimSupported;
            boolean trimReadsZero;
            int[] dio = dioAlign(a, fd);
            if (blk) {
                if (sizeOpt != null) throw new IllegalArgumentException("size= applies to files, not to block device " + path + ": " + uri);
                MemorySegment v = a.allocate(JAVA_LONG);
                if (Libc.ioctl(fd, Libc.BLKGETSIZE64, v) < 0) throw fail(uri, "ioctl(BLKGETSIZE64) on " + path, Errno.last());
                size = v.get(JAVA_LONG, 0);
                MemorySegment ssz = a.allocate(JAVA_INT);
                if (Libc.ioctl(fd, Libc.BLKSSZGET, ssz) < 0) throw fail(uri, "ioctl(BLKSSZGET) on " + path, Errno.last());
                lbs = ssz.get(JAVA_INT, 0);
                memAlign = dio != null && dio[0] > 0 ? dio[0] : DEFAULT_ALIGN;
                trimSupported = discardSupported(stat.st_rdev(st));
                trimReadsZero = false;
            } else {
                size = stat.st_size(st);
                if (wantSize >= 0 && size < wantSize) {
                    if (Libc.ftruncate(fd, wantSize) < 0) throw fail(uri, "extending " + path + " to " + wantSize + " bytes", Errno.last());
                    size = wantSize;
                }
                if (wantSize >= 0) size = Math.min(size, wantSize);
                if (dio != null && dio[1] == 0)
                    throw new DeviceException(IoError.UNSUPPORTED, uri, "O_DIRECT is not supported for " + path
                            + " (statx reports no direct-I/O alignment); use file:" + path + " for page-cache I/O");
                lbs = dio != null ? dio[1] : DEFAULT_ALIGN;
                memAlign = dio != null ? dio[0] : DEFAULT_ALIGN;
                // probe hole punching beyond the end of the file: changes nothing, tells whether the filesystem can
                trimSupported = Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, Math.max(size, 0), 4096) == 0;
                trimReadsZero = trimSupported;
            }
            if (lbs <= 0 || Integer.bitCount(lbs) != 1) throw new DeviceException(IoError.OTHER, uri, "odd logical block size " + lbs + " on " + path);
            if (memAlign <= 0 || Integer.bitCount(memAlign) != 1) memAlign = DEFAULT_ALIGN;
            int bs = lbs;
            if (bsOpt != 0) {
                if (bsOpt < lbs) throw new IllegalArgumentException("bs=" + bsOpt + " is below the O_DIRECT block size " + lbs + " of " + path + ": " + uri);
                bs = bsOpt;
            }
            long cap = size - size % bs;
            if (cap <= 0) {
                throw new DeviceException(IoError.OTHER, uri, path + " is smaller than one block (" + bs + " bytes)"
                        + (blk ? "" : "; add ?size=SIZE to grow it"));
            }
            Geometry g = new Geometry(cap, bs, memAlign, Math.max(MAX_TRANSFER, bs), trimSupported, trimReadsZero, true);
            if (iopoll && !blk) {
                // a file's blocks may be holes (no bio to poll) or need filesystem work: polled completion is
                // unreliable there (on ext4 over virtio-blk reads of written blocks fail with EOPNOTSUPP)
                throw new DeviceException(IoError.UNSUPPORTED, uri, "IOPOLL needs a block device with poll queues (e.g. NVMe with "
                        + "nvme.poll_queues=N); " + path + " is a regular file: drop ?iopoll");
            }
            if (iopoll) checkIopoll(uri, path, fd, g);
            if (sqpoll || iopoll) checkRing(uri, sqpoll, idle, iopoll);
            return new UringBlockDevice(uri, g, fd, path, blk, sqpoll, idle, iopoll);
        } catch (RuntimeException | Error e) {
            Libc.close(fd);
            throw e;
        }
    }

    private static int parseIdle(DeviceUri u) {
        String s = u.option("sqpoll_idle", "100");
        try {
            int v = Integer.parseInt(s);
            if (v < 1 || v > 60_000) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sqpoll_idle must be milliseconds between 1 and 60000: " + s + " in " + u.uri());
        }
    }

    /** Opens with O_DIRECT, turning each failure into a message that says what to do. */
    private static int openDirect(String uri, String path, boolean create) {
        if (create) createParent(uri, path);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            // O_EXCL without O_CREAT: exclusive use of a block device (refused while mounted or opened by
            // another O_EXCL user, such as a second dsf device on it); no effect on regular files
            int flags = Libc.O_RDWR | Libc.O_DIRECT | Libc.O_CLOEXEC | (create ? Libc.O_CREAT : Libc.O_EXCL);
            int fd = Libc.open(p, flags, 0644);
            if (fd >= 0) return fd;
            int e = Errno.last();
            if (e == Libc.EINVAL) {
                // tell "no O_DIRECT here" apart from other EINVALs by opening without it
                int probe = Libc.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
                if (probe >= 0) {
                    Libc.close(probe);
                    throw new DeviceException(IoError.UNSUPPORTED, uri, "O_DIRECT is not supported by the filesystem holding " + path
                            + " (e.g. tmpfs before Linux 6.6, procfs, some FUSE and network filesystems); use file:" + path
                            + " for page-cache I/O, or put the file on a disk filesystem (ext4, xfs)");
                }
            }
            throw switch (e) {
                case Libc.ENOENT -> new DeviceException(IoError.OTHER, uri, "no such file or directory: " + path
                        + (create ? "" : " (add ?size=SIZE to create a file)"));
                case Libc.EACCES, Libc.EPERM -> new DeviceException(IoError.OTHER, uri, "permission denied opening " + path + " read-write");
                case Libc.EISDIR -> new DeviceException(IoError.OTHER, uri, path + " is a directory");
                case Libc.EBUSY -> new DeviceException(IoError.OTHER, uri, path + " is busy: mounted, or already open as a device "
                        + "(block devices are opened exclusively)");
                default -> fail(uri, "open(" + path + ", O_RDWR|O_DIRECT)", e);
            };
        }
    }

    /** {mem align, offset align} from statx STATX_DIOALIGN, or null where the kernel does not report it. */
    private static int[] dioAlign(Arena a, int fd) {
        MemorySegment sx = statx.allocate(a);
        if (Libc.statx(fd, a.allocateFrom(""), Libc.AT_EMPTY_PATH, Libc.STATX_DIOALIGN, sx) < 0) return null;
        if ((statx.stx_mask(sx) & Libc.STATX_DIOALIGN) == 0) return null;
        return new int[] {statx.stx_dio_mem_align(sx), statx.stx_dio_offset_align(sx)};
    }

    /** Whether the block device (or the disk holding the partition) accepts discards, from sysfs. */
    private static boolean discardSupported(long rdev) {
        long major = ((rdev >>> 32) & 0xfffff000L) | ((rdev >>> 8) & 0xfffL);
        long minor = ((rdev >>> 12) & 0xffffff00L) | (rdev & 0xffL);
        Path dev = Path.of("/sys/dev/block/" + major + ":" + minor);
        for (Path q : new Path[] {dev.resolve("queue/discard_max_bytes"), dev.resolve("../queue/discard_max_bytes")}) {
            try {
                if (Files.isReadable(q)) return Long.parseLong(Files.readString(q).trim()) > 0;
            } catch (IOException | NumberFormatException e) {
                return false;
            }
        }
        return false;
    }

    /** Creates a throw-away ring with the requested flags so a refusal is reported at open, not at the first queue. */
    private static void checkRing(String uri, boolean sqpoll, int idle, boolean iopoll) {
        int flags = (sqpoll ? IoUring.IORING_SETUP_SQPOLL : 0) | (iopoll ? IoUring.IORING_SETUP_IOPOLL : 0);
        try (Uring r = Uring.open(4, 0, flags, idle)) {
            assert r.sqEntries() >= 4;
        } catch (ErrnoException e) {
            throw new DeviceException(IoError.UNSUPPORTED, uri, (sqpoll ? "SQPOLL" : "") + (sqpoll && iopoll ? "+" : "")
                    + (iopoll ? "IOPOLL" : "") + " ring refused: " + e.getMessage() + "; drop ?sqpoll / ?iopoll");
        }
    }

    /** Reads the first block of a block device through an IOPOLL ring: a device without poll queues is refused here. */
    private static void checkIopoll(String uri, String path, int fd, Geometry g) {
        int res;
        try (Uring r = Uring.open(4, 0, IoUring.IORING_SETUP_IOPOLL, 0); Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(g.blockSize(), Math.max(g.bufferAlignment(), DEFAULT_ALIGN));
            int[] out = {Integer.MIN_VALUE};
            r.prepRead(fd, buf.address(), g.blockSize(), 0, 1);
            r.submit();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (out[0] == Integer.MIN_VALUE && System.nanoTime() < deadline) {
                r.getEvents();
                r.reap((ud, rr, fl) -> out[0] = rr, 1);
            }
            res = out[0];
        } catch (ErrnoException e) {
            throw new DeviceException(IoError.UNSUPPORTED, uri, "IOPOLL ring refused: " + e.getMessage() + "; drop ?iopoll");
        }
        if (res == Integer.MIN_VALUE)
            throw new DeviceException(IoError.UNSUPPORTED, uri, "IOPOLL read of " + path + " did not complete within 5 s; drop ?iopoll");
        if (res < 0) {
            String why = res == -Libc.EOPNOTSUPP
                    ? path + " has no poll queues (for NVMe: load nvme with poll_queues=N)"
                    : Errno.describe(-res);
            throw new DeviceException(IoError.UNSUPPORTED, uri, "IOPOLL is not supported: " + why + "; drop ?iopoll");
        }
    }

    private static DeviceException fail(String uri, String what, int errno) {
        return new DeviceException(IoError.fromErrno(errno), uri, what + ": " + Errno.describe(errno) + " (errno " + errno + ")");
    }

    public String path() { return path; }

    public boolean isBlockDevice() { return blockDevice; }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new UringQueue(this, depth, handler);
    }

    /** Lets {@link UringQueue} report its close. */
    void onQueueClosed() { queueClosed(); }

    @Override
    protected void release() {
        Libc.close(fd);
    }

    /** {@code size=} creates the file: create its missing parent directories too. */
    private static void createParent(String uri, String path) {
        java.nio.file.Path parent = java.nio.file.Path.of(path).toAbsolutePath().getParent();
        if (parent == null || java.nio.file.Files.isDirectory(parent)) return;
        try {
            java.nio.file.Files.createDirectories(parent);
        } catch (java.io.IOException e) {
            throw new DeviceException(IoError.OTHER, uri, "cannot create directory " + parent + ": " + e);
        }
    }
}
