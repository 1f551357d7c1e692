package io.dsf.stargate.cache;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static io.dsf.stargate.cache.UnifiedCache.BLOCK_SIZE;
import static org.junit.jupiter.api.Assertions.*;

/** Behaviour of {@link UnifiedCache}: hits and misses, the two pools, writes, tickets, invalidation. */
class UnifiedCacheTest {
    private final List<UnifiedCache> caches = new ArrayList<>();
    private final MemorySegment buf = MemorySegment.ofArray(new byte[BLOCK_SIZE * 8]);
    private final MemorySegment out = MemorySegment.ofArray(new byte[BLOCK_SIZE * 8]);

    private UnifiedCache cache(int slots, double fraction, boolean insertOnWrite) {
        UnifiedCache c = UnifiedCache.allocate((long) slots * BLOCK_SIZE, fraction, insertOnWrite);
        caches.add(c);
        return c;
    }

    @AfterEach
    void close() {
        caches.forEach(UnifiedCache::close);
    }

    /** Fills block {@code i} of a buffer with content derived from (tag, i). */
    private static void pattern(MemorySegment seg, int blocks, long tag) {
        for (int b = 0; b < blocks; b++)
            for (int i = 0; i < BLOCK_SIZE / 8; i++)
                seg.set(ValueLayout.JAVA_LONG_UNALIGNED, (long) b * BLOCK_SIZE + i * 8L, tag * 1_000_003L + b * 7919L + i);
    }

    private static boolean samePattern(MemorySegment seg, long off, long tag, int b) {
        for (int i = 0; i < BLOCK_SIZE / 8; i++)
            if (seg.get(ValueLayout.JAVA_LONG_UNALIGNED, off + i * 8L) != tag * 1_000_003L + b * 7919L + i) return false;
        return true;
    }

    /** Reads and fills on a miss, as a shard would with synchronous storage. */
    private void readOrFill(UnifiedCache c, long vol, long block) {
        if (!c.read(vol, block, out, 0)) {
            long t = c.fillTicket();
            pattern(buf, 1, vol * 1_000_000 + block);
            assertTrue(c.fill(vol, block, buf, 0, t));
        }
    }

    @Test
    void missThenFillThenHitReturnsTheFilledBytes() {
        UnifiedCache c = cache(16, 0.25, false);
        out.fill((byte) 0x5A);
        assertFalse(c.read(1, 7, out, 0));
        assertEquals(0x5A, out.get(ValueLayout.JAVA_BYTE, 0), "a miss leaves the destination untouched");
        long t = c.fillTicket();
        pattern(buf, 1, 42);
        assertTrue(c.fill(1, 7, buf, 0, t));
        assertTrue(c.read(1, 7, out, BLOCK_SIZE));
        assertTrue(samePattern(out, BLOCK_SIZE, 42, 0));
        assertFalse(c.read(2, 7, out, 0), "another volume's block 7 is a different key");
        assertFalse(c.read(1, 8, out, 0));
        assertEquals(1, c.hits());
        assertEquals(3, c.misses());
        assertEquals(1, c.fills());
        assertEquals(1, c.promotions(), "the first hit promotes");
        assertEquals(BLOCK_SIZE, c.multiTouchBytes());
        assertEquals(0, c.singleTouchBytes());
        c.checkInvariants();
    }

    @Test
    void scanDoesNotEvictTheHotMultiTouchSet() {
        UnifiedCache c = cache(1024, 0.25, false);
        int hot = 600, scan = 20_000;
        for (int b = 0; b < hot; b++) { // each hot block is read twice while still single-touch
            readOrFill(c, 1, b);
            assertTrue(c.read(1, b, out, 0));
        }
        assertEquals(hot, c.promotions());
        assertEquals((long) hot * BLOCK_SIZE, c.multiTouchBytes());

        for (int b = 0; b < scan; b++) readOrFill(c, 2, b); // each block touched once
        c.checkInvariants();
        assertEquals(256, c.singleTouchLimit());
        assertEquals(256L * BLOCK_SIZE, c.singleTouchBytes(), "the scan is confined to the single-touch share");
        assertEquals(scan - 256, c.singleTouchEvictions());
        assertEquals(0, c.multiTouchEvictions());
        long hitsBefore = c.hits();
        for (int b = 0; b < hot; b++) {
            assertTrue(c.read(1, b, out, 0), "hot block " + b + " survived the scan");
            assertTrue(samePattern(out, 0, 1_000_000L + b, 0));
        }
        assertEquals(hitsBefore + hot, c.hits());
        assertEquals(hot, c.promotions(), "hits on multi-touch entries are not promotions");
    }

