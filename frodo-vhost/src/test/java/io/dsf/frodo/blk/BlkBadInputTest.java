package io.dsf.frodo.blk;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static io.dsf.frodo.blk.VirtioBlkDevice.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A hostile virtio-blk driver through the test front-end: malformed request headers, descriptors
 * outside guest memory or wrapping around, oversize and looping chains (direct and indirect), bad
 * available-ring entries, and guest memory shrunk under a running queue. The back-end answers with
 * IOERR/UNSUPP, returns the chain unused, or stops the queue — it never touches the vDisk for a bad
 * request, never writes guest memory outside the request's own writable buffers (a canary area
 * between them stays intact), and keeps serving the next request and the next connection.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BlkBadInputTest {
    static final long MEM = 8L << 20;
    static final byte CANARY = (byte) 0xa5;

    @TempDir Path dir;
    MemoryVDisk disk;
    VhostUserBlkServer server;
    VhostUserDriver drv;
    DriverQueue q, q1;
    long hdr, status, data, canary, canaryLen;

    @BeforeEach
    void setUp() throws Exception {
        disk = new MemoryVDisk("bad-blk", 16L << 20);
        server = VhostUserBlkServer.start(dir.resolve("bad.sock"), disk, VhostOptions.defaults().withQueues(2));
        drv = VhostUserDriver.connect(server.socket());
        drv.negotiate(0);
        drv.createGuestMemory(MEM);
        q = drv.startQueue(0, 256, true);
        q1 = drv.startQueue(1, 16, true);
        hdr = drv.alloc(64, 64);
        status = drv.alloc(64, 64);
        data = drv.alloc(64 << 10, 4096);
        // 1 MiB right after the buffers is canary: no request may write it (later allocations come after it)
        canaryLen = 1 << 20;
        canary = drv.alloc(canaryLen, 4096);
        drv.at(canary, canaryLen).fill(CANARY);
    }

    @AfterEach
    void tearDown() {
        if (drv != null) drv.close();
        if (server != null) server.close();
        disk.close();
    }

    void assertCanaryIntact() {
        MemorySegment c = drv.at(canary, canaryLen);
        for (long i = 0; i < canaryLen; i += 8)
            assertEquals(0xa5a5a5a5a5a5a5a5L, c.get(JAVA_LONG_UNALIGNED, i), "guest memory outside every writable buffer, at +" + i);
    }

    void header(long at, int type, long sector) {
        MemorySegment h = drv.at(at, 16);
        h.set(JAVA_INT_UNALIGNED, 0, type);
        h.set(JAVA_INT_UNALIGNED, 4, 0);
        h.set(JAVA_LONG_UNALIGNED, 8, sector);
    }

    /** Offers {@code head}, waits for it, returns the used length; the head must come back. */
    int roundTrip(DriverQueue dq, int head) {
        dq.offer(head);
        dq.kick();
        assertEquals(1, dq.awaitUsed(1, 10_000), "the request completes");
        long u = dq.takeUsed();
        assertEquals(head, (int) (u >>> 32), "the used entry names the head");
        return (int) u;
    }

    int chain(long[] a, int[] l, boolean[] w) {
        return q.chain(a, l, w);
    }

    byte st() { return drv.at(status, 1).get(JAVA_BYTE, 0); }

    void resetStatus() { drv.at(status, 1).set(JAVA_BYTE, 0, (byte) 0x7f); }

    /** A good 4 KiB read on queue 0: the queue still works after whatever came before. */
    void queueStillWorks() {
        header(hdr, T_IN, 8);
        resetStatus();
        int len = roundTrip(q, chain(new long[] {hdr, data, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
        assertEquals(4097, len);
        assertEquals(S_OK, st());
    }

    @Test
    void malformedHeadersGetAnErrorStatusAndNeverReachTheVDisk() {
        long reads = disk.reads.get(), writes = disk.writes.get();
        // header of 8 bytes
        header(hdr, T_IN, 0);
        resetStatus();
        assertEquals(1, roundTrip(q, chain(new long[] {hdr, data, status}, new int[] {8, 4096, 1}, new boolean[] {false, true, true})));
        assertEquals(S_IOERR, st(), "short header");
        // a read with device-readable data after the header
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, data, data + 4096, status}, new int[] {16, 4096, 4096, 1}, new boolean[] {false, false, true, true}));
        assertEquals(S_IOERR, st(), "readable data on a read");
        // a write whose data is device-writable
        header(hdr, T_OUT, 0);
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, data, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
        assertEquals(S_IOERR, st(), "writable data on a write");
        // status byte first, data after it: the status is the last writable byte (the data's), data pieces not whole blocks
        header(hdr, T_IN, 0);
        resetStatus();
        drv.at(data, 4096).fill((byte) 0x33);
        roundTrip(q, chain(new long[] {hdr, status, data}, new int[] {16, 1, 4096}, new boolean[] {false, true, true}));
        assertEquals(0x7f, st(), "the guest's idea of a status byte is not the last byte: untouched");
        assertEquals(S_IOERR, drv.at(data + 4095, 1).get(JAVA_BYTE, 0), "IOERR in the last writable byte");
        // sector not aligned to the 4 KiB block, and a sector past the end, and the highest sector
        for (long sector : new long[] {3, (16L << 20) / 512, -1L, Long.MAX_VALUE / 512 + 1}) {
            header(hdr, T_IN, sector);
            resetStatus();
            roundTrip(q, chain(new long[] {hdr, data, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
            assertEquals(S_IOERR, st(), "sector " + sector);
        }
        // discard: 17 ranges, a zero-sector range, a range past the end, flags on discard
        long ranges = drv.alloc(17 * 16, 16);
        MemorySegment r = drv.at(ranges, 17 * 16);
        for (int i = 0; i < 17; i++) {
            r.set(JAVA_LONG_UNALIGNED, 16L * i, 8L * i);
            r.set(JAVA_INT_UNALIGNED, 16L * i + 8, 8);
            r.set(JAVA_INT_UNALIGNED, 16L * i + 12, 0);
        }
        header(hdr, T_DISCARD, 0);
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, ranges, status}, new int[] {16, 17 * 16, 1}, new boolean[] {false, false, true}));
        assertEquals(S_IOERR, st(), "17 discard ranges (16 allowed)");
        r.set(JAVA_INT_UNALIGNED, 8, 0);
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, ranges, status}, new int[] {16, 32, 1}, new boolean[] {false, false, true}));
        assertEquals(S_IOERR, st(), "a zero-sector range");
        r.set(JAVA_INT_UNALIGNED, 8, 8);
        r.set(JAVA_LONG_UNALIGNED, 16, (16L << 20) / 512);
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, ranges, status}, new int[] {16, 32, 1}, new boolean[] {false, false, true}));
        assertEquals(S_IOERR, st(), "the second range past the end: nothing of the first is done either");
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, ranges, status}, new int[] {16, 15, 1}, new boolean[] {false, false, true}));
        assertEquals(S_IOERR, st(), "ranges not a multiple of 16 bytes");
        // no writable byte at all: nothing can be reported, the chain comes back with length 0
        assertEquals(0, roundTrip(q, chain(new long[] {hdr}, new int[] {16}, new boolean[] {false})));
        assertEquals(0, roundTrip(q, chain(new long[] {hdr, status}, new int[] {16, 0}, new boolean[] {false, true})), "zero-length status");
        // unknown type with data
        header(hdr, 77, 0);
        resetStatus();
        roundTrip(q, chain(new long[] {hdr, data, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
        assertEquals(S_UNSUPP, st());
        assertEquals(reads, disk.reads.get(), "no bad request reached the vDisk");
        assertEquals(writes, disk.writes.get());
        assertEquals(0, disk.unmaps.get());
        // a header split over two descriptors is legal
        header(hdr, T_IN, 8);
        resetStatus();
        assertEquals(4097, roundTrip(q, chain(new long[] {hdr, hdr + 8, data, status}, new int[] {8, 8, 4096, 1},
                new boolean[] {false, false, true, true})));
        assertEquals(S_OK, st(), "split header");
        queueStillWorks();
        assertCanaryIntact();
    }

    @Test
    void descriptorsOutsideGuestMemoryAreReturnedUnused() {
        long end = VhostUserDriver.GPA_BASE + MEM;
        long[][] bad = {
            {VhostUserDriver.GPA_BASE - 4096, 4096},      // below guest memory
            {end, 4096},                                  // just past the end
            {end - 2048, 4096},                           // straddles the end
            {-4096L, 8192},                               // wraps around 2^64
            {0, 4096},                                    // guest-physical 0: not mapped here
            {data, 0xfffff000},                           // 4 GiB - 4 KiB long
        };
        header(hdr, T_IN, 0);
        long before = server.malformedChains();
        for (long[] b : bad) {
            resetStatus();
            int len = roundTrip(q, chain(new long[] {hdr, b[0], status}, new int[] {16, (int) b[1], 1}, new boolean[] {false, true, true}));
            assertEquals(0, len, "data at 0x" + Long.toHexString(b[0]) + " +" + Long.toUnsignedString(b[1], 16) + ": returned unused");
            assertEquals(0x7f, st(), "nothing written for a refused chain");
        }
        // the header itself outside
        assertEquals(0, roundTrip(q, chain(new long[] {end - 8, data, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true})));
        assertEquals(bad.length + 1, server.malformedChains() - before);
        assertEquals(0, disk.reads.get());
        queueStillWorks();
        assertCanaryIntact();
    }

    @Test
    void oversizeAndLoopingChainsDirectAndIndirect() {
        long before = server.malformedChains();
        header(hdr, T_IN, 0);
        // 1 + 200 + 1 descriptors: more than the 128 a request may have
        int n = 202;
        long[] a = new long[n];
        int[] l = new int[n];
        boolean[] w = new boolean[n];
        a[0] = hdr; l[0] = 16;
        for (int i = 1; i < n - 1; i++) { a[i] = data; l[i] = 4096; w[i] = true; }
        a[n - 1] = status; l[n - 1] = 1; w[n - 1] = true;
        assertEquals(0, roundTrip(q, chain(a, l, w)), "202 descriptors");
        // exactly the limit (1 + 126 + 1) is fine
        a = new long[128]; l = new int[128]; w = new boolean[128];
        a[0] = hdr; l[0] = 16;
        for (int i = 1; i < 127; i++) { a[i] = data; l[i] = 4096; w[i] = true; }
        a[127] = status; l[127] = 1; w[127] = true;
        resetStatus();
        assertEquals(126 * 4096 + 1, roundTrip(q, chain(a, l, w)), "128 descriptors: served");
        assertEquals(S_OK, st());
        // a direct loop over 3 descriptors
        q.desc(10, hdr, 16, 1, 11);
        q.desc(11, data, 4096, 3, 12);
        q.desc(12, data, 4096, 3, 10);
        assertEquals(0, roundTrip(q, 10), "direct loop");
        // next index beyond the ring
        q.desc(10, hdr, 16, 1, 300);
        assertEquals(0, roundTrip(q, 10), "next beyond the ring");
        // indirect: 200 entries, a loop, a length not a multiple of 16, nested, the table outside memory, with NEXT
        long table = drv.alloc(16 * 200, 16);
        MemorySegment t = drv.at(table, 16 * 200);
        for (int i = 0; i < 200; i++) {
            t.set(JAVA_LONG_UNALIGNED, 16L * i, i == 0 ? hdr : i == 199 ? status : data);
            t.set(JAVA_INT_UNALIGNED, 16L * i + 8, i == 0 ? 16 : i == 199 ? 1 : 4096);
            t.set(JAVA_SHORT_UNALIGNED, 16L * i + 12, (short) ((i == 0 ? 0 : 2) | (i < 199 ? 1 : 0)));
            t.set(JAVA_SHORT_UNALIGNED, 16L * i + 14, (short) (i + 1));
        }
        q.desc(20, table, 16 * 200, 4, 0);
        assertEquals(0, roundTrip(q, 20), "indirect table of 200");
        t.set(JAVA_SHORT_UNALIGNED, 16L * 2 + 14, (short) 1); // 0 -> 1 -> 2 -> 1
        q.desc(20, table, 16 * 8, 4, 0);
        assertEquals(0, roundTrip(q, 20), "indirect loop");
        q.desc(20, table, 40, 4, 0);
        assertEquals(0, roundTrip(q, 20), "indirect length 40");
        t.set(JAVA_SHORT_UNALIGNED, 16L * 1 + 12, (short) 4);
        q.desc(20, table, 16 * 8, 4, 0);
        assertEquals(0, roundTrip(q, 20), "nested indirect");
        q.desc(20, VhostUserDriver.GPA_BASE + MEM - 16, 64, 4, 0);
        assertEquals(0, roundTrip(q, 20), "indirect table past the end of guest memory");
        q.desc(20, table, 16 * 8, 4 | 1, 21);
        assertEquals(0, roundTrip(q, 20), "indirect with NEXT");
        q.desc(20, hdr, 16, 1 | 2, 21);
        q.desc(21, data, 4096, 0, 0);
        assertEquals(0, roundTrip(q, 20), "readable after writable");
        assertEquals(10, server.malformedChains() - before);
        assertEquals(126, disk.reads.get(), "only the request at the limit read (one vDisk read per descriptor)");
        queueStillWorks();
        assertCanaryIntact();
    }

    @Test
    void badAvailableRingEntriesStopOnlyThatQueue() throws Exception {
        // a head beyond the ring
        q.stage(999);
        q.publish();
        q.kick();
        assertEquals(0, q.awaitUsed(1, 300), "a broken queue answers nothing");
        header(hdr, T_FLUSH, 0);
        resetStatus();
        assertEquals(1, roundTrip(q1, q1.chain(new long[] {hdr, status}, new int[] {16, 1}, new boolean[] {false, true})));
        assertEquals(S_OK, st(), "the other queue goes on");
        assertEquals(1, drv.getVringBase(0), "the bad entry was consumed, nothing after it");
        // the queue works again once the driver resets it
        DriverQueue again = drv.startQueue(0, 16, true);
        header(hdr, T_IN, 8);
        resetStatus();
        again.offer(again.chain(new long[] {hdr, data, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
        again.kick();
        assertEquals(1, again.awaitUsed(1, 10_000));
        assertEquals(S_OK, st());
        assertCanaryIntact();
    }

    @Test
    void headOfferedTwiceWhileInFlightStopsTheQueue() throws Exception {
        try (MemoryVDisk slow = new MemoryVDisk("held", 16L << 20);
             VhostUserBlkServer s = VhostUserBlkServer.start(dir.resolve("held.sock"), new HoldingWrites(slow),
                     VhostOptions.defaults().withQueues(1).withStopTimeoutMillis(500));
             VhostUserDriver d = VhostUserDriver.connect(s.socket())) {
            d.negotiate(0);
            d.createGuestMemory(1 << 20);
            DriverQueue dq = d.startQueue(0, 16, true);
            long h = d.alloc(16, 16), st = d.alloc(1, 1), buf = d.alloc(4096, 4096);
            d.at(h, 16).set(JAVA_INT_UNALIGNED, 0, T_OUT);
            int head = dq.chain(new long[] {h, buf, st}, new int[] {16, 4096, 1}, new boolean[] {false, false, true});
            dq.offer(head);
            dq.kick();
            assertEquals(0, dq.awaitUsed(1, 200), "the write is held");
            dq.offer(head); // the same head again while the device owns it
            dq.kick();
            assertEquals(0, dq.awaitUsed(1, 300));
            assertEquals(1, s.queueRequests()[0], "the second offer was not taken");
        }
    }

    @Test
    void guestMemoryShrunkUnderARunningQueueStopsTheQueueNotTheServer() throws Exception {
        queueStillWorks();
        // the front-end cuts its memfd to 1 MiB: the data buffer at the far end is gone
        long far = VhostUserDriver.GPA_BASE + MEM - 8192;
        Errno.check(Libc.ftruncate(drv.memfd(), 1 << 20), "ftruncate");
        header(hdr, T_IN, 0);
        q.offer(chain(new long[] {hdr, far, status}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
        q.kick();
        assertEquals(0, q.awaitUsed(1, 500), "the queue stopped on the fault");
        drv.getVringBase(0); // the connection still answers
        drv.close();
        drv = null;
        try (VhostUserDriver next = VhostUserDriver.connect(server.socket())) {
            next.negotiate(0);
            next.createGuestMemory(1 << 20);
            DriverQueue nq = next.startQueue(0, 16, true);
            long h = next.alloc(16, 16), st = next.alloc(1, 1), buf = next.alloc(4096, 4096);
            next.at(h, 16).set(JAVA_INT_UNALIGNED, 0, T_IN);
            nq.offer(nq.chain(new long[] {h, buf, st}, new int[] {16, 4096, 1}, new boolean[] {false, true, true}));
            nq.kick();
            assertEquals(1, nq.awaitUsed(1, 10_000), "a new front-end is served");
            assertEquals(S_OK, next.at(st, 1).get(JAVA_BYTE, 0));
        }
    }

    /** Holds writes forever (completes them when closed is not needed: the test ends with the server). */
    static final class HoldingWrites implements io.dsf.stargate.api.VDisk {
        final io.dsf.stargate.api.VDisk d;
        final java.util.List<Runnable> held = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

        HoldingWrites(io.dsf.stargate.api.VDisk d) { this.d = d; }

        @Override public String name() { return d.name(); }
        @Override public long size() { return d.size(); }
        @Override public int blockSize() { return d.blockSize(); }
        @Override public int maxTransfer() { return d.maxTransfer(); }
        @Override public boolean readOnly() { return false; }
        @Override public int read(long o, MemorySegment b, int l, long t, io.dsf.stargate.api.IoCallback cb) { return d.read(o, b, l, t, cb); }
        @Override public int write(long o, MemorySegment b, int l, long t, io.dsf.stargate.api.IoCallback cb) {
            held.add(() -> cb.onComplete(t, 0));
            return 0;
        }
        @Override public int flush(long t, io.dsf.stargate.api.IoCallback cb) { return d.flush(t, cb); }
        @Override public int unmap(long o, long l, long t, io.dsf.stargate.api.IoCallback cb) { return d.unmap(o, l, t, cb); }
        @Override public int writeZeroes(long o, long l, long t, io.dsf.stargate.api.IoCallback cb) { return d.writeZeroes(o, l, t, cb); }
    }
}
