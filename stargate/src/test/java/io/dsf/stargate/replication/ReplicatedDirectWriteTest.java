package io.dsf.stargate.replication;

import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Extent-Store-direct writes on replicating shards (RF2, three Stargates on {@code mem:}, a bypass
 * threshold of 0 so every write to never-written blocks of a vBlock without OpLog data goes
 * direct): sequential writes bypass the OpLog yet reach the peers as batches of their own; the owner
 * reopens from its store (recovery skips the direct batches' header-only records, the block map names
 * the data) and reads everything back; a takeover from the replicas, the owner gone, returns every
 * block. Overwrites and write-zeroes in between go through the OpLog as before.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicatedDirectWriteTest {
    static final StargateOptions OPTS = ReplicationClusterTest.OPTS.withBypassBytes(0);
    final List<ReplicationClusterTest.Member> members = new ArrayList<>();

    @AfterEach
    void down() { TakeoverClusterTest.down(members); }

    static int sync(CompletableFuture<Integer> f) throws Exception { return f.get(30, TimeUnit.SECONDS); }

    @Test
    void directWritesAreReplicatedRecoveredAndTakenOver(@TempDir Path spill) throws Exception {
        Map<String, ReplicationClusterTest.Member> byId = TakeoverClusterTest.cluster(members, 3, 2, OPTS);
        ReplicationClusterTest.Member a = byId.get("A"), b = byId.get("B");
        VDisk d = a.stargate.create("d0", ReplicationClusterTest.VDISK, 2);
        int[] model = RereplicationTest.zeroModel();
        Random r = new Random(5);
        try (Arena ar = Arena.ofShared()) {
            // sequential 256 KiB writes over 32 MiB, four in flight: never-written blocks, no OpLog data: direct
            int chunk = 256 << 10, depth = 4;
            MemorySegment[] bufs = new MemorySegment[depth];
            for (int i = 0; i < depth; i++) bufs[i] = ar.allocate(chunk, 4096);
            for (long off = 0; off < (32L << 20); off += (long) chunk * depth) {
                List<CompletableFuture<Integer>> fs = new ArrayList<>();
                for (int i = 0; i < depth; i++) {
                    MemorySegment buf = bufs[i];
                    for (long k = 0; k < chunk; k += 8) buf.set(ValueLayout.JAVA_LONG, k, r.nextLong());
                    long at = off + (long) i * chunk;
                    for (int blk = 0; blk < chunk / 4096; blk++) model[(int) (at / 4096) + blk] = TestBatches.crc(buf, blk * 4096L, 4096);
                    CompletableFuture<Integer> f = new CompletableFuture<>();
                    assertEquals(VDiskStatus.OK, d.write(at, buf, chunk, i, (t, s) -> f.complete(s)));
                    fs.add(f);
                }
                for (CompletableFuture<Integer> f : fs) assertEquals(VDiskStatus.OK, sync(f));
            }
        }
        var c = a.stargate.controller("d0").counters();
        assertTrue(c.bypassWrites > 20, "writes went direct on replicating shards: " + c);
        // overwrites, zeroes and unmaps on top go through the OpLog
        TakeoverClusterTest.workload(d, model, 60, 8, () -> false);
        assertEquals(0, a.replication.batchesFailed());
        TakeoverClusterTest.readBack(d, model);

        // the owner reopens from its store: direct batches are header-only records there
        a.stargate.close();
        a.stargate = Stargate.open(a.dev, a.store, OPTS, a.replication);
        a.replication.catalog(Takeover.catalog(a.stargate, "A"));
        TakeoverClusterTest.readBack(a.stargate.vdisk("d0"), model);

        // the owner dies: the replicas alone hold every acknowledged write, direct ones included
        TakeoverClusterTest.kill(a);
        Takeover.Result res = Takeover.run(b.stargate, b.transport, "A", "d0", TakeoverClusterTest.sources(members), 2, spill,
                new Takeover.Progress("A", "d0"));
        assertTrue(res.dataBlocks() > 4096, "the direct writes came back from the replicas: " + res);
        TakeoverClusterTest.readBack(b.stargate.vdisk("d0"), model);
    }
}
