package io.dsf.frodo.virtq;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static io.dsf.frodo.virtq.SplitVirtqueue.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The ring logic against a ring built by hand in a memfd mapped twice (as the driver sees it and as
 * the device maps it): chain walking with every class of malformed descriptor, indirect tables,
 * available-index checks, used ring publication, event-index interrupt suppression, the in-flight
 * area, and a seeded fuzz of random descriptor tables.
 */
class SplitVirtqueueTest {
    static final long GPA = 0x100000;
    static final long UVA = 0x7000_0000_0000L;
    static final long HALF = 512 << 10;
    static final int SIZE = 8;
    static final long DESC = 0, AVAIL = 0x1000, USED = 0x2000, DATA = 0x10000;

    Arena arena;
    int fd;
    MemorySegment drv;      // the driver's view
    GuestMemory mem;        // the device's view: two regions, contiguous in guest-physical space

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        fd = Errno.check(Libc.memfd_create(arena.allocateFrom("ring-test"), Libc.MFD_CLOEXEC), "memfd");
        Errno.check(Libc.ftruncate(fd, 2 * HALF), "ftruncate");
        MemorySegment m = Libc.mmap(MemorySegment.NULL, 2 * HALF, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        long a = m.address();
        drv = m.reinterpret(2 * HALF, arena, s -> Libc.munmap(MemorySegment.ofAddress(a), 2 * HALF));
        mem = GuestMemory.map(new long[] {GPA, GPA + HALF}, new long[] {HALF, HALF}, new long[] {UVA, UVA + HALF},
                new long[] {0, HALF}, new int[] {fd, fd});
    }

    @AfterEach
    void tearDown() {
        mem.close();
        Libc.close(fd);
        arena.close();
    }

    SplitVirtqueue ring(boolean eventIdx, boolean indirect) {
        return SplitVirtqueue.attach(mem, SIZE, UVA + DESC, UVA + AVAIL, UVA + USED, eventIdx, indirect);
    }

    void desc(long table, int i, long addr, int len, int flags, int next) {
        long at = table + 16L * i;
        drv.set(JAVA_LONG_UNALIGNED, at, addr);
        drv.set(JAVA_INT_UNALIGNED, at + 8, len);
        drv.set(JAVA_SHORT_UNALIGNED, at + 12, (short) flags);
        drv.set(JAVA_SHORT_UNALIGNED, at + 14, (short) next);
    }

