package io.dsf.stargate.stats;

import io.dsf.stargate.cache.UnifiedCache;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Deterministic behaviour of {@link VDiskStats}: rates on a fake clock, percentiles, gauges, JSON and text. */
class VDiskStatsTest {
    private long now = 1_000_000_000L;

    private VDiskStats stats(String name, int shards) {
        return new VDiskStats(name, shards, VDiskStats.DEFAULT_SIGNIFICANT_DIGITS, () -> now);
    }

    static void assertWithin(double expected, double actual, double relative, String what) {
        assertTrue(Math.abs(actual - expected) <= relative * Math.abs(expected),
                what + ": expected " + expected + " within " + relative * 100 + "%, was " + actual);
    }

    @Test
    void ratesAndPercentilesCoverTheIntervalAndTheTotals() {
        VDiskStats s = stats("vd0", 2);
        for (int i = 0; i < 600; i++) s.shard(0).recordRead(4096, 100_000);      // 100 us
        for (int i = 0; i < 400; i++) s.shard(1).recordRead(4096, 300_000);      // 300 us
        for (int i = 0; i < 10; i++) s.shard(1).recordWrite(65536, 2_000_000);   // 2 ms
        s.shard(0).recordFlush(50_000);
        s.shard(1).recordUnmap(1L << 30, 10_000);
        s.shard(0).recordError();
        now += 2_000_000_000L;
        VDiskStatsSnapshot a = s.snapshot();
        assertEquals(2.0, a.intervalSeconds(), 1e-9);
        var r = a.interval().read();
        assertEquals(1000, r.ops());
        assertEquals(4096_000, r.bytes());
        assertEquals(500.0, a.readIops(), 1e-9);
        assertEquals(2.048, a.readMbps(), 1e-9);
        assertWithin(100, r.p50Us(), 0.01, "read p50");
        assertWithin(300, r.p99Us(), 0.01, "read p99");
        assertWithin(300, r.maxUs(), 0.01, "read max");
        assertEquals(5.0, a.writeIops(), 1e-9);
        assertEquals(10 * 65536 / 2.0 / 1e6, a.writeMbps(), 1e-9);
        assertWithin(2000, a.interval().write().p999Us(), 0.01, "write p999");
        assertEquals(1, a.interval().flush().ops());
        assertWithin(50, a.interval().flush().p50Us(), 0.01, "flush p50");
        assertEquals(1L << 30, a.interval().unmap().bytes());
        assertEquals(1, a.errors());

        for (int i = 0; i < 100; i++) s.shard(0).recordRead(512, 1_000_000);   // 1 ms
        now += 1_000_000_000L;
        VDiskStatsSnapshot b = s.snapshot();
        assertEquals(100, b.interval().read().ops());
        assertEquals(100.0, b.readIops(), 1e-9);
        assertWithin(1000, b.interval().read().p50Us(), 0.01, "second interval p50 sees only its own reads");
        assertEquals(0, b.errors());
        assertEquals(0, b.interval().write().ops());
        assertEquals(0.0, b.interval().write().p99Us());
        var t = b.total();
        assertEquals(3.0, t.seconds(), 1e-9);
        assertEquals(1100, t.read().ops());
        assertEquals(4096_000 + 51_200, t.read().bytes());
        assertEquals(1100 / 3.0, t.read().iops(), 1e-9);
        assertWithin(100, t.read().p50Us(), 0.01, "total p50 over 600x100, 400x300, 100x1000 us");
        assertWithin(1000, t.read().p99Us(), 0.01, "total p99");
        assertEquals(1, t.errors());
        assertEquals(10, t.write().ops());

        now += 1_000_000_000L;
        VDiskStatsSnapshot idle = s.snapshot();
        assertEquals(0, idle.interval().read().ops());
        assertEquals(0.0, idle.readIops());
        assertEquals(1100, idle.total().read().ops());
        assertTrue(idle.format().contains("idle"), idle.format());
    }

