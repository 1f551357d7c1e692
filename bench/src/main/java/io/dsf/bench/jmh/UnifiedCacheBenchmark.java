package io.dsf.bench.jmh;

import io.dsf.stargate.cache.UnifiedCache;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cost of one 4 KiB {@link UnifiedCache} operation as a shard makes it, copy included: a hit
 * (lookup, LRU move, copy out), a lookup that misses, a miss followed by its fill (lookup, ticket, single-touch
 * eviction, insert, copy in), and a write over a cached block (stamp, lookup, copy in). The peer,
 * {@code copy}, is the bare 4 KiB copy out of a slab of the same size, in the same order: the
 * difference is the cache's own cost. The cache is twice the hot set ({@code hotBlocks}, all
 * multi-touch; 8192 blocks = 32 MiB, about this machine's L3; {@code -p hotBlocks=256} keeps it
 * in L2); misses come from a scan of never-seen blocks, so every fill evicts. Must not allocate
 * ({@code -prof gc}). State is per benchmark thread (a cache is owned by one shard thread).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class UnifiedCacheBenchmark {
    /** Blocks in the hot set, a power of two. */
    @Param("8192")
    public int hotBlocks;

    private Arena arena;
    private UnifiedCache cache;
    private MemorySegment buffer;
    private MemorySegment peerSlab;
    private int[] order;                            // visiting order of the hot set, shuffled
    private int next;
    private long scanBlock;

    @Setup(Level.Trial)
    public void setUp() {
        if (Integer.bitCount(hotBlocks) != 1) throw new IllegalArgumentException("hotBlocks must be a power of two");
        final int hot = hotBlocks;
        arena = Arena.ofConfined();
        buffer = arena.allocate(UnifiedCache.BLOCK_SIZE, UnifiedCache.BLOCK_SIZE);
        peerSlab = arena.allocate((long) hot * UnifiedCache.BLOCK_SIZE, UnifiedCache.BLOCK_SIZE);
        cache = UnifiedCache.allocate(2L * hot * UnifiedCache.BLOCK_SIZE);
        order = new int[hot];
        for (int b = 0; b < hot; b++) {
            buffer.set(ValueLayout.JAVA_INT, 0, b);
            cache.fill(1, b, buffer, 0, cache.fillTicket());
            cache.read(1, b, buffer, 0); // second touch: multi-touch
        }
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < hot; i++) order[i] = i;
        for (int i = hot - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        scanBlock = 1L << 40;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (cache.multiTouchEvictions() != 0) throw new IllegalStateException("the hot set was evicted");
        cache.close();
        arena.close();
    }

    private long nextHot() {
        int i = next;
        next = (i + 1) & (order.length - 1);
        return order[i];
    }

    @Benchmark
    public long copy() {
        MemorySegment.copy(peerSlab, nextHot() << UnifiedCache.BLOCK_SHIFT, buffer, 0, UnifiedCache.BLOCK_SIZE);
        return next;
    }

    @Benchmark
    public boolean hit() {
        return cache.read(1, nextHot(), buffer, 0);
    }

    /**
     * A lookup that misses, as a shard's read of a block it will not cache makes it: the cache
     * holds the hot set (every probe passes occupied entries) and the key was never cached.
     */
    @Benchmark
    public boolean miss() {
        return cache.read(3, scanBlock++, buffer, 0);
    }

    @Benchmark
    public boolean missFill() {
        long b = scanBlock++;
        if (cache.read(2, b, buffer, 0)) return true;
        long ticket = cache.fillTicket();
        // (the shard reads storage here)
        return cache.fill(2, b, buffer, 0, ticket);
    }

    @Benchmark
    public long write() {
        cache.write(1, nextHot(), buffer, 0);
        return next;
    }
}