    void availIdx(int idx) { drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 2, (short) idx); }

    @Test
    void goodChainIsWalkedWithDirections() {
        desc(DESC, 0, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 3);
        desc(DESC, 3, GPA + DATA + 4096, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
        desc(DESC, 5, GPA + HALF + 100, 1, VIRTQ_DESC_F_WRITE, 0); // in the second region
        DescriptorChain c = new DescriptorChain(8);
        assertEquals(OK, ring(false, false).walk(0, c));
        assertEquals(3, c.count());
        assertEquals(1, c.readableCount());
        assertEquals(16, c.readableBytes());
        assertEquals(4097, c.writableBytes());
        assertEquals(1, c.region(2));
        assertEquals(100, c.offset(2));
        assertEquals(DATA + 4096, c.offset(1));
    }

    @Test
    void malformedDirectChains() {
        SplitVirtqueue q = ring(false, false);
        DescriptorChain c = new DescriptorChain(8);
        assertEquals(ERR_HEAD, q.walk(SIZE, c));
        desc(DESC, 0, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, SIZE);
        assertEquals(ERR_NEXT, q.walk(0, c));
        desc(DESC, 0, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 1);
        desc(DESC, 1, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 0);
        assertEquals(ERR_LOOP, q.walk(0, c));
        desc(DESC, 0, 0x1000, 16, 0, 0);
        assertEquals(ERR_ADDRESS, q.walk(0, c), "below guest memory");
        desc(DESC, 0, GPA + 2 * HALF - 8, 16, 0, 0);
        assertEquals(ERR_ADDRESS, q.walk(0, c), "past the end");
        desc(DESC, 0, -4096L, 8192, 0, 0);
        assertEquals(ERR_ADDRESS, q.walk(0, c), "wraps around");
        desc(DESC, 0, GPA + HALF - 4096, 8192, 0, 0);
        assertEquals(ERR_ADDRESS, q.walk(0, c), "spans two regions");
        desc(DESC, 0, GPA + DATA, 0x8000_0000, 0, 0);
        assertEquals(ERR_LENGTH, q.walk(0, c), "2 GiB descriptor");
        desc(DESC, 0, GPA + DATA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
        desc(DESC, 1, GPA + DATA, 16, 0, 0);
        assertEquals(ERR_ORDER, q.walk(0, c), "readable after writable");
        DescriptorChain small = new DescriptorChain(2);
        for (int i = 0; i < 4; i++) desc(DESC, i, GPA + DATA, 16, i < 3 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
        assertEquals(ERR_TOO_MANY_SEGMENTS, q.walk(0, small));
    }

    @Test
    void indirectTables() {
        long table = DATA + 0x8000;
        desc(table, 0, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 1);
        desc(table, 1, GPA + DATA + 4096, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
        desc(table, 2, GPA + DATA + 8192, 1, VIRTQ_DESC_F_WRITE, 0);
        desc(DESC, 0, GPA + table, 48, VIRTQ_DESC_F_INDIRECT, 0);
        DescriptorChain c = new DescriptorChain(8);
        assertEquals(OK, ring(false, true).walk(0, c));
        assertEquals(3, c.count());
        assertEquals(4097, c.writableBytes());
        assertEquals(ERR_INDIRECT_NOT_NEGOTIATED, ring(false, false).walk(0, c));
        SplitVirtqueue q = ring(false, true);
        desc(DESC, 0, GPA + table, 40, VIRTQ_DESC_F_INDIRECT, 0);
        assertEquals(ERR_INDIRECT_SIZE, q.walk(0, c));
        desc(DESC, 0, GPA + table, 0, VIRTQ_DESC_F_INDIRECT, 0);
        assertEquals(ERR_INDIRECT_SIZE, q.walk(0, c));
        desc(DESC, 0, GPA + table, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
        assertEquals(ERR_INDIRECT_WITH_NEXT, q.walk(0, c));
        desc(DESC, 0, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 1);
        desc(DESC, 1, GPA + table, 48, VIRTQ_DESC_F_INDIRECT, 0);
        assertEquals(ERR_INDIRECT_NOT_HEAD, q.walk(0, c));
        desc(DESC, 0, 0x10, 48, VIRTQ_DESC_F_INDIRECT, 0);
        assertEquals(ERR_ADDRESS, q.walk(0, c), "table outside memory");
        desc(DESC, 0, GPA + table, 48, VIRTQ_DESC_F_INDIRECT, 0);
        desc(table, 1, GPA + table, 48, VIRTQ_DESC_F_INDIRECT, 0);
        assertEquals(ERR_INDIRECT_NESTED, q.walk(0, c));
        desc(table, 1, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 0); // 0 -> 1 -> 0
        assertEquals(ERR_LOOP, q.walk(0, c));
        desc(table, 1, GPA + DATA, 16, VIRTQ_DESC_F_NEXT, 3);
        assertEquals(ERR_NEXT, q.walk(0, c), "next outside the table");
        desc(DESC, 0, GPA + table, 16 * 9, VIRTQ_DESC_F_INDIRECT, 0);
        assertEquals(ERR_TOO_MANY_SEGMENTS, q.walk(0, c), "table larger than the chain capacity");
    }

    @Test
    void availableIndexIsCheckedAndWraps() {
        SplitVirtqueue q = ring(false, false);
        availIdx(3);
        assertEquals(3, q.pending());
        availIdx(SIZE + 1);
        assertEquals(-1, q.pending(), "moved by more than the queue size");
        q.lastAvail(65534);
        availIdx(2);
        assertEquals(4, q.pending(), "wraps at 65536");
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2 * 6, (short) 5); // ring[65534 % 8]
        assertEquals(5, q.nextHead());
        assertEquals(65535, q.lastAvail());
    }

    @Test
    void usedRingAndEventIndexSuppression() {
        SplitVirtqueue q = ring(true, false);
        q.putUsed(3, 17);
        assertEquals(0, Short.toUnsignedInt(drv.get(JAVA_SHORT_UNALIGNED, USED + 2)), "not visible before publishing");
        assertTrue(q.publishUsed());
        assertEquals(1, Short.toUnsignedInt(drv.get(JAVA_SHORT_UNALIGNED, USED + 2)));
        assertEquals(3, drv.get(JAVA_INT_UNALIGNED, USED + 4));
        assertEquals(17, drv.get(JAVA_INT_UNALIGNED, USED + 8));
        assertTrue(q.needsInterrupt(), "the first completion always interrupts");
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2 * SIZE, (short) 4); // used_event: interrupt when used passes 4
        for (int i = 0; i < 3; i++) {
            q.putUsed(i, 0);
            q.publishUsed();
            assertFalse(q.needsInterrupt(), "used " + q.usedIdx() + " has not passed used_event 4");
        }
        q.putUsed(5, 0);
        q.publishUsed();
        assertTrue(q.needsInterrupt(), "used 5 passed used_event 4");
        assertFalse(q.needsInterrupt(), "nothing new since");
        q.requestKickAt(42);
        assertEquals(42, Short.toUnsignedInt(drv.get(JAVA_SHORT_UNALIGNED, USED + 4 + 8 * SIZE)));
    }

    @Test
    void noInterruptFlagWithoutEventIndex() {
        SplitVirtqueue q = ring(false, false);
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL, (short) VIRTQ_AVAIL_F_NO_INTERRUPT);
        q.putUsed(0, 0);
        q.publishUsed();
        assertFalse(q.needsInterrupt());
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL, (short) 0);
        q.putUsed(1, 0);
        q.publishUsed();
        assertTrue(q.needsInterrupt());
        assertFalse(q.publishUsed(), "nothing to publish");
    }

    @Test
    void ringPartsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> SplitVirtqueue.attach(mem, 6, UVA, UVA + AVAIL, UVA + USED, false, false));
        assertThrows(IllegalArgumentException.class, () -> SplitVirtqueue.attach(mem, SIZE, UVA + 8, UVA + AVAIL, UVA + USED, false, false));
        assertThrows(IllegalArgumentException.class, () -> SplitVirtqueue.attach(mem, SIZE, UVA, UVA + AVAIL, UVA + 2 * HALF - 16, false, false));
        assertThrows(IllegalArgumentException.class, () -> SplitVirtqueue.attach(mem, SIZE, 0x1000, UVA + AVAIL, UVA + USED, false, false));
    }

    @Test
    void inflightAreaRecoversInFetchOrderAndClearsAPublishedBatch() {
        MemorySegment area = arena.allocate(InflightQueue.queueRegionSize(SIZE), 64);
        InflightQueue iq = new InflightQueue(area);
        int[] heads = new int[SIZE];
        assertEquals(0, iq.recover(SIZE, 0, heads), "fresh area");
        iq.begin(5);
        iq.begin(2);
        iq.begin(7);
        // head 2 completes: linked into a batch, used ring published (used idx 1), then a crash
        iq.batchAdd(2, true);
        InflightQueue after = new InflightQueue(area);
        assertEquals(3, after.recover(SIZE, 0, heads), "used ring not updated: all three still in flight");
        assertArrayEquals(new int[] {5, 2, 7}, java.util.Arrays.copyOf(heads, 3), "fetch order");
        assertEquals(2, new InflightQueue(area).recover(SIZE, 1, heads), "used idx 1 landed: the batch head is cleared");
        assertArrayEquals(new int[] {5, 7}, java.util.Arrays.copyOf(heads, 2));
        assertFalse(iq.inFlight(2));
        // a committed batch clears its heads
        iq = new InflightQueue(area);
        iq.recover(SIZE, 1, heads);
        iq.batchAdd(5, true);
        iq.batchAdd(7, false);
        iq.batchCommit(3, new int[] {5, 7}, 2);
        assertEquals(0, new InflightQueue(area).recover(SIZE, 3, heads));
    }

    /**
     * Every crash point of publishing a batch leaves an area from which a restart resubmits exactly
     * the heads not in the used ring: after the used index was published (nothing recorded yet), after
     * the flags were cleared, after the used index was recorded. Recording the index before clearing
     * the flags (the order this code had) left completed heads looking in flight with a matching
     * index: they were run again and the restart fetched past available entries it never took.
     */
    @Test
    void everyCrashPointOfABatchCommitRecoversOnlyTheHeadsStillInFlight() {
        int[] heads = new int[SIZE];
        for (int crashAfter = 0; crashAfter <= 2; crashAfter++) {
            MemorySegment area = arena.allocate(InflightQueue.queueRegionSize(SIZE), 64);
            InflightQueue iq = new InflightQueue(area);
            assertEquals(0, iq.recover(SIZE, 0, heads));
            for (int h : new int[] {3, 4, 5, 6}) iq.begin(h); // fetched: avail entries 0..3
            iq.batchAdd(4, true);                             // 4 and 6 complete, 3 and 5 stay in flight
            iq.batchAdd(6, false);
            int[] batch = {4, 6};
            // the used ring's index goes to 2 in guest memory here
            if (crashAfter >= 1) iq.batchClear(batch, 2);
            if (crashAfter >= 2) iq.batchRecord(2);
            InflightQueue restarted = new InflightQueue(area);
            int n = restarted.recover(SIZE, 2, heads);
            assertArrayEquals(new int[] {3, 5}, java.util.Arrays.copyOf(heads, n), "crash after step " + crashAfter);
            assertFalse(restarted.inFlight(4) || restarted.inFlight(6));
            // the restarted back-end's next available index: used 2 + in flight 2 = the 4 entries fetched
            assertEquals(4, 2 + n);
        }
    }

    @Test
    void fuzzRandomDescriptorTablesNeverEscapeGuestMemory() {
        Random rnd = new Random(42);
        SplitVirtqueue q = ring(false, true);
        DescriptorChain c = new DescriptorChain(16);
        long[] interesting = {GPA, GPA + DATA, GPA + HALF - 8, GPA + 2 * HALF - 16, 0, -16, GPA + DATA + 0x8000, Long.MAX_VALUE};
        int ok = 0;
        for (int iter = 0; iter < 20_000; iter++) {
            for (int i = 0; i < SIZE; i++) {
                long addr = rnd.nextInt(4) == 0 ? rnd.nextLong() : interesting[rnd.nextInt(interesting.length)] + rnd.nextInt(64) * 16L;
                int len = rnd.nextInt(3) == 0 ? rnd.nextInt() : rnd.nextInt(256);
                desc(DESC, i, addr, len, rnd.nextInt(8), rnd.nextInt(SIZE + 2));
                desc(DATA + 0x8000, i, addr, len, rnd.nextInt(8), rnd.nextInt(SIZE + 2));
            }
            int rc = q.walk(rnd.nextInt(SIZE + 1), c);
            assertTrue(rc <= 0);
            if (rc == OK) {
                ok++;
                for (int i = 0; i < c.count(); i++) {
                    long end = c.offset(i) + Integer.toUnsignedLong(c.length(i));
                    assertTrue(c.offset(i) >= 0 && end <= mem.regionSize(c.region(i)), "element inside its region");
                    if (c.length(i) > 0) c.slice(i, 0).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0);
                }
            }
        }
        assertTrue(ok > 0, "some random chains are valid");
    }
}
