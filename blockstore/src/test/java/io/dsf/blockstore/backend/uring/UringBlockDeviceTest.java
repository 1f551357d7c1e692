package io.dsf.blockstore.backend.uring;

import io.dsf.bindings.libc.gen.Libc;
import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(60)
class UringBlockDeviceTest {
    @TempDir Path tmp;

    private static byte[] pattern(int len, int seed) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) b[i] = (byte) (i * 13 + seed);
        return b;
    }

    private static void roundTrip(BlockDevice d, long offset, int len) {
        try (SyncIo io = new SyncIo(d, 10_000_000_000L)) {
            MemorySegment w = d.allocateDma(len);
            MemorySegment r = d.allocateDma(len);
            byte[] p = pattern(len, (int) (offset >>> 9));
            MemorySegment.copy(p, 0, w, JAVA_BYTE, 0, len);
            io.write(offset, w, len);
            io.flush();
            io.read(offset, r, len);
            assertArrayEquals(p, r.toArray(JAVA_BYTE));
        }
    }

    @Test
    void fileGeometryComesFromStatxAndSizeCreatesASparseFile() throws Exception {
        Path p = tmp.resolve("g.img");
        try (BlockDevice d = BlockDevices.open("uring:" + p + "?size=1g")) {
            UringBlockDevice u = assertInstanceOf(UringBlockDevice.class, d);
            Geometry g = d.geometry();
            assertFalse(u.isBlockDevice());
            assertEquals(1L << 30, g.capacity());
            assertEquals(1L << 30, Files.size(p));
            assertTrue(g.blockSize() >= 512 && g.blockSize() <= 4096, "O_DIRECT block size " + g.blockSize());
            assertTrue(g.bufferAlignment() <= 4096);
            assertTrue(g.trimSupported() && g.trimReadsZero(), "ext4 punches holes");
            assertTrue(g.volatileCache());
            long allocated = (long) Files.getAttribute(p, "unix:size") > 0 ? blocksOf(p) * 512 : 0;
            assertTrue(allocated < (1 << 20), "sparse: " + allocated + " bytes allocated");
            System.out.println("uring: on " + tmp + ": " + g);
            roundTrip(d, (1L << 30) - 65536, 65536);
        }
        // reopen without size: the file's length is the capacity
        try (BlockDevice d = BlockDevices.open("uring:" + p)) {
            assertEquals(1L << 30, d.geometry().capacity());
        }
        // a larger block size on request
        try (BlockDevice d = BlockDevices.open("uring:" + p + "?bs=4k")) {
            assertEquals(4096, d.geometry().blockSize());
            try (SyncIo io = new SyncIo(d)) {
                assertEquals(IoError.UNALIGNED.code(), io.tryRun(0, 512, d.allocateDma(4096), 4096));
            }
        }
    }

    private static long blocksOf(Path p) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b", p.toString()).start();
        return Long.parseLong(new String(stat.getInputStream().readAllBytes()).trim());
    }

    @Test
    void openErrorsSayWhatToDo() throws Exception {
        DeviceException e = assertThrows(DeviceException.class, () -> BlockDevices.open("uring:" + tmp.resolve("absent.img")));
        assertTrue(e.getMessage().contains("?size="), e.getMessage());
        e = assertThrows(DeviceException.class, () -> BlockDevices.open("uring:" + tmp));
        assertTrue(e.getMessage().contains("directory"), e.getMessage());
        IllegalArgumentException iae = assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("uring:" + tmp.resolve("x") + "?sqpol"));
        assertTrue(iae.getMessage().contains("sqpol"), iae.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("uring:"));
        assertThrows(IllegalArgumentException.class, () -> BlockDevices.open("uring:" + tmp.resolve("y") + "?size=1m&sqpoll_idle=0"));
        Path small = tmp.resolve("small.img");
        Files.write(small, new byte[100]);
        e = assertThrows(DeviceException.class, () -> BlockDevices.open("uring:" + small));
        assertTrue(e.getMessage().contains("smaller than one block"), e.getMessage());
    }

    @Test
    void aFilesystemWithoutODirectIsAClearErrorNamingFile() {
        // procfs files refuse O_DIRECT at open (EINVAL); opening /proc/version read-write needs root
        assumeTrue(Files.isWritable(Path.of("/proc/version")) || "root".equals(System.getProperty("user.name")),
                "needs root to open /proc/version read-write");
        DeviceException e = assertThrows(DeviceException.class, () -> BlockDevices.open("uring:/proc/version"));
        assertEquals(IoError.UNSUPPORTED, e.error(), e.getMessage());
        assertTrue(e.getMessage().contains("O_DIRECT is not supported") && e.getMessage().contains("file:/proc/version"), e.getMessage());
    }

    @Test
    void tmpfsEitherWorksOrIsRefusedWithAClearError() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        Path f = Files.createTempFile(shm, "dsf-uring-", ".img");
        try {
            BlockDevice d;
            try {
                d = BlockDevices.open("uring:" + f + "?size=4m");
            } catch (DeviceException e) {
                assertEquals(IoError.UNSUPPORTED, e.error(), e.getMessage());
                assertTrue(e.getMessage().contains("O_DIRECT") && e.getMessage().contains("file:" + f), e.getMessage());
                System.out.println("tmpfs refuses O_DIRECT here, as expected: " + e.getMessage());
                return;
            }
            // Linux 6.6+ tmpfs accepts O_DIRECT: then the device must simply work
            try (d) {
                System.out.println("tmpfs accepts O_DIRECT on this kernel (Linux 6.6+): " + d.geometry());
                roundTrip(d, 8192, 4096);
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void registeredRegionUsesFixedBuffersAndOtherMemoryStillWorks() {
        try (BlockDevice d = BlockDevices.open("uring:" + tmp.resolve("fixed.img") + "?size=16m")) {
            List<long[]> done = new ArrayList<>();
            UringQueue q = (UringQueue) d.openQueue(8, (ud, st) -> done.add(new long[] {ud, st}));
            try {
                assertTrue(q.fixedFile(), "the device fd is a registered file");
                BufferPool pool = BufferPool.allocate(d, 65536, 4).registerWith(q);
                assertEquals(1, q.registeredRegions());
                pool.registerWith(q); // the same region again: nothing new
                assertEquals(1, q.registeredRegions());
                MemorySegment other = d.allocateDma(65536);
                q.registerBuffers(other);
                assertEquals(2, q.registeredRegions(), "a second region joins the first");
                MemorySegment unregistered;
                try (Arena a = Arena.ofConfined()) {
                    unregistered = a.allocate(65536, 4096);
                    MemorySegment w = pool.buffer(pool.acquire());
                    MemorySegment.copy(pattern(65536, 5), 0, w, JAVA_BYTE, 0, 65536);
                    assertEquals(DeviceQueue.ACCEPTED, q.write(0, w, 65536, 1));         // WRITE_FIXED
                    assertEquals(DeviceQueue.ACCEPTED, q.write(65536, w, 65536, 2));     // WRITE_FIXED
                    drain(q, done, 2);
                    assertEquals(DeviceQueue.ACCEPTED, q.read(0, other, 65536, 3));      // READ_FIXED, 2nd region
                    assertEquals(DeviceQueue.ACCEPTED, q.read(65536, unregistered, 65536, 4)); // plain READ
                    drain(q, done, 4);
                    for (long[] c : done) assertEquals(0, c[1], "status of " + c[0]);
                    assertArrayEquals(pattern(65536, 5), other.toArray(JAVA_BYTE));
                    assertArrayEquals(pattern(65536, 5), unregistered.toArray(JAVA_BYTE));
                }
            } finally {
                q.close();
            }
        }
    }

    private static void drain(DeviceQueue q, List<long[]> done, int n) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (done.size() < n) {
            q.await(16, 10_000_000L);
            assertTrue(System.nanoTime() < deadline, "completions missing");
        }
    }

    @Test
    void aShortReadIsResubmittedAndAFileThatShrankReportsAnIoError() {
        Path p = tmp.resolve("shrink.img");
        try (BlockDevice d = BlockDevices.open("uring:" + p + "?size=1m"); Arena a = Arena.ofConfined()) {
            int fd = Libc.open(a.allocateFrom(p.toString()), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            assertTrue(fd >= 0);
            try {
                assertEquals(0, Libc.ftruncate(fd, (1 << 20) - 4096)); // the last block vanishes under the device
            } finally {
                Libc.close(fd);
            }
            try (SyncIo io = new SyncIo(d)) {
                MemorySegment r = d.allocateDma(8192);
                // first transfer returns 4096 (short), the resubmitted remainder returns 0: IO_ERROR
                assertEquals(IoError.IO_ERROR.code(), io.tryRun(0, (1 << 20) - 8192, r, 8192));
                assertEquals(0, io.tryRun(0, 0, r, 8192), "the queue still works");
            }
        }
    }

    @Test
    void sqpollRingServesIo() {
        try (BlockDevice d = BlockDevices.open("uring:" + tmp.resolve("sqpoll.img") + "?size=8m&sqpoll&sqpoll_idle=10")) {
            roundTrip(d, 4096, 16384);
            roundTrip(d, 1 << 20, 4096);
        } catch (DeviceException e) {
            assumeTrue(false, "SQPOLL not available here: " + e.getMessage());
        }
    }

    @Test
    void iopollOnAFileIsRefusedAtOpenWithAClearError() {
        Path p = tmp.resolve("iopoll.img");
        DeviceException e = assertThrows(DeviceException.class, () -> BlockDevices.open("uring:" + p + "?size=8m&iopoll"));
        assertEquals(IoError.UNSUPPORTED, e.error());
        assertTrue(e.getMessage().contains("IOPOLL") && e.getMessage().contains("drop ?iopoll"), e.getMessage());
        // the refusal leaks nothing: the same file opens fine without the flag
        try (BlockDevice d = BlockDevices.open("uring:" + p + "?size=8m")) {
            roundTrip(d, 0, 4096);
        }
    }

    @Test
    void steadyStateIoAllocatesNothingPerRequest() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(mx.isThreadAllocatedMemorySupported(), "no per-thread allocation counter in this JVM");
        try (BlockDevice d = BlockDevices.open("uring:" + tmp.resolve("alloc.img") + "?size=16m")) {
            long[] completed = {0};
            DeviceQueue q = d.openQueue(32, (ud, st) -> completed[0] += st == 0 ? 1 : 1_000_000);
            try {
                BufferPool pool = BufferPool.allocate(d, 4096, 32).registerWith(q);
                MemorySegment[] bufs = new MemorySegment[32];
                for (int i = 0; i < 32; i++) bufs[i] = pool.buffer(pool.acquire());
                long tid = Thread.currentThread().threadId();
                long best = Long.MAX_VALUE;
                for (int round = 0; round < 5 && best > 0; round++) { // the first rounds warm the JIT up
                    long before = mx.getThreadAllocatedBytes(tid);
                    runIo(q, bufs, completed, 20_000);
                    best = Math.min(best, mx.getThreadAllocatedBytes(tid) - before);
                }
                System.out.println("uring: bytes allocated by 20000 I/Os in steady state: " + best);
                assertTrue(best < 20_000, "the I/O path allocates: " + best + " bytes for 20000 requests");
            } finally {
                q.close();
            }
        }
    }

    private static void runIo(DeviceQueue q, MemorySegment[] bufs, long[] completed, int n) {
        long target = completed[0] + n;
        int submitted = 0;
        while (completed[0] < target) {
            while (submitted < n && q.inFlight() < bufs.length) {
                int i = submitted % bufs.length;
                int st = (submitted & 1) == 0
                        ? q.read((long) i * 4096, bufs[i], 4096, i)
                        : q.write((long) i * 4096, bufs[i], 4096, i);
                assertEquals(DeviceQueue.ACCEPTED, st);
                submitted++;
            }
            q.await(64, 1_000_000L);
        }
        assertEquals(target, completed[0], "every request succeeded");
    }

    @Test
    void deviceUriParsingIsSharedWithTheOtherBackends() {
        DeviceUri u = DeviceUri.parse("uring:/dev/nvme0n1?sqpoll&iopoll");
        assertEquals("/dev/nvme0n1", u.path());
        assertTrue(u.flag("sqpoll") && u.flag("iopoll"));
    }
}
