package io.dsf.bindings.libc;

import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;
import io.dsf.bindings.libc.gen.stat;
import io.dsf.bindings.libc.gen.statx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class LibcTest {
    @TempDir Path tmp;

    @Test
    void errnoIsCapturedAndDescribed() {
        assertEquals(-1, Libc.close(-1));
        assertEquals(Libc.EBADF, Errno.last());
        assertEquals("Bad file descriptor", Errno.describe(Libc.EBADF));
        ErrnoException e = assertThrows(ErrnoException.class, () -> Errno.check(Libc.close(-1), "close(-1)"));
        assertEquals(Libc.EBADF, e.errno());
        assertTrue(e.getMessage().contains("close(-1): Bad file descriptor (errno 9)"), e.getMessage());
    }

    @Test
    void errnoSegmentsArePerThread() throws Exception {
        assertEquals(-1, Libc.close(-1));
        AtomicInteger other = new AtomicInteger();
        Thread t = new Thread(() -> {
            try (Arena a = Arena.ofConfined()) {
                Libc.open(a.allocateFrom("/nonexistent/dsf/x"), Libc.O_RDONLY, 0);
                other.set(Errno.last());
            }
        });
        t.start();
        t.join();
        assertEquals(Libc.ENOENT, other.get());
        assertEquals(Libc.EBADF, Errno.last(), "another thread's failure must not clobber this thread's errno");
        assertNotEquals(Errno.segment().address(), 0L);
    }

    @Test
    void memfdMmapRoundTrip() {
        try (Arena a = Arena.ofConfined()) {
            int fd = Errno.check(Libc.memfd_create(a.allocateFrom("dsf-test"), Libc.MFD_CLOEXEC), "memfd_create");
            try {
                long size = 1 << 16;
                Errno.check(Libc.ftruncate(fd, size), "ftruncate");
                MemorySegment m = Libc.mmap(MemorySegment.NULL, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
                assertNotEquals(Libc.MAP_FAILED.address(), m.address());
                MemorySegment map = m.reinterpret(size);
                map.set(JAVA_LONG, 4096, 0x1122334455667788L);
                MemorySegment buf = a.allocate(8);
                assertEquals(8, Libc.pread(fd, buf, 8, 4096));
                assertEquals(0x1122334455667788L, buf.get(JAVA_LONG, 0));
                buf.set(JAVA_LONG, 0, 42L);
                assertEquals(8, Libc.pwrite(fd, buf, 8, size - 8));
                assertEquals(42L, map.get(JAVA_LONG, size - 8), "a write through the fd is visible in the shared mapping");
                assertEquals(0, Libc.madvise(map, size, Libc.MADV_WILLNEED));
                MemorySegment st = stat.allocate(a);
                Errno.check(Libc.fstat(fd, st), "fstat");
                assertEquals(size, stat.st_size(st));
                assertTrue(LibcMacros.S_ISREG(stat.st_mode(st)));
                // a second mapping of the same memfd sees the same bytes (how guest memory is shared)
                MemorySegment m2 = Libc.mmap(MemorySegment.NULL, size, Libc.PROT_READ, Libc.MAP_SHARED, fd, 0).reinterpret(size);
                assertEquals(0x1122334455667788L, m2.get(JAVA_LONG, 4096));
                assertEquals(0, Libc.munmap(m2, size));
                assertEquals(0, Libc.munmap(map, size));
            } finally {
                Libc.close(fd);
            }
        }
    }

    @Test
    void mmapFailureReportsErrno() {
        MemorySegment m = Libc.mmap(MemorySegment.NULL, 4096, Libc.PROT_READ, Libc.MAP_SHARED, -1, 0);
        assertEquals(Libc.MAP_FAILED.address(), m.address());
        assertEquals(Libc.EBADF, Errno.last());
    }

    @Test
    void eventfdCountsAndSemaphore() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            int efd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
            try {
                assertEquals(-1, Libc.read(efd, v, 8));
                assertEquals(Libc.EAGAIN, Errno.last());
                v.set(JAVA_LONG, 0, 3);
                assertEquals(8, Libc.write(efd, v, 8));
                v.set(JAVA_LONG, 0, 4);
                assertEquals(8, Libc.write(efd, v, 8));
                assertEquals(8, Libc.read(efd, v, 8));
                assertEquals(7, v.get(JAVA_LONG, 0), "reading returns the sum and resets the counter");
                assertEquals(-1, Libc.read(efd, v, 8));
            } finally {
                Libc.close(efd);
            }
            int sem = Errno.check(Libc.eventfd(2, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK | Libc.EFD_SEMAPHORE), "eventfd");
            try {
                assertEquals(8, Libc.read(sem, v, 8));
                assertEquals(1, v.get(JAVA_LONG, 0));
                assertEquals(8, Libc.read(sem, v, 8));
                assertEquals(-1, Libc.read(sem, v, 8));
            } finally {
                Libc.close(sem);
            }
        }
    }

    @Test
    void epollReportsReadyEventfdWithItsData() {
        try (Arena a = Arena.ofConfined()) {
            int ep = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
            int efd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
            try {
                MemorySegment ev = epoll_event.allocate(a);
                epoll_event.events(ev, 0, Libc.EPOLLIN);
                epoll_event.data(ev, 0, 0xABCDEF0123L);
                Errno.check(Libc.epoll_ctl(ep, Libc.EPOLL_CTL_ADD, efd, ev), "epoll_ctl");
                MemorySegment out = epoll_event.allocateArray(4, a);
                assertEquals(0, Libc.epoll_wait(ep, out, 4, 0));
                MemorySegment one = a.allocate(JAVA_LONG);
                one.set(JAVA_LONG, 0, 1);
                assertEquals(8, Libc.write(efd, one, 8));
                assertEquals(1, Libc.epoll_wait(ep, out, 4, 1000));
                assertEquals(Libc.EPOLLIN, epoll_event.events(out, 0) & Libc.EPOLLIN);
                assertEquals(0xABCDEF0123L, epoll_event.data(out, 0));
                Errno.check(Libc.epoll_ctl(ep, Libc.EPOLL_CTL_DEL, efd, MemorySegment.NULL), "epoll_ctl del");
                assertEquals(0, Libc.epoll_wait(ep, out, 4, 0));
            } finally {
                Libc.close(efd);
                Libc.close(ep);
            }
        }
    }

    @Test
    void socketpairPassesAnFdThatReadsTheSameFile() {
        try (Arena a = Arena.ofConfined(); ScmRights tx = new ScmRights(4); ScmRights rx = new ScmRights(4)) {
            MemorySegment sv = a.allocate(JAVA_INT, 2);
            Errno.check(Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, sv), "socketpair");
            int s0 = sv.getAtIndex(JAVA_INT, 0), s1 = sv.getAtIndex(JAVA_INT, 1);
            int memfd = Errno.check(Libc.memfd_create(a.allocateFrom("passed"), Libc.MFD_CLOEXEC), "memfd_create");
            try {
                MemorySegment content = a.allocateFrom("hello through a passed fd");
                assertEquals(content.byteSize(), Libc.pwrite(memfd, content, content.byteSize(), 0));
                MemorySegment msg = a.allocateFrom("hdr");
                assertEquals(msg.byteSize(), tx.send(s0, msg, msg.byteSize(), new int[] {memfd}, 1, 0));

                MemorySegment in = a.allocate(64);
                long n = rx.receive(s1, in, 64, 0);
                assertEquals(msg.byteSize(), n);
                assertEquals("hdr", in.getString(0));
                assertEquals(1, rx.receivedFdCount());
                assertFalse(rx.controlTruncated());
                int got = rx.receivedFd(0);
                assertNotEquals(memfd, got);
                MemorySegment back = a.allocate(content.byteSize());
                assertEquals(content.byteSize(), Libc.pread(got, back, back.byteSize(), 0));
                assertEquals("hello through a passed fd", back.getString(0));
                assertEquals(Libc.FD_CLOEXEC, Libc.fcntl(got, Libc.F_GETFD, 0) & Libc.FD_CLOEXEC, "received fds are close-on-exec");
                Libc.close(got);

                // a message without fds
                assertEquals(3, tx.send(s0, msg, 3, null, 0, 0));
                assertEquals(3, rx.receive(s1, in, 64, 0));
                assertEquals(0, rx.receivedFdCount());
            } finally {
                Libc.close(memfd);
                Libc.close(s0);
                Libc.close(s1);
            }
        }
    }

    @Test
    void tooManyFdsForTheReceiverAreReportedAndClosed() {
        try (Arena a = Arena.ofConfined(); ScmRights tx = new ScmRights(8); ScmRights rx = new ScmRights(1)) {
            MemorySegment sv = a.allocate(JAVA_INT, 2);
            Errno.check(Libc.socketpair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, sv), "socketpair");
            int s0 = sv.getAtIndex(JAVA_INT, 0), s1 = sv.getAtIndex(JAVA_INT, 1);
            int[] fds = new int[4];
            for (int i = 0; i < fds.length; i++) fds[i] = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd");
            try {
                MemorySegment msg = a.allocate(1);
                assertEquals(1, tx.send(s0, msg, 1, fds, 4, 0));
                assertEquals(1, rx.receive(s1, a.allocate(8), 8, 0));
                assertTrue(rx.controlTruncated());
                assertEquals(0, rx.receivedFdCount());
                assertThrows(IndexOutOfBoundsException.class, () -> rx.receivedFd(0));
            } finally {
                for (int fd : fds) Libc.close(fd);
                Libc.close(s0);
                Libc.close(s1);
            }
        }
    }

    @Test
    void unixListenerAcceptsAConnection() throws Exception {
        Path sock = tmp.resolve("s.sock");
        try (Arena a = Arena.ofConfined(); ScmRights io = new ScmRights(1)) {
            int srv = Errno.check(Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket");
            int cli = Errno.check(Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket");
            int conn = -1;
            try {
                String p = sock.toString();
                Errno.check(Libc.bind(srv, LibcMacros.sockaddrUn(a, p), LibcMacros.sockaddrUnLength(p)), "bind");
                Errno.check(Libc.listen(srv, 4), "listen");
                assertTrue(Files.exists(sock));
                Errno.check(Libc.connect(cli, LibcMacros.sockaddrUn(a, p), LibcMacros.sockaddrUnLength(p)), "connect");
                conn = Errno.check(Libc.accept4(srv, MemorySegment.NULL, MemorySegment.NULL, Libc.SOCK_CLOEXEC), "accept4");
                MemorySegment ping = a.allocateFrom("ping");
                assertEquals(5, io.send(cli, ping, 5, null, 0, 0));
                MemorySegment in = a.allocate(16);
                assertEquals(5, io.receive(conn, in, 16, 0));
                assertEquals("ping", in.getString(0));
                Errno.check(Libc.shutdown(cli, Libc.SHUT_RDWR), "shutdown");
                assertEquals(0, io.receive(conn, in, 16, 0), "end of stream after the peer shut down");
                // a non-blocking accept with nobody waiting
                Errno.check(Libc.fcntl(srv, Libc.F_SETFL, Libc.fcntl(srv, Libc.F_GETFL, 0) | Libc.O_NONBLOCK), "fcntl");
                assertEquals(-1, Libc.accept4(srv, MemorySegment.NULL, MemorySegment.NULL, Libc.SOCK_CLOEXEC));
                assertEquals(Libc.EAGAIN, Errno.last());
                assertEquals(0, Libc.unlink(a.allocateFrom(p)));
            } finally {
                if (conn >= 0) Libc.close(conn);
                Libc.close(cli);
                Libc.close(srv);
            }
        }
    }

    @Test
    void socketPathLimitsAreTypedErrors() {
        try (Arena a = Arena.ofConfined()) {
            String tooLong = "/tmp/" + "x".repeat(103);
            assertThrows(IllegalArgumentException.class, () -> LibcMacros.sockaddrUn(a, tooLong));
            assertThrows(IllegalArgumentException.class, () -> LibcMacros.sockaddrUn(a, ""));
            assertThrows(IllegalArgumentException.class, () -> LibcMacros.sockaddrUn(a, "a\0b"));
            String max = "/tmp/" + "x".repeat(102);
            assertEquals(2 + 107 + 1, LibcMacros.sockaddrUnLength(max));
            assertEquals((byte) 'x', LibcMacros.sockaddrUn(a, max).get(JAVA_BYTE, 2 + 106));
        }
    }

    @Test
    void directIoFileOpsPunchHoleAndStatx() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment path = a.allocateFrom(tmp.resolve("direct.img").toString());
            int fd = Errno.check(Libc.open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_DIRECT | Libc.O_CLOEXEC, 0644), "open O_DIRECT");
            try {
                MemorySegment buf = a.allocate(8192, 4096);
                buf.fill((byte) 0x5A);
                assertEquals(8192, Libc.pwrite(fd, buf, 8192, 0));
                assertEquals(0, Libc.fdatasync(fd));
                assertEquals(0, Libc.fsync(fd));
                MemorySegment st = stat.allocate(a);
                assertEquals(0, Libc.fstat(fd, st));
                assertEquals(8192, stat.st_size(st));
                Errno.check(Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, 0, 4096), "punch hole");
                buf.fill((byte) 1);
                assertEquals(8192, Libc.pread(fd, buf, 8192, 0));
                assertEquals(0, buf.get(JAVA_BYTE, 0), "a punched hole reads zeros");
                assertEquals(0, buf.get(JAVA_BYTE, 4095));
                assertEquals(0x5A, buf.get(JAVA_BYTE, 4096));
                // a file offset off the logical block is refused with EINVAL under O_DIRECT
                assertEquals(-1, Libc.pread(fd, buf, 512, 4096 + 1));
                assertEquals(Libc.EINVAL, Errno.last());
                // a regular file is not a block device
                assertEquals(-1, Libc.ioctl(fd, Libc.BLKGETSIZE64, a.allocate(JAVA_LONG)));
                assertEquals(Libc.ENOTTY, Errno.last());

                MemorySegment sx = statx.allocate(a);
                Errno.check(Libc.statx(fd, a.allocateFrom(""), Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS | Libc.STATX_DIOALIGN, sx), "statx");
                assertEquals(8192, statx.stx_size(sx));
                assertTrue(LibcMacros.S_ISREG(statx.stx_mode(sx)));
                if ((statx.stx_mask(sx) & Libc.STATX_DIOALIGN) != 0) {
                    int off = statx.stx_dio_offset_align(sx);
                    assertTrue(off > 0 && Integer.bitCount(off) == 1, "dio offset alignment " + off);
                    System.out.println("statx DIOALIGN on " + tmp + ": mem " + statx.stx_dio_mem_align(sx) + ", offset " + off);
                }
            } finally {
                Libc.close(fd);
            }
        }
    }

    @Test
    void blockDeviceIoctlsWhenOneIsReadable() {
        try (Arena a = Arena.ofConfined()) {
            for (String dev : new String[] {"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/loop0"}) {
                int fd = Libc.open(a.allocateFrom(dev), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
                if (fd < 0) continue;
                try {
                    MemorySegment size = a.allocate(JAVA_LONG);
                    MemorySegment ssz = a.allocate(JAVA_INT);
                    if (Libc.ioctl(fd, Libc.BLKGETSIZE64, size) == 0) {
                        Errno.check(Libc.ioctl(fd, Libc.BLKSSZGET, ssz), "BLKSSZGET");
                        int lbs = ssz.get(JAVA_INT, 0);
                        assertTrue(lbs >= 512 && Integer.bitCount(lbs) == 1, dev + " logical block size " + lbs);
                        assertEquals(0, size.get(JAVA_LONG, 0) % lbs);
                        System.out.println(dev + ": " + size.get(JAVA_LONG, 0) + " bytes, logical block " + lbs);
                        return;
                    }
                } finally {
                    Libc.close(fd);
                }
            }
            System.out.println("no readable block device: BLKGETSIZE64/BLKSSZGET checked only for ENOTTY on a file");
        }
    }
}
