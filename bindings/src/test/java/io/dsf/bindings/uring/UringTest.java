package io.dsf.bindings.uring;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.iovec;
import io.dsf.bindings.uring.gen.IoUring;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class UringTest {
    @TempDir Path tmp;
    private Arena arena;
    private int fd = -1;

    record Cqe(long userData, int res, int flags) {}

    private final List<Cqe> seen = new ArrayList<>();
    private final Uring.CqeHandler collect = (ud, res, fl) -> seen.add(new Cqe(ud, res, fl));

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void tearDown() {
        if (fd >= 0) Libc.close(fd);
        arena.close();
    }

    private int openDirect(String name) {
        fd = Errno.check(Libc.open(arena.allocateFrom(tmp.resolve(name).toString()),
                Libc.O_RDWR | Libc.O_CREAT | Libc.O_DIRECT | Libc.O_CLOEXEC, 0644), "open");
        Errno.check(Libc.ftruncate(fd, 1 << 20), "ftruncate");
        return fd;
    }

    /** Waits (bounded) until {@code n} completions have been collected. */
    private void reapAtLeast(Uring r, int n) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (seen.size() < n) {
            r.reap(collect, Integer.MAX_VALUE);
            if (seen.size() >= n) break;
            int rc = r.submitAndWait(1, 100_000_000L);
            assertTrue(rc >= 0 || rc == -Libc.ETIME || rc == -Libc.EINTR, "io_uring_enter: " + rc);
            assertTrue(System.nanoTime() < deadline, "completions did not arrive: " + seen);
        }
    }

    @Test
    void nopRoundTrip() {
        try (Uring r = Uring.open(8)) {
            assertEquals(8, r.sqEntries());
            assertEquals(16, r.cqEntries());
            assertTrue(r.hasFeature(IoUring.IORING_FEAT_SINGLE_MMAP), "kernel 5.4+ maps SQ and CQ together");
            assertTrue(r.prepNop(42));
            assertTrue(r.prepNop(43));
            assertEquals(2, r.submit());
            reapAtLeast(r, 2);
            assertEquals(List.of(new Cqe(42, 0, 0), new Cqe(43, 0, 0)), seen);
            assertEquals(0, r.cqReady());
            assertEquals(0, r.submit(), "nothing pending");
        }
    }

    @Test
    void writeFsyncReadRoundTripWithODirect() {
        int f = openDirect("rw.img");
        MemorySegment out = arena.allocate(8192, 4096);
        MemorySegment in = arena.allocate(8192, 4096);
        for (int i = 0; i < 8192; i++) out.set(JAVA_BYTE, i, (byte) (i * 31 + 7));
        try (Uring r = Uring.open(8)) {
            assertTrue(r.prepWrite(f, out.address(), 8192, 65536, 1));
            assertEquals(1, r.submit());
            reapAtLeast(r, 1);
            assertEquals(new Cqe(1, 8192, 0), seen.getFirst());
            assertTrue(r.prepFsync(f, IoUring.IORING_FSYNC_DATASYNC, 2));
            assertTrue(r.prepRead(f, in.address(), 8192, 65536, 3));
            assertEquals(2, r.submit());
            reapAtLeast(r, 3);
            assertEquals(0, seen.stream().filter(c -> c.userData == 2).findFirst().orElseThrow().res());
            assertEquals(8192, seen.stream().filter(c -> c.userData == 3).findFirst().orElseThrow().res());
            assertEquals(-1, out.mismatch(in));
        }
    }

    @Test
    void fixedBuffersAndFixedFile() {
        int f = openDirect("fixed.img");
        MemorySegment region = arena.allocate(1 << 16, 4096);
        MemorySegment iov = iovec.allocate(arena);
        iovec.iov_base(iov, region);
        iovec.iov_len(iov, region.byteSize());
        MemorySegment fds = arena.allocate(JAVA_INT, 1);
        fds.set(JAVA_INT, 0, f);
        try (Uring r = Uring.open(8)) {
            assertEquals(0, r.registerBuffers(iov, 1));
            assertEquals(0, r.registerFiles(fds, 1));
            MemorySegment w = region.asSlice(8192, 4096);
            MemorySegment rd = region.asSlice(16384, 4096);
            w.fill((byte) 0x6B);
            assertTrue(r.prepWriteFixed(0, w.address(), 4096, 4096, 0, 10));
            r.flagLast(IoUring.IOSQE_FIXED_FILE);
            assertEquals(1, r.submit());
            reapAtLeast(r, 1);
            assertTrue(r.prepReadFixed(0, rd.address(), 4096, 4096, 0, 11));
            r.flagLast(IoUring.IOSQE_FIXED_FILE);
            assertEquals(1, r.submit());
            reapAtLeast(r, 2);
            assertEquals(List.of(new Cqe(10, 4096, 0), new Cqe(11, 4096, 0)), seen);
            assertEquals(-1, w.mismatch(rd));

            // an address outside the registered buffer is refused by the kernel, per request
            MemorySegment outside = arena.allocate(4096, 4096);
            assertTrue(r.prepReadFixed(f, outside.address(), 4096, 0, 0, 12));
            r.submit();
            reapAtLeast(r, 3);
            assertEquals(-Libc.EFAULT, seen.get(2).res());

            assertEquals(0, r.unregisterBuffers());
            assertEquals(0, r.unregisterFiles());
        }
    }

    @Test
    void errorsArriveAsNegativeResults() {
        int f = openDirect("err.img");
        MemorySegment buf = arena.allocate(4096, 4096);
        assertEquals(4096, Libc.pwrite(f, buf, 4096, 0)); // allocate the block: holes skip the alignment check
        try (Uring r = Uring.open(4)) {
            assertTrue(r.prepRead(12345, buf.address(), 4096, 0, 1)); // not an fd
            assertTrue(r.prepRead(f, buf.address(), 4096, 1, 2));     // O_DIRECT offset off the block
            r.submit();
            reapAtLeast(r, 2);
            assertEquals(-Libc.EBADF, seen.get(0).res());
            assertEquals(-Libc.EINVAL, seen.get(1).res());
        }
    }

    @Test
    void shortReadAtEndOfFile() {
        int f = openDirect("short.img");
        MemorySegment buf = arena.allocate(8192, 4096);
        try (Uring r = Uring.open(4)) {
            assertTrue(r.prepRead(f, buf.address(), 8192, (1 << 20) - 4096, 1));
            r.submit();
            reapAtLeast(r, 1);
            assertEquals(4096, seen.getFirst().res(), "only one block left before EOF");
        }
    }

    @Test
    void fallocatePunchesAHole() {
        int f = openDirect("trim.img");
        MemorySegment buf = arena.allocate(4096, 4096);
        buf.fill((byte) 9);
        try (Uring r = Uring.open(4)) {
            assertTrue(r.prepWrite(f, buf.address(), 4096, 0, 1));
            r.submit();
            reapAtLeast(r, 1);
            assertTrue(r.prepFallocate(f, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, 0, 4096, 2));
            r.submit();
            reapAtLeast(r, 2);
            assertEquals(0, seen.get(1).res());
            assertTrue(r.prepRead(f, buf.address(), 4096, 0, 3));
            r.submit();
            reapAtLeast(r, 3);
            assertEquals(4096, seen.get(2).res());
            for (int i = 0; i < 4096; i++) assertEquals(0, buf.get(JAVA_BYTE, i));
        }
    }

    @Test
    void fullSubmissionQueueRefusesThenRecovers() {
        try (Uring r = Uring.open(4)) {
            for (int i = 0; i < 4; i++) assertTrue(r.prepNop(i));
            assertEquals(0, r.sqSpaceLeft());
            assertFalse(r.prepNop(99), "a full SQ hands out no SQE");
            assertEquals(-1, r.nextSqe());
            assertEquals(4, r.submit());
            assertEquals(4, r.sqSpaceLeft(), "the kernel consumed the SQEs");
            assertTrue(r.prepNop(4));
            r.submit();
            reapAtLeast(r, 5);
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L), seen.stream().map(Cqe::userData).toList());
        }
    }

    @Test
    void completionQueueOverflowIsKeptAndFlushedByReap() {
        try (Uring r = Uring.open(4, 4, 0, 0)) {
            assertEquals(4, r.cqEntries());
            assertTrue(r.hasFeature(IoUring.IORING_FEAT_NODROP));
            for (int batch = 0; batch < 3; batch++) {
                for (int i = 0; i < 4; i++) assertTrue(r.prepNop(batch * 4 + i));
                int rc = r.submit();
                assertEquals(4, rc, "batch " + batch);
            }
            assertEquals(4, r.cqReady(), "the CQ holds 4; the other 8 wait in the kernel's overflow list");
            assertTrue((r.sqFlags() & IoUring.IORING_SQ_CQ_OVERFLOW) != 0, "overflow flagged");
            reapAtLeast(r, 12);
            TreeSet<Long> got = new TreeSet<>();
            for (Cqe c : seen) got.add(c.userData());
            assertEquals(12, got.size(), "no completion lost: " + seen);
            assertEquals(0, r.cqOverflowCount(), "nothing dropped (IORING_FEAT_NODROP)");
            assertEquals(0, r.sqFlags() & IoUring.IORING_SQ_CQ_OVERFLOW);
        }
    }

    @Test
    void waitWithTimeoutReturnsEtimeWhenNothingCompletes() {
        try (Uring r = Uring.open(4)) {
            assertTrue(r.hasFeature(IoUring.IORING_FEAT_EXT_ARG));
            long t0 = System.nanoTime();
            int rc = r.submitAndWait(1, 20_000_000L);
            long waited = System.nanoTime() - t0;
            assertEquals(-Libc.ETIME, rc);
            assertTrue(waited >= 10_000_000L, "waited " + waited + " ns");
            assertEquals(0, r.reap(collect, 8));
        }
    }

    @Test
    void reapHonoursMaxAndHandlerMaySubmitAgain() {
        try (Uring r = Uring.open(8)) {
            for (int i = 0; i < 6; i++) r.prepNop(i);
            r.submit();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (r.cqReady() < 6 && System.nanoTime() < deadline) r.submitAndWait(6, 100_000_000L);
            assertEquals(2, r.reap(collect, 2));
            assertEquals(4, r.cqReady());
            // the handler resubmits from inside reap
            int n = r.reap((ud, res, fl) -> {
                seen.add(new Cqe(ud, res, fl));
                if (ud < 100) assertTrue(r.prepNop(ud + 100));
            }, 8);
            assertEquals(4, n);
            r.submit();
            reapAtLeast(r, 10);
            assertEquals(10, seen.size());
        }
    }

    @Test
    void setupFailureIsATypedError() {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Uring.open(1 << 20, 1, 0, 0));
        assertEquals(Libc.EINVAL, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("io_uring_setup"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Uring.open(0));
    }

    @Test
    void aClosedRingRefusesUseInsteadOfTouchingUnmappedMemory() {
        Uring r = Uring.open(4);
        r.close();
        r.close(); // idempotent
        assertTrue(r.isClosed());
        assertThrows(IllegalStateException.class, () -> r.prepNop(1));
    }
}