    @Test
    void latenciesAreClampedToTheTrackableRange() {
        VDiskStats s = stats("vd", 1);
        s.shard(0).recordRead(4096, -5);
        s.shard(0).recordRead(4096, Long.MAX_VALUE);
        now += 1_000_000_000L;
        var r = s.snapshot().interval().read();
        assertEquals(2, r.ops());
        assertWithin(TimeUnit.HOURS.toMicros(1), r.maxUs(), 0.01, "max clamped to an hour");
        assertEquals(0.0, r.p50Us(), 0.001);
    }

    @Test
    void oplogGaugesAndCacheCountersAreSummedOverShards() {
        VDiskStats s = stats("vd", 3);
        s.shard(0).setOplog(16L << 20, 64L << 20);
        s.shard(2).setOplog(8L << 20, 32L << 20);
        long[] hits = {30, 0, 0}, misses = {10, 0, 0};
        s.shard(0).bindCache(() -> hits[0], () -> misses[0]);
        s.shard(1).bindCache(() -> hits[1], () -> misses[1]);
        now += 1_000_000_000L;
        VDiskStatsSnapshot a = s.snapshot();
        assertEquals(24L << 20, a.oplogBytes());
        assertEquals(96L << 20, a.oplogCapacity());
        assertEquals(25.0, a.oplogFillPercent(), 1e-9);
        assertEquals(0.75, a.cacheHitRate(), 1e-9);

        hits[0] = 40;   // +10
        misses[0] = 20; // +10
        hits[1] = 5;    // +5
        now += 1_000_000_000L;
        VDiskStatsSnapshot b = s.snapshot();
        assertEquals(15, b.interval().cacheHits());
        assertEquals(10, b.interval().cacheMisses());
        assertEquals(0.6, b.cacheHitRate(), 1e-9);
        assertEquals(45, b.total().cacheHits());

        hits[0] = 2;    // shard 0 got a new cache: its count restarted
        misses[0] = 1;
        now += 1_000_000_000L;
        VDiskStatsSnapshot c = s.snapshot();
        assertEquals(2, c.interval().cacheHits(), "a restarted counter is not a negative interval");
        assertEquals(47, c.total().cacheHits());
        assertEquals(21, c.total().cacheMisses());
    }

    @Test
    void aUnifiedCacheBindsDirectly() {
        try (UnifiedCache cache = UnifiedCache.allocate(16 * UnifiedCache.BLOCK_SIZE)) {
            VDiskStats s = stats("vd", 1);
            s.shard(0).bindCache(cache);
            MemorySegment buf = MemorySegment.ofArray(new byte[UnifiedCache.BLOCK_SIZE]);
            assertFalse(cache.read(1, 1, buf, 0));
            cache.fill(1, 1, buf, 0, cache.fillTicket());
            for (int i = 0; i < 3; i++) assertTrue(cache.read(1, 1, buf, 0));
            now += 1_000_000_000L;
            VDiskStatsSnapshot a = s.snapshot();
            assertEquals(3, a.interval().cacheHits());
            assertEquals(1, a.interval().cacheMisses());
        }
    }

    @Test
    void jsonIsOneLineOfNumbersWithTheDocumentedKeys() {
        VDiskStats s = stats("vd \"quoted\"\\\n\u0001", 1);
        for (int i = 0; i < 1000; i++) s.shard(0).recordWrite(8192, 20_000 + i);
        s.shard(0).setOplog(1 << 20, 4 << 20);
        now += 500_000_000L;
        VDiskStatsSnapshot snap = s.snapshot();
        String json = snap.toJson();
        assertFalse(json.contains("\n"), json);
        Map<String, Object> m = MiniJson.object(json);
        assertEquals("vd \"quoted\"\\\n\u0001", m.get("name"));
        assertEquals(0.5, (Double) m.get("interval_s"), 1e-9);
        assertEquals(2000.0, (Double) m.get("write_iops"), 1e-9);
        assertEquals(16.384, (Double) m.get("write_mbps"), 1e-9);
        assertEquals(snap.interval().write().p99Us(), (Double) m.get("write_lat_p99_us"), 0.001);
        assertEquals(25.0, (Double) m.get("oplog_fill_pct"), 1e-9);
        assertEquals(1000.0, (Double) m.get("total_write_ops"));
        assertEquals(0.0, (Double) m.get("cache_hit_rate"));
        for (String kind : new String[] {"read", "write", "flush", "unmap"})
            for (String f : new String[] {"ops", "bytes", "iops", "mbps", "lat_p50_us", "lat_p99_us", "lat_p999_us", "lat_max_us"}) {
                assertInstanceOf(Double.class, m.get(kind + "_" + f), kind + "_" + f);
                assertInstanceOf(Double.class, m.get("total_" + kind + "_" + f), "total_" + kind + "_" + f);
            }
        for (String k : m.keySet()) if (!k.equals("name")) assertInstanceOf(Double.class, m.get(k), k);
    }

