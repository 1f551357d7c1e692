package io.dsf.frodo.blk;

import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserProtocol;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/** virtio-blk end to end through the socket with the test front-end driving the rings. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VhostUserBlkTest {
    @TempDir Path dir;
    MemoryVDisk disk;
    VhostUserBlkServer server;
    VhostUserDriver drv;
    DriverQueue q0, q1;
    long hdr, status, data;

    @BeforeEach
    void setUp() throws Exception {
        disk = new MemoryVDisk("vdisk-test", 64L << 20);
        server = VhostUserBlkServer.start(dir.resolve("blk.sock"), disk, VhostOptions.defaults().withQueues(2));
        drv = VhostUserDriver.connect(server.socket());
        long f = drv.negotiate(0);
        assertNotEquals(0, f & VhostUserProtocol.VIRTIO_RING_F_EVENT_IDX);
        drv.createGuestMemory(8L << 20);
        q0 = drv.startQueue(0, 64, true);
        q1 = drv.startQueue(1, 64, true);
        hdr = drv.alloc(16, 16);
        status = drv.alloc(1, 1);
        data = drv.alloc(1 << 20, 4096);
    }

    @AfterEach
    void tearDown() {
        if (drv != null) drv.close();
        if (server != null) server.close();
        disk.close();
    }

    private int request(DriverQueue q, int type, long sector, long[] dataAddr, int[] dataLen, boolean deviceWrites) {
        MemorySegment h = drv.at(hdr, 16);
        h.set(JAVA_INT_UNALIGNED, 0, type);
        h.set(JAVA_INT_UNALIGNED, 4, 0);
        h.set(JAVA_LONG_UNALIGNED, 8, sector);
        drv.at(status, 1).set(JAVA_BYTE, 0, (byte) 0x7f);
        int n = dataAddr.length;
        long[] a = new long[n + 2];
        int[] l = new int[n + 2];
        boolean[] w = new boolean[n + 2];
        a[0] = hdr; l[0] = 16;
        for (int i = 0; i < n; i++) { a[i + 1] = dataAddr[i]; l[i + 1] = dataLen[i]; w[i + 1] = deviceWrites; }
        a[n + 1] = status; l[n + 1] = 1; w[n + 1] = true;
        int head = q.chain(a, l, w);
        q.offer(head);
        q.kick();
        assertEquals(1, q.awaitUsed(1, 10_000), "request completed");
        long u = q.takeUsed();
        assertEquals(head, (int) (u >>> 32));
        lastUsedLen = (int) u;
        return drv.at(status, 1).get(JAVA_BYTE, 0);
    }

    int lastUsedLen;

    @Test
    void configSpace() throws Exception {
        MemorySegment c = drv.getConfig(0, VirtioBlkDevice.CONFIG_SIZE);
        assertEquals((64L << 20) / 512, c.get(JAVA_LONG_UNALIGNED, 0));
        assertEquals(4096, c.get(JAVA_INT_UNALIGNED, 20));
        assertEquals(2, c.get(JAVA_SHORT_UNALIGNED, 34));
        assertEquals(VirtioBlkDevice.SEG_MAX, c.get(JAVA_INT_UNALIGNED, 12));
        assertEquals(2, drv.getU64(VhostUserProtocol.GET_QUEUE_NUM));
    }

    @Test
    void writeThenReadOnBothQueuesZeroCopy() {
        MemorySegment buf = drv.at(data, 16384);
        for (int i = 0; i < 16384; i++) buf.set(JAVA_BYTE, i, (byte) (i * 7 + 3));
        // two 8 KiB descriptors, written at sector 64 (byte 32768)
        assertEquals(0, request(q0, VirtioBlkDevice.T_OUT, 64, new long[] {data, data + 8192}, new int[] {8192, 8192}, false));
        assertEquals(1, lastUsedLen);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment check = a.allocate(16384, 4096);
            disk.read(32768, check, 16384, 0, (t, s) -> assertEquals(0, s));
            assertEquals(-1, check.mismatch(buf));
        }
        long rd = data + 65536;
        assertEquals(0, request(q1, VirtioBlkDevice.T_IN, 64, new long[] {rd}, new int[] {16384}, true));
        assertEquals(16384 + 1, lastUsedLen);
        assertEquals(-1, drv.at(rd, 16384).mismatch(buf));
        long[] perQueue = server.queueRequests();
        assertEquals(1, perQueue[0]);
        assertEquals(1, perQueue[1]);
    }

    @Test
    void largeRequestIsSplitAtTheVDisksMaximumTransfer() {
        MemorySegment buf = drv.at(data, 1 << 20);
        for (int i = 0; i < (1 << 20); i += 4096) buf.set(JAVA_INT_UNALIGNED, i, i);
        long before = disk.writes.get();
        // 1 MiB in one descriptor plus 4 KiB in another: the first crosses maxTransfer (1 MiB) exactly, then one more
        long extra = drv.alloc(4096, 4096);
        assertEquals(0, request(q0, VirtioBlkDevice.T_OUT, 0, new long[] {data, extra}, new int[] {1 << 20, 4096}, false));
        assertEquals(2, disk.writes.get() - before);
    }

    @Test
    void badRequestsFailWithoutTouchingTheDisk() {
        long w = disk.writes.get(), r = disk.reads.get();
        assertEquals(VirtioBlkDevice.S_IOERR, request(q0, VirtioBlkDevice.T_OUT, 1, new long[] {data}, new int[] {4096}, false), "unaligned sector");
        assertEquals(VirtioBlkDevice.S_IOERR, request(q0, VirtioBlkDevice.T_OUT, 0, new long[] {data}, new int[] {512}, false), "partial block");
        assertEquals(VirtioBlkDevice.S_IOERR, request(q0, VirtioBlkDevice.T_IN, (64L << 20) / 512 - 8, new long[] {data}, new int[] {8192}, true), "past the end");
        assertEquals(VirtioBlkDevice.S_IOERR, request(q0, VirtioBlkDevice.T_IN, Long.MAX_VALUE / 4, new long[] {data}, new int[] {4096}, true), "sector overflow");
        assertEquals(VirtioBlkDevice.S_IOERR, request(q0, VirtioBlkDevice.T_IN, 0, new long[] {data}, new int[] {4096}, false), "read into a device-readable buffer");
        assertEquals(VirtioBlkDevice.S_UNSUPP, request(q0, 99, 0, new long[0], new int[0], false), "unknown type");
        assertEquals(w, disk.writes.get());
        assertEquals(r, disk.reads.get());
    }

    @Test
    void flushGetIdDiscardWriteZeroes() {
        assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        assertEquals(1, disk.flushes.get());
        assertEquals(0, request(q0, VirtioBlkDevice.T_GET_ID, 0, new long[] {data}, new int[] {20}, true));
        assertEquals("vdisk-test", drv.at(data, 20).getString(0));
        MemorySegment buf = drv.at(data, 4096);
        buf.fill((byte) 0x5a);
        assertEquals(0, request(q0, VirtioBlkDevice.T_OUT, 8, new long[] {data}, new int[] {4096}, false));
        long seg = drv.alloc(16, 16);
        MemorySegment s = drv.at(seg, 16);
        s.set(JAVA_LONG_UNALIGNED, 0, 8);
        s.set(JAVA_INT_UNALIGNED, 8, 8);
        s.set(JAVA_INT_UNALIGNED, 12, 0);
        // the range goes in as device-readable data after the header
        assertEquals(0, request(q0, VirtioBlkDevice.T_DISCARD, 0, new long[] {seg}, new int[] {16}, false));
        assertEquals(1, disk.unmaps.get());
        assertEquals(0, request(q0, VirtioBlkDevice.T_IN, 8, new long[] {data}, new int[] {4096}, true));
        for (int i = 0; i < 4096; i++) assertEquals(0, buf.get(JAVA_BYTE, i));
        s.set(JAVA_INT_UNALIGNED, 12, 1);
        assertEquals(VirtioBlkDevice.S_UNSUPP, request(q0, VirtioBlkDevice.T_DISCARD, 0, new long[] {seg}, new int[] {16}, false), "discard with the unmap flag");
        assertEquals(0, request(q0, VirtioBlkDevice.T_WRITE_ZEROES, 0, new long[] {seg}, new int[] {16}, false));
        assertEquals(1, disk.zeroes.get());
        s.set(JAVA_INT_UNALIGNED, 8, 3);
        assertEquals(VirtioBlkDevice.S_IOERR, request(q0, VirtioBlkDevice.T_WRITE_ZEROES, 0, new long[] {seg}, new int[] {16}, false), "3 sectors");
    }

    @Test
    void indirectChain() {
        MemorySegment buf = drv.at(data, 8192);
        buf.fill((byte) 0x11);
        long table = drv.alloc(16 * 3, 16);
        MemorySegment t = drv.at(table, 48);
        MemorySegment h = drv.at(hdr, 16);
        h.set(JAVA_INT_UNALIGNED, 0, VirtioBlkDevice.T_OUT);
        h.set(JAVA_LONG_UNALIGNED, 8, 0);
        long[] a = {hdr, data, status};
        int[] l = {16, 8192, 1};
        int[] fl = {1, 1, 2};
        for (int i = 0; i < 3; i++) {
            t.set(JAVA_LONG_UNALIGNED, 16L * i, a[i]);
            t.set(JAVA_INT_UNALIGNED, 16L * i + 8, l[i]);
            t.set(JAVA_SHORT_UNALIGNED, 16L * i + 12, (short) fl[i]);
            t.set(JAVA_SHORT_UNALIGNED, 16L * i + 14, (short) (i + 1));
        }
        q0.desc(5, table, 48, 4, 0);
        q0.offer(5);
        q0.kick();
        assertEquals(1, q0.awaitUsed(1, 10_000));
        assertEquals(5L << 32 | 1, q0.takeUsed());
        assertEquals(0, drv.at(status, 1).get(JAVA_BYTE, 0));
        assertEquals(1, disk.writes.get());
    }

    @Test
    void malformedChainIsReturnedUnusedAndTheQueueGoesOn() {
        q0.desc(0, 0x10, 16, 1, 1);          // header outside guest memory
        q0.desc(1, status, 1, 2, 0);
        q0.offer(0);
        q0.kick();
        assertEquals(1, q0.awaitUsed(1, 10_000));
        assertEquals(0L, q0.takeUsed(), "head 0, length 0");
        assertEquals(1, server.malformedChains());
        assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false), "the queue still works");
    }

    @Test
    void loopingChainIsRefused() {
        q0.desc(0, hdr, 16, 1, 1);
        q0.desc(1, hdr, 16, 1, 0);   // next -> 0: a loop
        q0.offer(0);
        q0.kick();
        assertEquals(1, q0.awaitUsed(1, 10_000));
        assertEquals(0L, q0.takeUsed());
        assertEquals(1, server.malformedChains());
    }

    @Test
    void availIndexJumpBreaksTheQueueOnly() throws Exception {
        q0.availIdx(1000);
        q0.kick();
        // queue 1 keeps working while queue 0 is broken
        assertEquals(0, request(q1, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        int head = q0.chain(new long[] {hdr, status}, new int[] {16, 1}, new boolean[] {false, true});
        q0.offer(head);
        q0.kick();
        assertEquals(0, q0.awaitUsed(1, 300), "a broken queue takes nothing");
        assertEquals(0, drv.getVringBase(0), "nothing was consumed");
    }

    @Test
    void getVringBaseStopsTheRingAndReportsTheIndex() throws Exception {
        for (int i = 0; i < 3; i++) assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        assertEquals(3, drv.getVringBase(0));
        // a stopped ring takes nothing until restarted
        int head = q0.chain(new long[] {hdr, status}, new int[] {16, 1}, new boolean[] {false, true});
        q0.offer(head);
        q0.kick();
        assertEquals(0, q0.awaitUsed(1, 300));
    }

    @Test
    void eventIdxSuppressesInterruptsUntilUsedEventIsReached() {
        q0.usedEvent(5); // interrupt only once the used index passes 5
        q0.interrupts();
        for (int i = 0; i < 3; i++) assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        // the first completion always interrupts (no earlier signal); then none until used passes 5
        assertEquals(1, q0.interrupts(), "only the initial interrupt");
        for (int i = 0; i < 4; i++) assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        assertEquals(1, q0.interrupts(), "one interrupt when the used index passed used_event");
        assertEquals(7, q0.availEvent(), "the device asks for a kick at its next entry");
    }

    @Test
    void memoryTableReplacedWhileQueuesRunAndFlushStillWorks() throws Exception {
        assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        drv.sendMemTable(); // queues stop (drained), the table is remapped, queues restart
        assertEquals(0, request(q0, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        assertEquals(0, request(q1, VirtioBlkDevice.T_FLUSH, 0, new long[0], new int[0], false));
        assertEquals(3, disk.flushes.get());
    }

    @Test
    void asyncVDiskCompletionsFromAnotherThread() throws Exception {
        try (MemoryVDisk async = new MemoryVDisk("async", 16L << 20, false, true);
             VhostUserBlkServer s = VhostUserBlkServer.start(dir.resolve("async.sock"), async, VhostOptions.defaults().withQueues(1));
             VhostUserDriver d = VhostUserDriver.connect(s.socket())) {
            d.negotiate(0);
            d.createGuestMemory(4L << 20);
            DriverQueue q = d.startQueue(0, 256, true);
            long h = d.alloc(16 * 64, 16), st = d.alloc(64, 1), buf = d.alloc(64 * 4096, 4096);
            // 64 writes in flight at once, completed on the vDisk's own thread
            for (int i = 0; i < 64; i++) {
                MemorySegment hs = d.at(h + 16L * i, 16);
                hs.set(JAVA_INT_UNALIGNED, 0, VirtioBlkDevice.T_OUT);
                hs.set(JAVA_LONG_UNALIGNED, 8, 8L * i);
                d.at(buf + 4096L * i, 4096).fill((byte) i);
                q.offer(q.chain(new long[] {h + 16L * i, buf + 4096L * i, st + i}, new int[] {16, 4096, 1}, new boolean[] {false, false, true}));
            }
            q.kick();
            assertEquals(64, q.awaitUsed(64, 10_000));
            for (int i = 0; i < 64; i++) assertEquals(0, d.at(st + i, 1).get(JAVA_BYTE, 0));
            assertEquals(64, async.writes.get());
        }
    }

    @Test
    void flushCompletesOnlyOnceTheVDiskFlushed() throws Exception {
        java.util.concurrent.ConcurrentLinkedQueue<Runnable> held = new java.util.concurrent.ConcurrentLinkedQueue<>();
        io.dsf.stargate.api.VDisk holdingFlushes = new io.dsf.stargate.api.VDisk() {
            @Override public String name() { return disk.name(); }
            @Override public long size() { return disk.size(); }
            @Override public int blockSize() { return disk.blockSize(); }
            @Override public int maxTransfer() { return disk.maxTransfer(); }
            @Override public boolean readOnly() { return false; }
            @Override public int read(long o, MemorySegment b, int l, long t, io.dsf.stargate.api.IoCallback cb) { return disk.read(o, b, l, t, cb); }
            @Override public int write(long o, MemorySegment b, int l, long t, io.dsf.stargate.api.IoCallback cb) { return disk.write(o, b, l, t, cb); }
            @Override public int flush(long t, io.dsf.stargate.api.IoCallback cb) { held.add(() -> cb.onComplete(t, 0)); return 0; }
            @Override public int unmap(long o, long l, long t, io.dsf.stargate.api.IoCallback cb) { return disk.unmap(o, l, t, cb); }
            @Override public int writeZeroes(long o, long l, long t, io.dsf.stargate.api.IoCallback cb) { return disk.writeZeroes(o, l, t, cb); }
        };
        try (VhostUserBlkServer s = VhostUserBlkServer.start(dir.resolve("flush.sock"), holdingFlushes, VhostOptions.defaults().withQueues(1));
             VhostUserDriver d = VhostUserDriver.connect(s.socket())) {
            d.negotiate(0);
            d.createGuestMemory(1L << 20);
            DriverQueue q = d.startQueue(0, 16, true);
            long h = d.alloc(16, 16), st = d.alloc(1, 1);
            d.at(h, 16).fill((byte) 0);
            d.at(h, 16).set(JAVA_INT_UNALIGNED, 0, VirtioBlkDevice.T_FLUSH);
            d.at(st, 1).set(JAVA_BYTE, 0, (byte) 0x7f);
            q.offer(q.chain(new long[] {h, st}, new int[] {16, 1}, new boolean[] {false, true}));
            q.kick();
            assertEquals(0, q.awaitUsed(1, 300), "the flush is still in the vDisk: not acknowledged");
            assertEquals(1, held.size());
            held.poll().run();
            assertEquals(1, q.awaitUsed(1, 10_000));
            assertEquals(0, d.at(st, 1).get(JAVA_BYTE, 0), "acknowledged once flushed");
        }
    }
}