    @Test
    void withoutTheSingleTouchCapTheSameScanFlushesTheHotSet() {
        UnifiedCache c = cache(1024, 1.0, false); // single-touch may hold everything: plain LRU admission
        for (int b = 0; b < 600; b++) {
            readOrFill(c, 1, b);
            assertTrue(c.read(1, b, out, 0));
        }
        for (int b = 0; b < 20_000; b++) readOrFill(c, 2, b);
        int survivors = 0;
        for (int b = 0; b < 600; b++) if (c.contains(1, b)) survivors++;
        assertEquals(0, survivors);
        assertEquals(600, c.multiTouchEvictions());
        c.checkInvariants();
    }

    @Test
    void evictionOrderFollowsEachPoolsLru() {
        UnifiedCache c = cache(4, 0.25, false); // single-touch limit 1
        assertEquals(1, c.singleTouchLimit());
        long a = 1, b = 2, cc = 3, d = 4, e = 5, f = 6;
        for (long k : new long[] {a, b, cc}) {
            readOrFill(c, 9, k);
            assertTrue(c.read(9, k, out, 0)); // promoted
        }
        readOrFill(c, 9, d);                 // single: D
        assertTrue(c.read(9, a, out, 0));    // multi recency, oldest first: B C A
        readOrFill(c, 9, e);                 // single at its limit: D goes
        assertFalse(c.contains(9, d));
        assertEquals(1, c.singleTouchEvictions());
        assertTrue(c.read(9, e, out, 0));    // E promoted: multi B C A E, full
        readOrFill(c, 9, f);                 // full, single empty: multi's LRU (B) goes
        assertFalse(c.contains(9, b));
        assertEquals(1, c.multiTouchEvictions());
        for (long k : new long[] {a, cc, e, f}) assertTrue(c.contains(9, k), "block " + k);
        assertEquals(4L * BLOCK_SIZE, c.bytesUsed());
        assertEquals(4, c.promotions());
        c.checkInvariants();
    }

    @Test
    void writeUpdatesACachedCopyAndByDefaultDoesNotInsert() {
        UnifiedCache c = cache(8, 0.25, false);
        readOrFill(c, 1, 1);
        pattern(buf, 1, 77);
        c.write(1, 1, buf, 0);
        assertTrue(c.read(1, 1, out, 0));
        assertTrue(samePattern(out, 0, 77, 0), "the cached copy carries the write");
        c.write(1, 2, buf, 0);
        assertFalse(c.contains(1, 2));
        assertEquals(1, c.writeUpdates());
        assertEquals(0, c.writeInserts());
    }

    @Test
    void insertOnWritePutsWrittenBlocksInTheSingleTouchPool() {
        UnifiedCache c = cache(8, 0.25, true);
        pattern(buf, 3, 5);
        c.write(3, 10, 3, buf, 0);
        assertEquals(3, c.writeInserts());
        assertEquals(2L * BLOCK_SIZE, c.singleTouchBytes(), "capped at 2 of 8 slots");
        assertFalse(c.contains(3, 10));
        assertTrue(c.read(3, 12, out, 0));
        assertTrue(samePattern(out, 0, 5, 2));
        c.checkInvariants();
    }

    @Test
    void aFillWhoseTicketPredatesAWriteOrInvalidationIsDropped() {
        UnifiedCache c = cache(8, 0.5, false);
        pattern(buf, 1, 1); // "old" data read from storage
        long t = c.fillTicket();
        c.write(1, 5, buf, 0); // not cached, so not inserted, but stamped
        assertFalse(c.fill(1, 5, buf, 0, t));
        assertFalse(c.contains(1, 5));

        t = c.fillTicket();
        c.invalidate(1, 6);
        assertFalse(c.fill(1, 6, buf, 0, t));

        t = c.fillTicket();
        c.invalidateVolume(2);
        assertFalse(c.fill(1, 7, buf, 0, t), "a volume invalidation drops every fill in flight");

        t = c.fillTicket();
        c.invalidateRange(1, 100, 3);
        assertTrue(c.fill(1, 7, buf, 0, t), "a ticket taken after the invalidation, for another block, holds");
        assertFalse(c.fill(1, 101, buf, 0, t));
        assertEquals(4, c.fillsRejected());
        assertEquals(1, c.fills());
        assertTrue(c.fill(1, 101, buf, 0, c.fillTicket()));
    }

