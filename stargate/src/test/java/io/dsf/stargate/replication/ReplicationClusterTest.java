package io.dsf.stargate.replication;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Three Stargate nodes in one JVM on {@code mem:} devices, each with a ReplicaService on loopback
 * (tcp transport): writes through a vDisk of node A are on RF-1 peers before they are
 * acknowledged (replicas read back and compared by checksum, block by block against what the
 * client wrote), and a peer closed mid-workload loses no acknowledged write and lets none through
 * below RF.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicationClusterTest {
    static final StargateOptions OPTS = StargateOptions.defaults().withShards(2).withOplog(4L << 20, 16L << 20)
            .withCacheBytes(4L << 20).withIdle("backoff");
    static final long VDISK = 64L << 20;

    record Acked(long vdisk, int shard, long batchId, long segment, long offset, int bytes, int crc, List<String> peers) {}

    static final class Member {
        final String id;
        final BlockDevice dev;
        final BlockStore store;
        final RdmaTransport transport;
        /** The replica service (restarted by some tests on the same store and port). */
        ReplicaService svc;
        Replication replication;
        Stargate stargate;
        final ConcurrentLinkedQueue<Acked> acked = new ConcurrentLinkedQueue<>();

        Member(String id) throws Exception {
            this(id, ReplicaService.DrainPolicy.DEFAULT);
        }

        Member(String id, ReplicaService.DrainPolicy drain) throws Exception {
            this.id = id;
            dev = BlockDevices.open("mem:192m");
            store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            transport = Transports.open("tcp");
            svc = ReplicaService.start(transport, dev, store, new InetSocketAddress("127.0.0.1", 0), 16, drain);
        }

        PeerAddress address() { return new PeerAddress(id, "127.0.0.1", svc.address().getPort()); }
    }

    final List<Member> members = new ArrayList<>();

    Map<String, Member> cluster(int n, int rf) throws Exception {
        Map<String, Member> byId = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Member m = new Member(String.valueOf((char) ('A' + i)));
            members.add(m);
            byId.put(m.id, m);
        }
        for (Member m : members) {
            List<PeerAddress> peers = new ArrayList<>();
            for (Member p : members) if (p != m) peers.add(p.address());
            m.replication = new Replication(m.id, m.transport, peers, Replication.Options.rf(rf));
            m.replication.observer((vd, sh, id, seg, off, bytes, crc, ps) -> m.acked.add(new Acked(vd, sh, id, seg, off, bytes, crc, ps)));
            m.stargate = Stargate.open(m.dev, m.store, OPTS, m.replication);
        }
        return byId;
    }

    @AfterEach
    void down() {
        for (Member m : members) if (m.stargate != null) m.stargate.close();
        for (Member m : members) {
            m.svc.close();
            m.transport.close();
            m.store.close();
            m.dev.close();
        }
    }

    /** What the client wrote and got acknowledged: block -> CRC32C of its 4 KiB (the newest acknowledged write wins). */
    static final class Workload {
        final Map<Long, Set<Integer>> ackedBlocks = new HashMap<>();
        final AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger(), otherStatus = new AtomicInteger();

        /** Runs {@code writes} random writes (4-64 KiB) with 16 in flight; {@code midway} runs once half are done. */
        void run(VDisk d, int writes, long seed, Runnable midway) throws Exception {
            Random r = new Random(seed);
            Semaphore inFlight = new Semaphore(16);
            CountDownLatch done = new CountDownLatch(writes);
            try (Arena a = Arena.ofShared()) {
                for (int w = 0; w < writes; w++) {
                    if (w == writes / 2 && midway != null) {
                        inFlight.acquire(16);
                        midway.run();
                        inFlight.release(16);
                    }
                    int blocks = 1 + r.nextInt(16);
                    long off = (long) r.nextInt((int) (VDISK / 4096 - blocks)) * 4096;
                    MemorySegment buf = a.allocate(blocks * 4096L, 4096);
                    for (long k = 0; k < buf.byteSize(); k += 8) buf.set(ValueLayout.JAVA_LONG, k, r.nextLong());
                    int[] crcs = new int[blocks];
                    for (int b = 0; b < blocks; b++) crcs[b] = TestBatches.crc(buf, b * 4096L, 4096);
                    inFlight.acquire();
                    int st = d.write(off, buf, blocks * 4096, w, (tag, s) -> {
                        if (s == VDiskStatus.OK) {
                            synchronized (ackedBlocks) {
                                for (int b = 0; b < blocks; b++) ackedBlocks.computeIfAbsent(off / 4096 + b, k -> new HashSet<>()).add(crcs[b]);
                            }
                            ok.incrementAndGet();
                        } else if (s == VDiskStatus.IO_ERROR) failed.incrementAndGet();
                        else otherStatus.incrementAndGet();
                        inFlight.release();
                        done.countDown();
                    });
                    if (st != VDiskStatus.OK) {
                        otherStatus.incrementAndGet();
                        inFlight.release();
                        done.countDown();
                    }
                }
                assertTrue(done.await(60, TimeUnit.SECONDS), "writes did not complete");
            }
        }
    }

    /**
     * Every batch the owner acknowledged is held by exactly RF-1 peers, byte for byte (checksum of the
     * batch read back from each replica store, then every entry's checksum verified); and every block
     * the client got acknowledged is, with its data, in acknowledged batches on at least RF-1 peers.
     */
    static void verify(Member owner, Map<String, Member> byId, int rf, Workload w) {
        Map<String, Map<Long, Set<Integer>>> held = new HashMap<>();
        Map<String, Map<String, ReplicaSegment>> segs = new HashMap<>();
        CRC32C crc = new CRC32C();
        int batches = 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(OpLogBatchView.MAX_BATCH, 4096);
            for (Acked b : owner.acked) {
                batches++;
                assertEquals(rf - 1, b.peers().size(), "batch " + b + " acknowledged with " + b.peers());
                for (String p : b.peers()) {
                    Member m = byId.get(p);
                    Map<String, ReplicaSegment> s = segs.computeIfAbsent(p, k -> {
                        Map<String, ReplicaSegment> x = new HashMap<>();
                        for (ReplicaSegment r : m.svc.list()) x.put(ReplicaService.key(r.owner(), r.vdisk(), r.shard(), r.segment()), r);
                        return x;
                    });
                    ReplicaSegment rs = s.get(ReplicaService.key(owner.id, b.vdisk(), b.shard(), b.segment()));
                    assertNotNull(rs, "peer " + p + " has no segment for " + b);
                    m.svc.read(rs, b.offset(), buf, b.bytes());
                    assertEquals(b.crc(), TestBatches.crc(buf, 0, b.bytes()), "peer " + p + " holds other bytes for " + b);
                    assertEquals(OpLogBatchView.OK, OpLogBatchView.verify(buf, buf.asByteBuffer(), 0, b.bytes(), crc));
                    Map<Long, Set<Integer>> h = held.computeIfAbsent(p, k -> new HashMap<>());
                    int at = 0;
                    for (int i = 0; i < OpLogBatchView.count(buf, 0); i++) {
                        int n = OpLogBatchView.blocks(buf, 0, i);
                        if (OpLogBatchView.flags(buf, 0, i) != 0) continue;
                        for (int k = 0; k < n; k++)
                            h.computeIfAbsent(OpLogBatchView.block(buf, 0, i) + k, x -> new HashSet<>())
                                    .add(TestBatches.crc(buf, 4096L * (1 + at + k), 4096));
                        at += n;
                    }
                }
            }
        }
        assertTrue(batches > 0, "no batch acknowledged");
        int checked = 0;
        for (var e : w.ackedBlocks.entrySet()) {
            for (int c : e.getValue()) {
                int copies = 0;
                for (Map<Long, Set<Integer>> h : held.values()) {
                    Set<Integer> s = h.get(e.getKey());
                    if (s != null && s.contains(c)) copies++;
                }
                assertTrue(copies >= rf - 1, "block " + e.getKey() + " acknowledged with " + copies + " replica copies");
                checked++;
            }
        }
        assertTrue(checked > 0);
    }

    @Test
    void rf2OnThreeNodes() throws Exception {
        Map<String, Member> byId = cluster(3, 2);
        Member a = byId.get("A"), b = byId.get("B");
        VDisk da = a.stargate.create("va", VDISK), db = b.stargate.create("vb", VDISK);
        Workload wa = new Workload(), wb = new Workload();
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                wb.run(db, 150, 2, null);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        wa.run(da, 300, 1, null);
        other.join();
        assertEquals(300, wa.ok.get());
        assertEquals(150, wb.ok.get());
        verify(a, byId, 2, wa);
        verify(b, byId, 2, wb);
        assertEquals(0, a.replication.batchesFailed());
    }

    @Test
    void rf3OnThreeNodes() throws Exception {
        Map<String, Member> byId = cluster(3, 3);
        Member a = byId.get("A");
        Workload w = new Workload();
        w.run(a.stargate.create("va", VDISK), 300, 3, null);
        assertEquals(300, w.ok.get());
        verify(a, byId, 3, w);
        // the data reads back through the vDisk too
        assertTrue(byId.get("B").svc.batchesStored() > 0 && byId.get("C").svc.batchesStored() > 0);
    }

    /** RF2: the peer shard 0 replicates to is closed midway; its batches go to the other peer, no write fails or is lost. */
    @Test
    void rf2SurvivesAPeerClosedMidway() throws Exception {
        Map<String, Member> byId = cluster(3, 2);
        Member a = byId.get("A");
        Workload w = new Workload();
        String[] killed = new String[1];
        w.run(a.stargate.create("va", VDISK), 400, 4, () -> {
            Acked last = null;
            for (Acked x : a.acked) if (x.shard() == 0) last = x;
            killed[0] = last == null ? "B" : last.peers().get(0);
            byId.get(killed[0]).svc.close();
        });
        assertEquals(400, w.ok.get(), "failed " + w.failed.get() + ", other " + w.otherStatus.get());
        verify(a, byId, 2, w);
        long after = a.acked.stream().filter(x -> x.shard() == 0 && x.peers().contains(killed[0])).count();
        long total = a.acked.stream().filter(x -> x.shard() == 0).count();
        assertTrue(after < total, "shard 0 moved to the surviving peer");
    }

    /** RF3 on three nodes: with one peer closed no batch can reach RF, so writes fail; none acknowledged below RF. */
    @Test
    void rf3FailsWritesRatherThanAcknowledgeBelowRf() throws Exception {
        Map<String, Member> byId = cluster(3, 3);
        Member a = byId.get("A");
        Workload w = new Workload();
        w.run(a.stargate.create("va", VDISK), 200, 5, () -> byId.get("C").svc.close());
        assertTrue(w.ok.get() >= 100, "the first half was acknowledged: " + w.ok.get());
        assertTrue(w.failed.get() > 0, "writes after the peer left must fail");
        assertEquals(0, w.otherStatus.get());
        verify(a, byId, 3, w);
        assertTrue(a.replication.batchesFailed() > 0);
    }
}
