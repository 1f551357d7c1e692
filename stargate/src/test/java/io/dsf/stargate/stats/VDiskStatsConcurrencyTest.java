package io.dsf.stargate.stats;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.dsf.stargate.stats.VDiskStatsTest.assertWithin;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Several shard threads record known latencies while another thread keeps taking snapshots: the
 * intervals must add up to the totals, the totals to what was recorded, and the percentiles of the
 * totals must be those of the recorded distribution (nothing lost or counted twice in the swaps).
 */
class VDiskStatsConcurrencyTest {
    private static final int SHARDS = 4;
    private static final int PER_SHARD = Boolean.getBoolean("dsf.long") ? 5_000_000 : 400_000;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void intervalsAddUpAndPercentilesMatchWhatWasRecorded() throws Exception {
        VDiskStats stats = new VDiskStats("vd", SHARDS);
        CountDownLatch snapshotsTaken = new CountDownLatch(3); // the shards wait for these halfway
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<VDiskStatsSnapshot> seen = new ArrayList<>();

        Thread reader = new Thread(() -> {
            try {
                while (!done.get()) {
                    seen.add(stats.snapshot());
                    snapshotsTaken.countDown();
                }
            } catch (Throwable t) {
                failure.set(t);
                while (snapshotsTaken.getCount() > 0) snapshotsTaken.countDown();
            }
        }, "stats-reader");
        reader.start();

        Thread[] shards = new Thread[SHARDS];
        for (int s = 0; s < SHARDS; s++) {
            VDiskShardStats rec = stats.shard(s);
            shards[s] = new Thread(() -> {
                try {
                    for (int i = 0; i < PER_SHARD; i++) {
                        if (i == PER_SHARD / 2) snapshotsTaken.await();
                        // reads: 1..1000 us uniformly; every 4th request also a 4 ms write
                        rec.recordRead(4096, (1 + i % 1000) * 1000L);
                        if ((i & 3) == 0) rec.recordWrite(8192, 4_000_000);
                        if (i % 1000 == 999) rec.recordError();
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }, "shard-" + s);
            shards[s].start();
        }
        for (Thread t : shards) t.join();
        done.set(true);
        reader.join();
        if (failure.get() != null) throw new AssertionError("a thread failed", failure.get());

        VDiskStatsSnapshot last = stats.snapshot();
        seen.add(last);
        assertTrue(seen.size() >= 4, "snapshots taken while recording: " + seen.size());
        long reads = 0, readBytes = 0, writes = 0, errors = 0;
        for (VDiskStatsSnapshot snap : seen) {
            reads += snap.interval().read().ops();
            readBytes += snap.interval().read().bytes();
            writes += snap.interval().write().ops();
            errors += snap.interval().errors();
            assertTrue(snap.interval().read().ops() >= 0 && snap.interval().seconds() >= 0);
        }
        long expectedReads = (long) SHARDS * PER_SHARD;
        assertEquals(expectedReads, reads, "intervals add up to every read recorded");
        assertEquals(expectedReads * 4096, readBytes);
        assertEquals((long) SHARDS * ((PER_SHARD + 3) / 4), writes);
        assertEquals((long) SHARDS * (PER_SHARD / 1000), errors);

        var total = last.total();
        assertEquals(expectedReads, total.read().ops());
        assertEquals(writes, total.write().ops());
        assertEquals(errors, total.errors());
        // every value 1..1000 us equally often: p50 = 500 us, p99 = 990 us, p99.9 = 999 us, max = 1000 us
        assertWithin(500, total.read().p50Us(), 0.01, "total read p50");
        assertWithin(990, total.read().p99Us(), 0.01, "total read p99");
        assertWithin(999, total.read().p999Us(), 0.01, "total read p99.9");
        assertWithin(1000, total.read().maxUs(), 0.01, "total read max");
        assertWithin(4000, total.write().p50Us(), 0.01, "total write p50");
        VDiskStatsSnapshot after = stats.snapshot();
        assertEquals(0, after.interval().read().ops(), "nothing recorded after the shards finished");
        assertEquals(0.0, after.interval().read().p99Us());
        assertEquals(expectedReads, after.total().read().ops());
    }
}