    @Test
    void invalidationDropsExactlyTheNamedBlocks() {
        UnifiedCache c = cache(64, 1.0, false);
        for (int b = 0; b < 20; b++) {
            readOrFill(c, 1, b);
            readOrFill(c, 2, b);
        }
        c.invalidate(1, 0);
        assertFalse(c.contains(1, 0));
        c.invalidateRange(1, 5, 3);          // probes each block
        c.invalidateRange(2, 10, 1_000_000); // larger than the cache: scans the slots
        for (int b = 0; b < 20; b++) {
            assertEquals(b != 0 && (b < 5 || b > 7), c.contains(1, b), "vol 1 block " + b);
            assertEquals(b < 10, c.contains(2, b), "vol 2 block " + b);
        }
        assertEquals(1 + 3 + 10, c.invalidations());
        c.invalidateVolume(1);
        for (int b = 0; b < 20; b++) assertFalse(c.contains(1, b));
        assertEquals(10L * BLOCK_SIZE, c.bytesUsed());
        c.invalidateAll();
        assertEquals(0, c.bytesUsed());
        assertEquals(40, c.invalidations());
        c.checkInvariants();
        c.invalidateRange(2, 0, 0); // empty range: nothing
        assertThrows(IllegalArgumentException.class, () -> c.invalidateRange(2, 0, -1));
    }

    @Test
    void multiBlockReadReportsHitsPerBlock() {
        UnifiedCache c = cache(64, 1.0, false);
        pattern(buf, 8, 9);
        long t = c.fillTicket();
        assertEquals(8, c.fill(4, 100, 8, buf, 0, t));
        c.invalidate(4, 102);
        c.invalidate(4, 107);
        long[] bits = {-1L};
        out.fill((byte) 0);
        assertEquals(6, c.read(4, 100, 8, out, 0, bits));
        assertEquals(0b0111_1011L, bits[0]);
        for (int i = 0; i < 8; i++) {
            if (i == 2 || i == 7) assertEquals(0L, out.get(ValueLayout.JAVA_LONG_UNALIGNED, (long) i * BLOCK_SIZE));
            else assertTrue(samePattern(out, (long) i * BLOCK_SIZE, 9, i), "block " + i);
        }
        assertEquals(6, c.hits());
        assertEquals(2, c.misses());
        assertThrows(IllegalArgumentException.class, () -> c.read(4, 0, 65, out, 0, new long[1]));
    }

    @Test
    void zeroCapacityCachesNothing() {
        UnifiedCache c = cache(0, 0.25, true);
        assertEquals(0, c.slots());
        pattern(buf, 1, 1);
        assertFalse(c.fill(1, 1, buf, 0, c.fillTicket()));
        c.write(1, 1, buf, 0);
        assertFalse(c.read(1, 1, out, 0));
        assertEquals(0, c.bytesUsed());
        c.invalidateVolume(1);
        c.checkInvariants();
    }

    @Test
    void capacityRoundsDownToWholeBlocks() {
        try (UnifiedCache c = UnifiedCache.allocate(10 * BLOCK_SIZE + 100)) {
            assertEquals(10, c.slots());
            assertEquals(10L * BLOCK_SIZE, c.capacityBytes());
            assertEquals(2, c.singleTouchLimit());
        }
    }

