package io.dsf.stargate.cache;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static io.dsf.stargate.cache.UnifiedCache.BLOCK_SIZE;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Drives a {@link UnifiedCache} with random reads, asynchronous fills (completed out of order,
 * after later writes), writes, external changes with invalidations, single and multi-block,
 * and compares every hit with a reference model of the storage (a HashMap of block versions):
 * a hit must return exactly the latest data. Checks the memory bound and every internal
 * invariant after each step, and that eviction, promotion and stale-fill rejection happened.
 */
class UnifiedCacheModelTest {
    private static final int VOLUMES = 3, BLOCKS = 400, HOT = 48, MAX_RUN = 8;

    private record Key(long volume, long block) {}

    /** A storage read in flight: the versions it saw when it started, and the ticket taken at the miss. */
    private record PendingFill(long volume, long firstBlock, long[] versions, long ticket) {}

    private final Map<Key, Long> storage = new HashMap<>(); // absent = version 0
    private final List<PendingFill> pending = new ArrayList<>();
    private final MemorySegment buf = MemorySegment.ofArray(new long[BLOCK_SIZE / 8 * MAX_RUN]);
    private final MemorySegment out = MemorySegment.ofArray(new long[BLOCK_SIZE / 8 * MAX_RUN]);
    private final long[] hitBits = new long[1];
    private long lookups;

    private long version(long v, long b) {
        return storage.getOrDefault(new Key(v, b), 0L);
    }

    private static long word(long v, long b, long version, int i) {
        long h = (v * 31 + b) * 0x9E3779B97F4A7C15L ^ version * 0xC2B2AE3D27D4EB4FL ^ i;
        return h ^ (h >>> 29);
    }

    private static void content(MemorySegment seg, long off, long v, long b, long version) {
        for (int i = 0; i < BLOCK_SIZE / 8; i++) seg.set(ValueLayout.JAVA_LONG_UNALIGNED, off + i * 8L, word(v, b, version, i));
    }

    private void assertLatest(long v, long b, long off) {
        long ver = version(v, b);
        for (int i = 0; i < BLOCK_SIZE / 8; i++) {
            long w = out.get(ValueLayout.JAVA_LONG_UNALIGNED, off + i * 8L);
            if (w != word(v, b, ver, i))
                fail("hit on volume " + v + " block " + b + " returned stale or wrong data (latest version " + ver + ", word " + i + ")");
        }
    }

    private long pickBlock(SplittableRandom rnd) {
        return rnd.nextInt(10) < 7 ? rnd.nextInt(HOT) : rnd.nextInt(BLOCKS);
    }

    @ParameterizedTest(name = "seed {0}, {1} slots, single-touch {2}, insertOnWrite {3}")
    @CsvSource({
        "1, 64, 0.25, false",
        "2, 64, 0.25, true",
        "3, 32, 1.0, false",
        "4, 100, 0.01, true",
        "5, 300, 0.5, false",
        "6, 7, 0.25, true",
    })
    void everyHitReturnsTheLatestData(long seed, int slots, double fraction, boolean insertOnWrite) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int steps = 40_000;
        try (UnifiedCache c = UnifiedCache.allocate((long) slots * BLOCK_SIZE, fraction, insertOnWrite)) {
            for (int step = 0; step < steps; step++) {
                long v = rnd.nextInt(VOLUMES);
                long b = pickBlock(rnd);
                int op = rnd.nextInt(1000);
                if (pending.size() > 16) complete(c, pending.remove(rnd.nextInt(pending.size())));
                if (op < 350) {                      // single-block read; a miss starts a storage read
                    lookups++;
                    if (c.read(v, b, out, 0)) assertLatest(v, b, 0);
                    else pending.add(new PendingFill(v, b, new long[] {version(v, b)}, c.fillTicket()));
                } else if (op < 450) {               // multi-block read
                    int n = 1 + rnd.nextInt(MAX_RUN);
                    lookups += n;
                    int hits = c.read(v, b, n, out, 0, hitBits);
                    assertEquals(hits, Long.bitCount(hitBits[0]));
                    long[] versions = new long[n];
                    for (int i = 0; i < n; i++) {
                        if ((hitBits[0] & (1L << i)) != 0) assertLatest(v, b + i, (long) i * BLOCK_SIZE);
                        versions[i] = version(v, b + i);
                    }
                    if (hits < n) pending.add(new PendingFill(v, b, versions, c.fillTicket()));
                } else if (op < 750) {               // a storage read completes, in any order
                    if (!pending.isEmpty()) complete(c, pending.remove(rnd.nextInt(pending.size())));
                } else if (op < 900) {               // a write, single or multi-block
                    int n = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(MAX_RUN) : 1;
                    for (int i = 0; i < n; i++) {
                        long ver = version(v, b + i) + 1;
                        storage.put(new Key(v, b + i), ver);
                        content(buf, (long) i * BLOCK_SIZE, v, b + i, ver);
                    }
                    if (n == 1) c.write(v, b, buf, 0);
                    else c.write(v, b, n, buf, 0);
                } else if (op < 960) {               // storage changed behind the cache's back, then invalidated
                    bump(v, b, 1);
                    c.invalidate(v, b);
                } else if (op < 995) {               // a range: mostly short, sometimes larger than the cache
                    long n = rnd.nextInt(8) == 0 ? 1 + rnd.nextInt(BLOCKS) : 1 + rnd.nextInt(MAX_RUN * 2);
                    bump(v, b, n);
                    c.invalidateRange(v, b, n);
                } else {
                    bump(v, 0, BLOCKS + MAX_RUN);
                    c.invalidateVolume(v);
                }
                assertTrue(c.bytesUsed() <= c.capacityBytes(), "memory bound");
                assertTrue(c.singleTouchBytes() <= (long) c.singleTouchLimit() * BLOCK_SIZE, "single-touch bound");
                c.checkInvariants();
            }
            assertEquals(lookups, c.hits() + c.misses(), "every block lookup counted once");
            assertTrue(c.hits() > 100, "enough hits to check: " + c.hits());
            assertTrue(c.fills() > 0 && c.fillsRejected() > 0, "fills " + c.fills() + ", rejected " + c.fillsRejected());
            assertTrue(c.singleTouchEvictions() + c.multiTouchEvictions() > 0, "evictions happened");
            assertTrue(c.promotions() > 0, "promotions happened");
            assertTrue(c.invalidations() > 0 && c.writeUpdates() > 0);
            assertEquals(insertOnWrite, c.writeInserts() > 0);
        }
    }

    private void bump(long v, long first, long n) {
        for (long i = 0; i < n; i++) {
            Key k = new Key(v, first + i);
            storage.put(k, storage.getOrDefault(k, 0L) + 1);
        }
    }

    private void complete(UnifiedCache c, PendingFill f) {
        int n = f.versions().length;
        for (int i = 0; i < n; i++) content(buf, (long) i * BLOCK_SIZE, f.volume(), f.firstBlock() + i, f.versions()[i]);
        if (n == 1) c.fill(f.volume(), f.firstBlock(), buf, 0, f.ticket());
        else c.fill(f.volume(), f.firstBlock(), n, buf, 0, f.ticket());
    }
}
