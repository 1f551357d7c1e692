package io.dsf.stargate.cache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * A bounded cache of 4 KiB blocks keyed by (volume, block number), with separate single-touch and
 * multi-touch LRU pools. Owned by one shard thread, which alone calls every operation; not thread
 * safe. The counter getters ({@link #hits()} ...) may be called from any thread: they return
 * recent, individually atomic values that are not mutually consistent.
 *
 * <h2>Layout</h2>
 * The data lives in one off-heap slab of {@code capacity / 4096} slots. The index is an
 * open-addressing hash table (linear probing, load at most 1/2, deletion by backward shift, no
 * tombstones) of slot numbers; per-slot keys, pool and LRU links live in primitive arrays, each
 * pool a doubly linked list closed by a sentinel. Nothing is allocated after construction.
 *
 * <h2>Pools</h2>
 * A block enters the single-touch pool when it is {@linkplain #fill filled} after a miss; a hit on
 * it promotes it to the multi-touch pool, where hits move it to the front. The single-touch pool
 * holds at most {@code singleTouchFraction} of the slots: an insert when it is at its limit
 * recycles its least recently used entry, even if slots are free, so a scan of any length evicts
 * only single-touch entries. Otherwise an insert takes a free slot, or, when the cache is full,
 * evicts the least recently used multi-touch entry.
 *
 * <h2>Admission</h2>
 * Built with {@code admitOnSecondMiss}, the cache fills a block only on its second miss within a
 * window of recent misses: the reader asks {@link #admit} before it reads storage; the first miss
 * of a block only records the block's key in a ghost table (64-bit key hashes in buckets of four,
 * the oldest of a full bucket forgotten; as many entries as slots rounded up to a power of two: at
 * most 16 bytes per 4 KiB slot, no data) and answers false; a second miss finding its key there answers true (and clears it). A
 * block read
 * once, as in a scan or random reads over data far larger than the cache, then costs no copy into
 * the slab and evicts nothing; a block read again soon after enters the single-touch pool as a fill
 * and is promoted on its next hit, as without the rule. A key pushed out of its bucket by four newer
 * misses is forgotten (its next miss counts as a first one again). Without the option every
 * miss is admitted.
 *
 * <h2>Coherence</h2>
 * Every {@link #write} and {@code invalidate*} stamps the blocks it touches with a new sequence
 * number (in a small hashed stamp table; a collision only drops a fill). A reader that missed takes
 * a {@link #fillTicket()} before it asks storage, and passes it to {@link #fill}; the fill is
 * dropped (and counted in {@link #fillsRejected()}) if any write or invalidation touched the block
 * since the ticket was taken. Hence: once {@code write} or {@code invalidate*} has returned,
 * {@link #read} never returns data older than that write for those blocks, even if a storage read
 * started earlier completes later. The caller's part: a storage read that follows a ticket must see
 * every write the cache was told of before the ticket (the shard tells the cache when it applies a
 * write to its own index, and reads through that index).
 *
 * <h2>Writes</h2>
 * A write always updates a cached copy in place (its pool and LRU position stay: a write is not a
 * read touch). Whether a write of an uncached block inserts it is a construction option,
 * {@code insertOnWrite}, off by default: recent writes are served by the OpLog, and inserting them
 * would let a sequential writer churn the single-touch pool; with it on, written blocks enter the
 * single-touch pool like fills.
 */
public final class UnifiedCache implements AutoCloseable {
    /** Bytes per cached block: the cache's granularity. */
    public static final int BLOCK_SIZE = 4096;
    /** log2 of {@link #BLOCK_SIZE}. */
    public static final int BLOCK_SHIFT = 12;
    /** Default share of the slots the single-touch pool may hold. */
    public static final double DEFAULT_SINGLE_TOUCH_FRACTION = 0.25;
    /** Largest number of slots (2 TiB of cache per instance) so that the index stays int-addressed. */
    public static final int MAX_SLOTS = 1 << 29;

    private static final byte FREE = 0, SINGLE = 1, MULTI = 2;
    private static final int EMPTY = -1;
    /** Entries per ghost table bucket (32 bytes: one cache line holds a bucket). */
    private static final int GHOST_WAYS = 4;

    // counters[] indexes; written by the owner thread with plain stores, read with getOpaque
    private static final int HITS = 0, MISSES = 1, FILLS = 2, FILLS_REJECTED = 3, WRITE_UPDATES = 4,
            WRITE_INSERTS = 5, EVICTIONS_SINGLE = 6, EVICTIONS_MULTI = 7, PROMOTIONS = 8,
            INVALIDATIONS = 9, SINGLE_COUNT = 10, MULTI_COUNT = 11, ADMITTED = 12, DEFERRED = 13, N_COUNTERS = 14;
    private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(long[].class);

    private final Arena arena;          // null when the slab belongs to the caller
    private final MemorySegment slab;
    private final int slots;
    private final int singleTouchLimit;
    private final boolean insertOnWrite;
    /** Ghost table of {@link #admit}: hashes of keys that missed once (0: empty); null when every miss is admitted. */
    private final long[] ghost;
    private final int ghostMask;

    private final long[] keyVolume;
    private final long[] keyBlock;
    private final byte[] pool;
    private final int[] prev;           // slots + 2 entries: the two list sentinels sit at the end
    private final int[] next;           // also links the free list
    private final int singleHead;       // sentinel: next = most recent, prev = least recent
    private final int multiHead;
    private int freeHead;

    private final int[] table;          // slot numbers, EMPTY where free
    private final int tableMask;

    private final long[] stamps;        // sequence of the last write/invalidation hashed here
    private final int stampMask;
    private long sequence;              // last sequence handed out
    private long floor;                 // fills with a ticket below this are dropped

    private final long[] counters = new long[N_COUNTERS];

    private UnifiedCache(Arena arena, MemorySegment slab, double singleTouchFraction, boolean insertOnWrite, boolean admitOnSecondMiss) {
        if (!(singleTouchFraction > 0.0 && singleTouchFraction <= 1.0))
            throw new IllegalArgumentException("single-touch fraction must be in (0, 1]: " + singleTouchFraction);
        long n = slab.byteSize() >>> BLOCK_SHIFT;
        if (n > MAX_SLOTS)
            throw new IllegalArgumentException("cache of " + slab.byteSize() + " bytes exceeds " + ((long) MAX_SLOTS << BLOCK_SHIFT));
        this.arena = arena;
        this.slab = slab;
        this.slots = (int) n;
        this.singleTouchLimit = slots == 0 ? 0 : (int) Math.max(1, Math.min(slots, (long) Math.floor(slots * singleTouchFraction)));
        this.insertOnWrite = insertOnWrite;
        keyVolume = new long[slots];
        keyBlock = new long[slots];
        pool = new byte[slots];
        prev = new int[slots + 2];
        next = new int[slots + 2];
        singleHead = slots;
        multiHead = slots + 1;
        prev[singleHead] = next[singleHead] = singleHead;
        prev[multiHead] = next[multiHead] = multiHead;
        for (int i = 0; i < slots; i++) next[i] = i + 1 < slots ? i + 1 : EMPTY;
        freeHead = slots > 0 ? 0 : EMPTY;
        int tableSize = Integer.highestOneBit(Math.max(2, slots) * 2 - 1) << 1; // >= 2 * slots, power of two
        table = new int[tableSize];
        Arrays.fill(table, EMPTY);
        tableMask = tableSize - 1;
        int stampSize = Integer.highestOneBit(Math.max(256, slots) * 2 - 1); // >= slots, power of two
        stamps = new long[stampSize];
        stampMask = stampSize - 1;
        if (admitOnSecondMiss) {
            int ghostSize = Integer.highestOneBit(Math.max(256, slots) * 2 - 1); // >= slots, power of two, >= GHOST_WAYS
            ghost = new long[ghostSize];
            ghostMask = ghostSize - 1;
        } else {
            ghost = null;
            ghostMask = 0;
        }
    }

    /**
     * A cache owning a new slab of {@code capacityBytes} rounded down to whole blocks (0 makes a
     * cache that holds nothing: every read misses), freed by {@link #close()}. The slab comes from a
     * shared arena, so the cache may be built on one thread and used on the shard's.
     */
    public static UnifiedCache allocate(long capacityBytes, double singleTouchFraction, boolean insertOnWrite) {
        return allocate(capacityBytes, singleTouchFraction, insertOnWrite, false);
    }

    /**
     * {@link #allocate(long, double, boolean)}, and with {@code admitOnSecondMiss} a block is filled
     * only on its second recent miss (see Admission above).
     */
    public static UnifiedCache allocate(long capacityBytes, double singleTouchFraction, boolean insertOnWrite, boolean admitOnSecondMiss) {
        if (capacityBytes < 0) throw new IllegalArgumentException("negative cache capacity: " + capacityBytes);
        long bytes = capacityBytes & -BLOCK_SIZE;
        if ((bytes >>> BLOCK_SHIFT) > MAX_SLOTS)
            throw new IllegalArgumentException("cache of " + capacityBytes + " bytes exceeds " + ((long) MAX_SLOTS << BLOCK_SHIFT));
        Arena arena = Arena.ofShared();
        try {
            MemorySegment slab = bytes == 0 ? MemorySegment.ofArray(new byte[0]) : arena.allocate(bytes, BLOCK_SIZE);
            return new UnifiedCache(arena, slab, singleTouchFraction, insertOnWrite, admitOnSecondMiss);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** {@link #allocate(long, double, boolean)} with the default fraction, no insert on write. */
    public static UnifiedCache allocate(long capacityBytes) {
        return allocate(capacityBytes, DEFAULT_SINGLE_TOUCH_FRACTION, false);
    }

    /**
     * A cache over a slab the caller owns (e.g. its share of a node-wide region); whole blocks of it
     * are used, and {@link #close()} leaves it alone. The slab must stay alive while the cache is used.
     */
    public static UnifiedCache over(MemorySegment slab, double singleTouchFraction, boolean insertOnWrite) {
        return new UnifiedCache(null, slab, singleTouchFraction, insertOnWrite, false);
    }

    /** {@link #over(MemorySegment, double, boolean)} with the second-miss admission rule on or off. */
    public static UnifiedCache over(MemorySegment slab, double singleTouchFraction, boolean insertOnWrite, boolean admitOnSecondMiss) {
        return new UnifiedCache(null, slab, singleTouchFraction, insertOnWrite, admitOnSecondMiss);
    }

    // ---------------------------------------------------------------------------------- reads

    /**
     * On a hit, copies the block into {@code dst} at {@code dstOff}, counts a hit, promotes a
     * single-touch entry (or refreshes a multi-touch one) and returns true; on a miss counts it and
     * returns false, leaving {@code dst} untouched. Take a {@link #fillTicket()} before reading storage.
     */
    public boolean read(long volume, long block, MemorySegment dst, long dstOff) {
        int s = find(volume, block);
        if (s < 0) {
            counters[MISSES]++;
            return false;
        }
        counters[HITS]++;
        touch(s);
        MemorySegment.copy(slab, (long) s << BLOCK_SHIFT, dst, dstOff, BLOCK_SIZE);
        return true;
    }

    /**
     * Reads {@code count} consecutive blocks into {@code dst} (block {@code i} at
     * {@code dstOff + i * 4096}); each hit is copied and its bit {@code i} set in {@code hitBits}
     * (which must have at least {@code ceil(count / 64)} words; they are overwritten), each miss
     * leaves its part of {@code dst} untouched. Returns the number of hits; hits and misses are
     * counted per block.
     */
    public int read(long volume, long firstBlock, int count, MemorySegment dst, long dstOff, long[] hitBits) {
        checkCount(count);
        int words = (count + 63) >>> 6;
        if (hitBits.length < words) throw new IllegalArgumentException("hitBits needs " + words + " words for " + count + " blocks");
        Arrays.fill(hitBits, 0, words, 0L);
        int hits = 0;
        for (int i = 0; i < count; i++) {
            if (read(volume, firstBlock + i, dst, dstOff + ((long) i << BLOCK_SHIFT))) {
                hitBits[i >>> 6] |= 1L << i;
                hits++;
            }
        }
        return hits;
    }

    /** True if the block is cached; no side effect (not counted, no LRU change). */
    public boolean contains(long volume, long block) {
        return find(volume, block) >= 0;
    }

    // ------------------------------------------------------------------------------ admission

    /**
     * Whether a block that missed should be {@linkplain #fill filled} once read from storage. Always
     * true without {@code admitOnSecondMiss} (false when the cache has no slots); with it, true on
     * the block's second miss while its first is still remembered in the ghost table (counted in
     * {@link #admittedOnSecondMiss()}), false on a first miss, which is remembered (counted in
     * {@link #admissionsDeferred()}). Ask once per miss, before reading storage.
     */
    public boolean admit(long volume, long block) {
        if (slots == 0) return false;
        long[] g = ghost;
        if (g == null) return true;
        long h = hash(volume, block) | 1L; // 0 marks an empty entry
        int i = (int) (h >>> 32) & ghostMask & -GHOST_WAYS; // a bucket of GHOST_WAYS entries, newest first
        for (int k = 0; k < GHOST_WAYS; k++) {
            if (g[i + k] == h) { // close the gap: the entries after it move up
                for (; k < GHOST_WAYS - 1; k++) g[i + k] = g[i + k + 1];
                g[i + GHOST_WAYS - 1] = 0L;
                counters[ADMITTED]++;
                return true;
            }
        }
        for (int k = GHOST_WAYS - 1; k > 0; k--) g[i + k] = g[i + k - 1]; // the oldest is forgotten
        g[i] = h;
        counters[DEFERRED]++;
        return false;
    }

    // ---------------------------------------------------------------------------------- fills

    /**
     * The ticket a reader takes when it misses, before it reads storage, and later passes to
     * {@link #fill}: the fill is dropped if a write or invalidation touched the block in between.
     */
    public long fillTicket() {
        return sequence;
    }

    /**
     * Caches a block read from storage after a miss, in the single-touch pool (evicting as the pool
     * rules say). Returns false, caching nothing, if the block was written or invalidated since
     * {@code ticket} was taken (the data may be stale) or the cache has no slots; returns true if
     * the block is now cached (an already cached copy is current and is kept as it is).
     */
    public boolean fill(long volume, long block, MemorySegment src, long srcOff, long ticket) {
        if (ticket < floor || stamps[stampIndex(volume, block)] > ticket) {
            counters[FILLS_REJECTED]++;
            return false;
        }
        if (slots == 0 || find(volume, block) >= 0) return slots != 0;
        insert(volume, block, src, srcOff);
        counters[FILLS]++;
        return true;
    }

    /**
     * {@link #fill(long, long, MemorySegment, long, long)} for {@code count} consecutive blocks
     * (block {@code i} at {@code srcOff + i * 4096}); returns the number of blocks now cached.
     */
    public int fill(long volume, long firstBlock, int count, MemorySegment src, long srcOff, long ticket) {
        checkCount(count);
        int cached = 0;
        for (int i = 0; i < count; i++)
            if (fill(volume, firstBlock + i, src, srcOff + ((long) i << BLOCK_SHIFT), ticket)) cached++;
        return cached;
    }

    // ---------------------------------------------------------------------------------- writes

    /**
     * Tells the cache a block was written with the given data: a cached copy is overwritten in place
     * (pool and LRU position unchanged); an uncached block is inserted into the single-touch pool
     * only if the cache was built with {@code insertOnWrite}. Fills whose ticket predates this call
     * are dropped. Call it before or as the write is acknowledged.
     */
    public void write(long volume, long block, MemorySegment src, long srcOff) {
        stamps[stampIndex(volume, block)] = ++sequence;
        int s = find(volume, block);
        if (s >= 0) {
            MemorySegment.copy(src, srcOff, slab, (long) s << BLOCK_SHIFT, BLOCK_SIZE);
            counters[WRITE_UPDATES]++;
        } else if (insertOnWrite && slots != 0) {
            insert(volume, block, src, srcOff);
            counters[WRITE_INSERTS]++;
        }
    }

    /** {@link #write(long, long, MemorySegment, long)} for {@code count} consecutive blocks. */
    public void write(long volume, long firstBlock, int count, MemorySegment src, long srcOff) {
        checkCount(count);
        for (int i = 0; i < count; i++) write(volume, firstBlock + i, src, srcOff + ((long) i << BLOCK_SHIFT));
    }

    // ---------------------------------------------------------------------------- invalidation

    /** Drops a block (if cached) and any fill of it in flight; for changes made without {@link #write}. */
    public void invalidate(long volume, long block) {
        stamps[stampIndex(volume, block)] = ++sequence;
        int s = find(volume, block);
        if (s >= 0) {
            remove(s);
            counters[INVALIDATIONS]++;
        }
    }

    /**
     * Drops {@code count} consecutive blocks from {@code firstBlock} (unmap, write-zeroes, a
     * rebuilt range). Costs {@code O(min(count, slots))}: ranges larger than the cache scan the
     * slots instead of probing each block, and, above the stamp table's size, drop every fill in
     * flight (harmless: those blocks are simply read again).
     */
    public void invalidateRange(long volume, long firstBlock, long count) {
        if (count <= 0) {
            if (count == 0) return;
            throw new IllegalArgumentException("negative block count: " + count);
        }
        if (count <= stamps.length) {
            for (long i = 0; i < count; i++) stamps[stampIndex(volume, firstBlock + i)] = ++sequence;
        } else {
            floor = ++sequence;
        }
        if (count <= slots) {
            for (long i = 0; i < count; i++) {
                int s = find(volume, firstBlock + i);
                if (s >= 0) {
                    remove(s);
                    counters[INVALIDATIONS]++;
                }
            }
        } else {
            for (int s = 0; s < slots; s++) {
                if (pool[s] != FREE && keyVolume[s] == volume && Long.compareUnsigned(keyBlock[s] - firstBlock, count) < 0) {
                    remove(s);
                    counters[INVALIDATIONS]++;
                }
            }
        }
    }

    /** Drops every block of a volume (deleted, or restored from elsewhere) and every fill in flight. O(slots). */
    public void invalidateVolume(long volume) {
        floor = ++sequence;
        for (int s = 0; s < slots; s++) {
            if (pool[s] != FREE && keyVolume[s] == volume) {
                remove(s);
                counters[INVALIDATIONS]++;
            }
        }
    }

    /** Drops everything and every fill in flight. O(slots). */
    public void invalidateAll() {
        floor = ++sequence;
        for (int s = 0; s < slots; s++) {
            if (pool[s] != FREE) {
                remove(s);
                counters[INVALIDATIONS]++;
            }
        }
    }

    // ------------------------------------------------------------------------------- internals

    private static void checkCount(int count) {
        if (count <= 0) throw new IllegalArgumentException("block count must be positive: " + count);
    }

    private static long hash(long volume, long block) {
        long h = volume * 0x9E3779B97F4A7C15L + block;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        return h ^ (h >>> 33);
    }

    private int stampIndex(long volume, long block) {
        return (int) hash(volume, block) & stampMask;
    }

    private int find(long volume, long block) {
        int i = (int) hash(volume, block) & tableMask;
        while (true) {
            int s = table[i];
            if (s == EMPTY) return -1;
            if (keyBlock[s] == block && keyVolume[s] == volume) return s;
            i = (i + 1) & tableMask;
        }
    }

    /** A hit: promote a single-touch entry, or move a multi-touch one to the front. */
    private void touch(int s) {
        if (pool[s] == SINGLE) {
            unlink(s);
            pool[s] = MULTI;
            linkFront(s, multiHead);
            counters[SINGLE_COUNT]--;
            counters[MULTI_COUNT]++;
            counters[PROMOTIONS]++;
        } else if (next[multiHead] != s) {
            unlink(s);
            linkFront(s, multiHead);
        }
    }

    /** Inserts an absent block into the single-touch pool; slots > 0. */
    private void insert(long volume, long block, MemorySegment src, long srcOff) {
        int s;
        if (counters[SINGLE_COUNT] >= singleTouchLimit) {
            s = prev[singleHead];
            evict(s);
            counters[EVICTIONS_SINGLE]++;
        } else if (freeHead != EMPTY) {
            s = freeHead;
            freeHead = next[s];
        } else {
            s = prev[multiHead]; // full and single-touch under its limit: multi-touch holds the rest
            evict(s);
            counters[EVICTIONS_MULTI]++;
        }
        keyVolume[s] = volume;
        keyBlock[s] = block;
        pool[s] = SINGLE;
        linkFront(s, singleHead);
        counters[SINGLE_COUNT]++;
        tableInsert(s);
        MemorySegment.copy(src, srcOff, slab, (long) s << BLOCK_SHIFT, BLOCK_SIZE);
    }

    /** Unindexes an entry and unlinks it from its pool, leaving the slot to the caller. */
    private void evict(int s) {
        tableRemove(s);
        unlink(s);
        counters[pool[s] == SINGLE ? SINGLE_COUNT : MULTI_COUNT]--;
        pool[s] = FREE;
    }

    /** Evicts an entry and returns its slot to the free list. */
    private void remove(int s) {
        evict(s);
        next[s] = freeHead;
        freeHead = s;
    }

    private void unlink(int s) {
        int p = prev[s], n = next[s];
        next[p] = n;
        prev[n] = p;
    }

    private void linkFront(int s, int head) {
        int n = next[head];
        next[s] = n;
        prev[s] = head;
        prev[n] = s;
        next[head] = s;
    }

    private void tableInsert(int s) {
        int i = (int) hash(keyVolume[s], keyBlock[s]) & tableMask;
        while (table[i] != EMPTY) i = (i + 1) & tableMask;
        table[i] = s;
    }

    /** Removes slot {@code s} from the table, shifting later members of its probe run back (no tombstones). */
    private void tableRemove(int s) {
        int i = (int) hash(keyVolume[s], keyBlock[s]) & tableMask;
        while (table[i] != s) i = (i + 1) & tableMask;
        int j = i;
        while (true) {
            j = (j + 1) & tableMask;
            int t = table[j];
            if (t == EMPTY) break;
            int home = (int) hash(keyVolume[t], keyBlock[t]) & tableMask;
            // t may fill the hole at i unless its home lies cyclically in (i, j]
            boolean homeInHoleToJ = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!homeInHoleToJ) {
                table[i] = t;
                i = j;
            }
        }
        table[i] = EMPTY;
    }

    // -------------------------------------------------------------------------------- counters

    private long counter(int i) {
        return (long) COUNTER.getOpaque(counters, i);
    }

    /** Slab size in bytes (whole blocks). */
    public long capacityBytes() { return (long) slots << BLOCK_SHIFT; }

    /** Number of 4 KiB slots. */
    public int slots() { return slots; }

    /** Most slots the single-touch pool may hold. */
    public int singleTouchLimit() { return singleTouchLimit; }

    /** Whether writes of uncached blocks insert them. */
    public boolean insertOnWrite() { return insertOnWrite; }

    /** Whether a block is admitted only on its second recent miss (see {@link #admit}). */
    public boolean admitOnSecondMiss() { return ghost != null; }

    /** Misses {@link #admit} answered false: first misses, remembered in the ghost table only. */
    public long admissionsDeferred() { return counter(DEFERRED); }

    /** Misses {@link #admit} answered true because the block's previous miss was remembered. */
    public long admittedOnSecondMiss() { return counter(ADMITTED); }

    /** Block reads served from the cache. */
    public long hits() { return counter(HITS); }

    /** Block reads not found in the cache. */
    public long misses() { return counter(MISSES); }

    /** Blocks inserted by {@link #fill}. */
    public long fills() { return counter(FILLS); }

    /** Fills dropped because the block was written or invalidated after their ticket. */
    public long fillsRejected() { return counter(FILLS_REJECTED); }

    /** Writes that updated a cached copy. */
    public long writeUpdates() { return counter(WRITE_UPDATES); }

    /** Writes that inserted an uncached block ({@code insertOnWrite} only). */
    public long writeInserts() { return counter(WRITE_INSERTS); }

    /** Entries evicted from the single-touch pool to make room. */
    public long singleTouchEvictions() { return counter(EVICTIONS_SINGLE); }

    /** Entries evicted from the multi-touch pool to make room. */
    public long multiTouchEvictions() { return counter(EVICTIONS_MULTI); }

    /** Hits that moved an entry from the single-touch to the multi-touch pool. */
    public long promotions() { return counter(PROMOTIONS); }

    /** Cached entries dropped by {@code invalidate*}. */
    public long invalidations() { return counter(INVALIDATIONS); }

    /** Bytes held by the single-touch pool. */
    public long singleTouchBytes() { return counter(SINGLE_COUNT) << BLOCK_SHIFT; }

    /** Bytes held by the multi-touch pool. */
    public long multiTouchBytes() { return counter(MULTI_COUNT) << BLOCK_SHIFT; }

    /** Bytes of the slab holding cached blocks; never above {@link #capacityBytes()}. */
    public long bytesUsed() { return singleTouchBytes() + multiTouchBytes(); }

    /** Hits over lookups since creation, 0 when there were none. */
    public double hitRate() {
        long h = hits(), m = misses();
        return h + m == 0 ? 0.0 : (double) h / (h + m);
    }

    /** Frees the slab if the cache allocated it; the cache must not be used afterwards. Control plane. */
    @Override
    public void close() {
        if (arena != null) arena.close();
    }

    @Override
    public String toString() {
        return "UnifiedCache[" + capacityBytes() + " bytes, used " + bytesUsed() + " (single " + singleTouchBytes()
                + ", multi " + multiTouchBytes() + "), hits " + hits() + ", misses " + misses() + "]";
    }

    /**
     * Checks every internal invariant (lists, index, counts, free list) and throws
     * {@link IllegalStateException} on the first broken one; O(slots), for tests. Owner thread only.
     */
    void checkInvariants() {
        int single = walk(singleHead, SINGLE), multi = walk(multiHead, MULTI);
        if (single != counters[SINGLE_COUNT] || multi != counters[MULTI_COUNT])
            throw new IllegalStateException("pool counts " + counters[SINGLE_COUNT] + "/" + counters[MULTI_COUNT] + " but lists hold " + single + "/" + multi);
        if (single > singleTouchLimit) throw new IllegalStateException("single-touch pool over its limit: " + single);
        int free = 0;
        for (int s = freeHead; s != EMPTY; s = next[s]) {
            if (pool[s] != FREE) throw new IllegalStateException("slot " + s + " on the free list is in use");
            if (++free > slots) throw new IllegalStateException("free list loops");
        }
        if (single + multi + free != slots) throw new IllegalStateException("slots lost: " + single + "+" + multi + "+" + free + " != " + slots);
        int indexed = 0;
        for (int i = 0; i < table.length; i++) {
            int s = table[i];
            if (s == EMPTY) continue;
            indexed++;
            if (pool[s] == FREE) throw new IllegalStateException("free slot " + s + " indexed");
            if (find(keyVolume[s], keyBlock[s]) != s) throw new IllegalStateException("slot " + s + " not found by its key");
        }
        if (indexed != single + multi) throw new IllegalStateException("index holds " + indexed + " entries, pools " + (single + multi));
    }

    private int walk(int head, byte kind) {
        int n = 0;
        for (int s = next[head]; s != head; s = next[s]) {
            if (pool[s] != kind) throw new IllegalStateException("slot " + s + " in the wrong list");
            if (prev[next[s]] != s) throw new IllegalStateException("broken back link at " + s);
            if (++n > slots) throw new IllegalStateException("list loops");
        }
        return n;
    }
}