    @Test
    void aCallerOwnedSlabOutlivesTheCache() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment slab = arena.allocate(4L * BLOCK_SIZE, BLOCK_SIZE);
            UnifiedCache c = UnifiedCache.over(slab, 0.5, false);
            pattern(buf, 1, 3);
            assertTrue(c.fill(1, 1, buf, 0, c.fillTicket()));
            assertTrue(samePattern(slab, 0, 3, 0), "the first free slot is slot 0");
            c.close();
            assertTrue(slab.scope().isAlive());
        }
    }

    @Test
    void operationsAllocateNothing() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled(),
                "this JVM does not count per-thread allocation");
        UnifiedCache c = cache(256, 0.25, true);
        long[] bits = new long[1];
        for (int round = 0; round < 2; round++) { // the first round warms up
            long tid = Thread.currentThread().threadId();
            long before = mx.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 50_000; i++) {
                long b = i % 700;
                if (!c.read(1, b, out, 0)) c.fill(1, b, buf, 0, c.fillTicket());
                c.read(1, b, 4, out, 0, bits);
                c.fill(1, b, 4, buf, 0, c.fillTicket());
                if ((i & 7) == 0) c.write(1, b + 3, 2, buf, 0);
                if ((i & 15) == 0) c.invalidateRange(1, b, 3);
            }
            long allocated = mx.getThreadAllocatedBytes(tid) - before;
            if (round == 1) assertTrue(allocated < 4096, "50k rounds of operations allocated " + allocated + " bytes");
        }
        assertTrue(c.hits() > 0 && c.multiTouchEvictions() + c.singleTouchEvictions() > 0 && c.promotions() > 0);
        c.checkInvariants();
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> UnifiedCache.allocate(-1));
        assertThrows(IllegalArgumentException.class, () -> UnifiedCache.allocate(BLOCK_SIZE, 0.0, false));
        assertThrows(IllegalArgumentException.class, () -> UnifiedCache.allocate(BLOCK_SIZE, 1.5, false));
        assertThrows(IllegalArgumentException.class, () -> UnifiedCache.allocate(BLOCK_SIZE, Double.NaN, false));
        assertThrows(IllegalArgumentException.class, () -> UnifiedCache.allocate(((long) UnifiedCache.MAX_SLOTS + 1) * BLOCK_SIZE));
        UnifiedCache c = cache(4, 0.25, false);
        assertThrows(IllegalArgumentException.class, () -> c.fill(1, 1, 0, buf, 0, c.fillTicket()));
        assertThrows(IllegalArgumentException.class, () -> c.write(1, 1, -1, buf, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.fill(1, 1, buf, buf.byteSize() - 1, c.fillTicket()));
        c.checkInvariants();
    }

    // ------------------------------------------------------------------ second-miss admission

    @Test
    void secondMissAdmissionFillsOnlyABlockThatMissedBefore() {
        UnifiedCache c = UnifiedCache.allocate(64L * BLOCK_SIZE, 0.25, false, true);
        caches.add(c);
        assertTrue(c.admitOnSecondMiss());
        assertFalse(c.admit(1, 10), "a first miss is only remembered");
        assertEquals(1, c.admissionsDeferred());
        assertEquals(0, c.admittedOnSecondMiss());
        assertTrue(c.admit(1, 10), "the second miss is admitted");
        assertEquals(1, c.admittedOnSecondMiss());
        assertFalse(c.admit(2, 10), "another volume's block is another key");
        assertFalse(c.admit(1, 11), "another block is another key");
        assertFalse(c.admit(1, 10), "an admission uses the memory up: the next miss is a first one again");
        assertEquals(4, c.admissionsDeferred());
        assertEquals(0, c.bytesUsed(), "admit itself caches nothing");
    }

    @Test
    void withoutTheRuleEveryMissIsAdmittedAndAnEmptyCacheAdmitsNothing() {
        UnifiedCache c = cache(8, 0.25, false);
        assertFalse(c.admitOnSecondMiss());
        assertTrue(c.admit(1, 1));
        assertTrue(c.admit(1, 1));
        assertEquals(0, c.admissionsDeferred());
        UnifiedCache empty = UnifiedCache.allocate(0, 0.25, false, true);
        caches.add(empty);
        assertFalse(empty.admit(1, 1));
        assertFalse(empty.admit(1, 1));
    }

    @Test
    void aScanOfBlocksReadOnceLeavesTheCachedEntriesInPlace() {
        UnifiedCache c = UnifiedCache.allocate(16L * BLOCK_SIZE, 0.25, false, true);
        caches.add(c);
        for (int round = 0; round < 2; round++) // two misses each: admitted and cached
            for (long b = 0; b < 4; b++) {
                assertFalse(c.read(1, b, out, 0));
                if (c.admit(1, b)) {
                    pattern(buf, 1, 100 + b);
                    assertTrue(c.fill(1, b, buf, 0, c.fillTicket()));
                }
            }
        assertEquals(4L * BLOCK_SIZE, c.bytesUsed());
        for (long b = 1000; b < 1000 + 10_000; b++) { // a long scan: every block missed once
            assertFalse(c.read(1, b, out, 0));
            assertFalse(c.admit(1, b));
        }
        assertEquals(0, c.singleTouchEvictions() + c.multiTouchEvictions(), "the scan evicted nothing");
        for (long b = 0; b < 4; b++) {
            assertTrue(c.read(1, b, out, 0));
            assertTrue(samePattern(out, 0, 100 + b, 0));
        }
        c.checkInvariants();
    }
}
