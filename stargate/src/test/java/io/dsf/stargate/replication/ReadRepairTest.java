package io.dsf.stargate.replication;

import io.dsf.blockstore.backend.faulty.FaultInjector;
import io.dsf.blockstore.backend.faulty.FaultyBlockDevice;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Reads whose local copy fails its checksum are served from the replicas: owner A (RF2, peers B
 * and C) on a {@code faulty:} device whose reads are then corrupted; every block reads back as last
 * written (overwrites and write-zeroes included), the bad blocks are written back (a new replicated
 * write), and once the device reads clean again the vDisk holds the right data by itself. Without
 * the repair the same read is a medium error; with a peer down the repair refuses (that peer may
 * hold the newest version) and the read stays a medium error.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReadRepairTest {
    static final StargateOptions OPTS = StargateOptions.defaults().withShards(2).withOplog(4L << 20, 16L << 20)
            .withCacheBytes(0).withIdle("backoff");
    static final int BLOCKS = 512; // 2 MiB: both shards
    final List<AutoCloseable> open = new ArrayList<>();
    final List<ReplicaService> services = new ArrayList<>();
    final List<RdmaTransport> transports = new ArrayList<>();
    final List<BlockDevice> devices = new ArrayList<>();
    final List<BlockStore> stores = new ArrayList<>();

    @AfterEach
    void down() throws Exception {
        for (AutoCloseable x : open) x.close();
    }

    ReplicaService service(String uri) throws Exception {
        RdmaTransport t = Transports.open("tcp");
        TestBatches.Replica r = TestBatches.Replica.start(t, uri, 16);
        open.add(0, t);
        open.add(0, r);
        services.add(r.svc());
        transports.add(t);
        devices.add(r.dev());
        stores.add(r.store());
        return r.svc();
    }

    static int io(VDisk d, boolean read, long off, MemorySegment buf, int len) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = read ? d.read(off, buf, len, 0, (t, s) -> f.complete(s)) : d.write(off, buf, len, 0, (t, s) -> f.complete(s));
        return st != VDiskStatus.OK ? st : f.get(60, TimeUnit.SECONDS);
    }

    static int zero(VDisk d, long off, long len) throws Exception {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        int st = d.writeZeroes(off, len, 0, (t, s) -> f.complete(s));
        return st != VDiskStatus.OK ? st : f.get(60, TimeUnit.SECONDS);
    }

    @Test
    void aCorruptLocalCopyIsReadFromTheReplicasAndWrittenBack() throws Exception {
        String name = "rr" + System.nanoTime();
        ReplicaService a = service("faulty:none,name=" + name + ":mem:192m"), b = service("mem:192m"), c = service("mem:192m");
        FaultInjector inj = FaultyBlockDevice.injector(name);
        List<PeerAddress> peers = List.of(new PeerAddress("B", "127.0.0.1", b.address().getPort()),
                new PeerAddress("C", "127.0.0.1", c.address().getPort()));
        Replication rep = new Replication("A", transports.get(0), peers, Replication.Options.rf(2));
        // A's Stargate runs on A's store: the replica service's store (a node shares one)
        BlockStore storeA = stores.get(0);
        BlockDevice devA = devices.get(0);
        Stargate sg = Stargate.open(devA, storeA, OPTS, rep);
        open.add(0, sg);
        rep.catalog(Takeover.catalog(sg, "A")); // peers learn the vDisk's metadata, as in a node
        ReplicaReadRepair repair = new ReplicaReadRepair(transports.get(0), "A", peers);
        open.add(0, repair);
        VDisk d = sg.create("v", 8L << 20);

        byte[] expect = new byte[BLOCKS * 4096];
        Random r = new Random(3);
        try (Arena ar = Arena.ofShared()) {
            MemorySegment buf = ar.allocate(64 * 4096, 4096);
            for (int round = 0; round < 3; round++) // three rounds: overwrites over several batches
                for (int off = 0; off < BLOCKS; off += 64) {
                    byte[] chunk = new byte[64 * 4096];
                    r.nextBytes(chunk);
                    MemorySegment.copy(chunk, 0, buf, ValueLayout.JAVA_BYTE, 0, chunk.length);
                    assertEquals(VDiskStatus.OK, io(d, false, (long) off * 4096, buf, chunk.length));
                    System.arraycopy(chunk, 0, expect, off * 4096, chunk.length);
                }
            assertEquals(VDiskStatus.OK, zero(d, 100 * 4096L, 8 * 4096L));
            java.util.Arrays.fill(expect, 100 * 4096, 108 * 4096, (byte) 0);

            // every device read now returns flipped bits
            var rule = inj.corruptReadsIn(0, devA.geometry().capacity());
            MemorySegment in = ar.allocate(64 * 4096, 4096);
            assertEquals(VDiskStatus.MEDIUM_ERROR, io(d, true, 0, in, 16 * 4096), "without the repair: a medium error");
            sg.readRepair(repair);
            for (int off = 0; off < BLOCKS; off += 64) {
                assertEquals(VDiskStatus.OK, io(d, true, (long) off * 4096, in, 64 * 4096), "read at block " + off + " served from the replicas");
                assertArrayEquals(java.util.Arrays.copyOfRange(expect, off * 4096, (off + 64) * 4096), in.toArray(ValueLayout.JAVA_BYTE),
                        "blocks " + off + ".. read back as last written");
            }
            assertTrue(inj.corruptedReads() > 0);
            assertEquals(BLOCKS / 64, repair.repaired(), "every read repaired");
            assertTrue(repair.blocksRewritten() >= BLOCKS - 8, "bad blocks written back: " + repair.blocksRewritten());
            assertEquals(0, repair.failed());

            // the device reads clean again: the written-back copies are there by themselves
            inj.disarm(rule);
            sg.readRepair(null);
            for (int off = 0; off < BLOCKS; off += 64) {
                assertEquals(VDiskStatus.OK, io(d, true, (long) off * 4096, in, 64 * 4096));
                assertArrayEquals(java.util.Arrays.copyOfRange(expect, off * 4096, (off + 64) * 4096), in.toArray(ValueLayout.JAVA_BYTE));
            }

            // a peer down: the repair cannot know it has the newest version and refuses
            c.close();
            inj.arm(rule);
            sg.readRepair(repair);
            assertEquals(VDiskStatus.MEDIUM_ERROR, io(d, true, 0, in, 16 * 4096), "peer C down: stays a medium error");
            assertEquals(1, repair.failed());
            inj.disarmAll();

            // once re-replication wrote A's data again to B, C holds nothing still needed: repairs go on without it
            repair.neededPeers(rep::mayHoldNeeded);
            assertEquals(VDiskStatus.OK, io(d, true, 0, in, 16 * 4096), "clean reads meanwhile");
            inj.arm(rule);
            assertEquals(VDiskStatus.MEDIUM_ERROR, io(d, true, 0, in, 16 * 4096), "before the pass C may hold the newest version");
            inj.disarmAll();
            sg.readRepair(null);
            try (BaseClient bases = new BaseClient(transports.get(0), "A", TimeUnit.SECONDS.toNanos(5));
                 Rereplicator rr = new Rereplicator(sg, rep, bases, TimeUnit.MILLISECONDS.toNanos(100)).start()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (rr.status().passesDone() < 1 || !rep.passesNeeded(0).isEmpty() || rr.status().announcementsPending().containsKey("B")) {
                    assertTrue(System.nanoTime() < deadline, "re-replication: " + rr.status());
                    Thread.sleep(20);
                }
            }
            assertFalse(rep.mayHoldNeeded(sg.controller("v").id(), "C"));
            assertTrue(rep.mayHoldNeeded(sg.controller("v").id(), "B"));
            inj.arm(rule);
            sg.readRepair(repair);
            for (int off = 0; off < BLOCKS; off += 64) {
                assertEquals(VDiskStatus.OK, io(d, true, (long) off * 4096, in, 64 * 4096), "read at block " + off + " repaired without C");
                assertArrayEquals(java.util.Arrays.copyOfRange(expect, off * 4096, (off + 64) * 4096), in.toArray(ValueLayout.JAVA_BYTE));
            }
            inj.disarmAll();
        }
    }
}