    @Test
    void formatIsOneReadableLine() {
        VDiskStats s = stats("vd0", 1);
        for (int i = 0; i < 2000; i++) s.shard(0).recordRead(4096, 12_000);
        s.shard(0).setOplog(12L << 20, 64L << 20);
        s.shard(0).bindCache(() -> 3, () -> 1);
        now += 1_000_000_000L;
        String line = s.snapshot().format();
        assertFalse(line.contains("\n"));
        assertTrue(line.startsWith("vd0 1.0s  read 2.0k IOPS 8.2 MB/s p50/p99/p999 12.0/12.0/12.0 us"), line);
        assertTrue(line.contains("oplog 12.0 MiB/64.0 MiB 18.8%"), line);
        assertTrue(line.contains("cache hit 75.0%"), line);
        assertTrue(line.endsWith("errors 0"), line);
        assertFalse(line.contains("write"), "kinds without requests are left out: " + line);
    }

    @Test
    void registryListsVDisksByNameAndPrintsAJsonArray() {
        VDiskStatsRegistry reg = new VDiskStatsRegistry();
        VDiskStats b = stats("b", 1), a = stats("a", 2);
        reg.register(b);
        reg.register(a);
        assertThrows(IllegalArgumentException.class, () -> reg.register(stats("a", 1)));
        assertSame(a, reg.get("a"));
        a.shard(1).recordRead(4096, 1000);
        now += 1_000_000_000L;
        List<VDiskStatsSnapshot> all = reg.snapshotAll();
        assertEquals(List.of("a", "b"), all.stream().map(VDiskStatsSnapshot::name).toList());
        List<?> parsed = (List<?>) MiniJson.parse(VDiskStatsRegistry.toJson(all));
        assertEquals(2, parsed.size());
        assertEquals(1.0, ((Map<?, ?>) parsed.get(0)).get("read_ops"));
        reg.unregister(a);
        assertNull(reg.get("a"));
        assertEquals("[]", VDiskStatsRegistry.toJson(List.of()));
    }

    @Test
    void badConfigurationIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> stats("x", 0));
        assertThrows(IllegalArgumentException.class, () -> new VDiskStats("x", 1, 0, System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new VDiskStats("x", 1, 6, System::nanoTime));
        assertThrows(NullPointerException.class, () -> stats(null, 1));
    }

    @Test
    void recordingAllocatesNothing() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeAllocationCounting(mx);
        VDiskShardStats shard = stats("vd", 1).shard(0);
        for (int i = 0; i < 20_000; i++) record(shard, i); // warm up (class loading, JIT)
        long tid = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 200_000; i++) record(shard, i);
        long allocated = mx.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "200k recordings allocated " + allocated + " bytes");
    }

    private static void record(VDiskShardStats shard, int i) {
        shard.recordRead(4096, 1000 + i);
        shard.recordWrite(4096, 2000 + i);
        if ((i & 63) == 0) shard.recordFlush(5000);
        if ((i & 127) == 0) shard.recordError();
        shard.setOplog(i, 1 << 20);
    }

    static void assumeAllocationCounting(com.sun.management.ThreadMXBean mx) {
        org.junit.jupiter.api.Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled(),
                "this JVM does not count per-thread allocation");
    }
}
