package io.dsf.stargate.replication;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.dsf.stargate.replication.ReplicationDescriptor.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The replica side of the drain: batches with overwrites, write-zeroes and unmaps across several
 * segments of one stream are drained into the replica's image, the segments go, and a pull returns,
 * block by block, exactly the newest version with its sequence (image entries and covered ranges);
 * the same after a restart and after more batches; a drain stopped between its image and its ranges
 * (a crash there) still pulls right, is redone by the next drain, and a damaged image block is left
 * out only while the log holds a newer or equal entry of it. Bases free the image below them.
 */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicaDrainTest {
    static final long VD = 9, SEG = 256L << 10;
    static final int SHARD = 1;
    static final long[] VBLOCKS = {1, 3, 5, 7}; // shard 1 of 2
    static final String OWNER = "nodeA";
    static final ReplicaVDisk META = new ReplicaVDisk(OWNER, VD, "d0", 64L << 20, 2, false, 0);

    RdmaTransport transport;
    BlockDevice dev;
    BlockStore store;
    ReplicaService svc;

    /** block -> {seq, kind (1 data, 2 zero), crc} of its newest version sent. */
    final Map<Long, long[]> model = new HashMap<>();
    long nextSeq = 1, segment, offset;
    final Random rnd = new Random(42);

    @BeforeEach
    void up() throws Exception {
        transport = Transports.open("tcp");
        dev = BlockDevices.open("mem:128m");
        store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        start();
    }

    void start() throws Exception {
        svc = ReplicaService.start(transport, dev, store, new InetSocketAddress("127.0.0.1", 0), 8, ReplicaService.DrainPolicy.OFF);
    }

    @AfterEach
    void down() {
        ReplicaDrain.stopBeforeRanges = false;
        if (svc != null) svc.close();
        if (store != null) store.close();
        if (dev != null) dev.close();
        if (transport != null) transport.close();
    }

    InetSocketAddress at() { return new InetSocketAddress("127.0.0.1", svc.address().getPort()); }

    /** Sends the vDisk's metadata, then {@code batches} random batches of shard 1 (the model follows), in 256 KiB segments. */
    void feed(int batches) throws Exception {
        try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
            int n = META.encode(o.send, 0);
            o.post(o.seal(TYPE_META, n, 0, VD, SHARD, 0, 0, 0, OWNER));
            for (int b = 0; b < batches; b++) {
                int entries = 1 + rnd.nextInt(4);
                long[] blocks = new long[entries];
                int[] counts = new int[entries];
                boolean[] zero = new boolean[entries];
                for (int i = 0; i < entries; i++) {
                    long vb = VBLOCKS[rnd.nextInt(VBLOCKS.length)];
                    counts[i] = 1 + rnd.nextInt(6);
                    blocks[i] = vb * 256 + rnd.nextInt(40 - counts[i]); // a few blocks per vBlock: many overwrites
                    zero[i] = rnd.nextInt(100) < 30; // write-zeroes and unmaps: both a zero entry
                }
                int len = TestBatches.build(o.send, 77, nextSeq, blocks, counts, zero, rnd.nextInt());
                if (offset + len > SEG) {
                    segment++;
                    offset = 0;
                }
                int slice = 0;
                for (int i = 0; i < entries; i++) {
                    for (int k = 0; k < counts[i]; k++) {
                        int crc = zero[i] ? ReplicaDrain.ZERO_CRC : TestBatches.crc(o.send, 4096L * (1 + slice + k), 4096);
                        model.put(blocks[i] + k, new long[]{nextSeq + i, zero[i] ? 2 : 1, crc});
                    }
                    if (!zero[i]) slice += counts[i];
                }
                o.post(o.seal(TYPE_BATCH, len, b, VD, SHARD, segment, offset, SEG, OWNER));
                assertEquals(TYPE_ACK, o.answer().type(), "batch " + b);
                nextSeq += entries;
                offset += len;
            }
        }
    }

    /** What one pull returns. */
    static final class Pulled {
        final Map<Long, long[]> blocks = new HashMap<>();
        final SeqCoverage coverage = new SeqCoverage();
        long[] ranges = new long[0];
        int batches, images;
    }

    Pulled pull() throws Exception {
        Pulled r = new Pulled();
        try (ReplicaPuller p = new ReplicaPuller(transport, "svc", at(), TimeUnit.SECONDS.toNanos(20))) {
            assertEquals(META, p.start(OWNER, "d0"));
            for (int k; (k = p.next()) != ReplicaPuller.END; ) {
                if (k == ReplicaPuller.BASE) continue;
                assertEquals(SHARD, p.shard());
                if (k == ReplicaPuller.COVERED) {
                    r.ranges = p.ranges();
                    r.coverage.addRanges(r.ranges);
                    continue;
                }
                if (k == ReplicaPuller.IMAGE) r.images++;
                else r.batches++;
                MemorySegment b = p.batch();
                int slice = 0;
                for (int i = 0; i < OpLogBatchView.count(b, 0); i++) {
                    long seq = OpLogBatchView.seq(b, 0, i), block = OpLogBatchView.block(b, 0, i);
                    boolean zero = OpLogBatchView.flags(b, 0, i) == OpLogBatchView.FLAG_ZERO;
                    r.coverage.add(seq);
                    for (int j = 0; j < OpLogBatchView.blocks(b, 0, i); j++) {
                        long[] had = r.blocks.get(block + j);
                        if (had != null && had[0] >= seq) continue;
                        int crc = zero ? ReplicaDrain.ZERO_CRC : TestBatches.crc(b, 4096L * (1 + slice + j), 4096);
                        r.blocks.put(block + j, new long[]{seq, zero ? 2 : 1, crc});
                    }
                    if (!zero) slice += OpLogBatchView.blocks(b, 0, i);
                }
            }
        }
        return r;
    }

    void assertPullMatchesModel(Pulled r, String when) {
        assertEquals(model.keySet(), r.blocks.keySet(), when + ": blocks");
        for (Map.Entry<Long, long[]> e : model.entrySet())
            assertArrayEquals(e.getValue(), r.blocks.get(e.getKey()), when + ": block " + e.getKey() + " (seq, kind, crc)");
        assertArrayEquals(new long[0], r.coverage.holes(1, 4), when + ": every sequence accounted for");
        assertEquals(nextSeq - 1, r.coverage.max(), when + ": up to the last");
    }

    List<ReplicaSegment> segments() { return svc.list(); }

    ReplicaService.StreamStatus status() {
        return svc.streams().stream().filter(s -> s.owner().equals(OWNER) && s.vdisk() == VD && s.shard() == SHARD).findFirst().orElseThrow();
    }

    @Test
    void drainedBatchesPullAsTheNewestVersionOfEachBlock() throws Exception {
        feed(120);
        assertTrue(segments().size() >= 4, "several segments: " + segments().size());
        Pulled before = pull();
        assertEquals(0, before.images, "nothing drained yet");
        assertPullMatchesModel(before, "from the log");

        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        assertEquals(List.of(), segments(), "every drained segment deleted");
        ReplicaService.StreamStatus st = status();
        assertArrayEquals(new long[]{1, nextSeq - 1}, st.drainedRanges());
        assertEquals(model.size(), st.imageBlocks());
        assertEquals(VBLOCKS.length, st.imageVBlocks());
        Pulled after = pull();
        assertEquals(0, after.batches, "no batch left");
        assertTrue(after.images >= VBLOCKS.length, "image batches: " + after.images);
        assertArrayEquals(new long[]{1, nextSeq - 1}, after.ranges);
        assertPullMatchesModel(after, "from the image");
        List<ReplicaService.ImageBlock> listed = svc.imageBlocks(OWNER, VD, SHARD);
        assertEquals(model.size(), listed.size());
        for (ReplicaService.ImageBlock b : listed) {
            assertEquals(model.get(b.block())[0], b.seq(), "listed seq of block " + b.block());
            assertEquals((int) model.get(b.block())[2], b.crc(), "listed CRC of block " + b.block());
        }

        // a restart: the image and ranges are read back; more batches overwrite it; drained again (max-seq-wins)
        svc.close();
        start();
        assertPullMatchesModel(pull(), "after a restart");
        feed(60);
        assertPullMatchesModel(pull(), "image plus log");
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        assertEquals(List.of(), segments());
        assertArrayEquals(new long[]{1, nextSeq - 1}, status().drainedRanges());
        assertPullMatchesModel(pull(), "drained twice");
    }

    @Test
    void aDrainStoppedBeforeItsRangesIsRedoneAndPullsRightMeanwhile() throws Exception {
        feed(60);
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        long drainedUpTo = nextSeq - 1;
        feed(60);
        int held = segments().size();
        assertTrue(held > 0);
        ReplicaDrain.stopBeforeRanges = true; // the image and tables are durable, the ranges never written: a crash there
        assertTrue(svc.drainNow(30, TimeUnit.SECONDS) > 0, "the drain reports its failure");
        assertEquals(held, segments().size(), "nothing deleted");
        ReplicaDrain.stopBeforeRanges = false;
        svc.close();
        store.close();
        store = BlockStore.open(dev);
        start();
        Pulled meanwhile = pull();
        assertArrayEquals(new long[]{1, drainedUpTo}, meanwhile.ranges, "the ranges are the first drain's");
        assertTrue(meanwhile.batches > 0 && meanwhile.images > 0);
        assertPullMatchesModel(meanwhile, "after the stopped drain");

        // an image block the stopped drain wrote is damaged: its log entry (same sequence) stands in for it
        long victim = -1;
        for (Map.Entry<Long, long[]> e : model.entrySet())
            if (e.getValue()[0] > drainedUpTo && e.getValue()[1] == 1) victim = e.getKey();
        assertTrue(victim >= 0);
        damage(victim);
        assertPullMatchesModel(pull(), "a damaged image block the log supersedes");

        // the next drain redoes the work (the damaged block is written again), records the ranges, deletes the segments
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        assertEquals(List.of(), segments());
        Pulled redone = pull();
        assertEquals(0, redone.batches);
        assertArrayEquals(new long[]{1, nextSeq - 1}, redone.ranges);
        assertPullMatchesModel(redone, "redone");

        // damaged with nothing in the log to stand in: the replica refuses the pull rather than serve a wrong block
        damage(victim);
        ReplicaPuller.PullException ex = assertThrows(ReplicaPuller.PullException.class, this::pull);
        assertTrue(ex.getMessage().contains("store"), ex.getMessage());
    }

    /** Overwrites block {@code block}'s 4 KiB in its image object with other bytes (the store's own checksum stays valid). */
    void damage(long block) {
        StoreObject o = null;
        for (StoreObject x : store.objects()) {
            Map<String, byte[]> a = store.attributes(x);
            if (new String(a.getOrDefault("t", new byte[0]), StandardCharsets.US_ASCII).equals(ReplicaImage.BLOCK_TYPE)
                    && ReplicaService.u64(a.get("vb")) == block >>> 8) o = x;
        }
        assertNotNull(o, "the image object of block " + block);
        try (StoreChannel c = store.openChannel(4, 1 << 20, 1, (t, s) -> { })) {
            MemorySegment buf = c.buffers().buffer(c.buffers().acquire());
            buf.asSlice(0, 4096).fill((byte) 0x5a);
            c.writeBlocking(o, (block & 255) * 4096, buf, 4096);
            c.syncBlocking();
        }
    }

    @Test
    void aBaseHidesAndFreesTheImageBelowIt() throws Exception {
        feed(80);
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        long base = nextSeq / 2;
        try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
            o.post(o.seal(TYPE_BASE, 0, base, VD, SHARD, 0, 0, 0, OWNER));
            assertEquals(TYPE_ACK, o.answer().type());
        }
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS)); // waits for the freeing too
        Pulled r = pull();
        for (Map.Entry<Long, long[]> e : model.entrySet()) {
            if (e.getValue()[0] < base) assertNull(r.blocks.get(e.getKey()), "block " + e.getKey() + " below the base is not served");
            else assertArrayEquals(e.getValue(), r.blocks.get(e.getKey()), "block " + e.getKey());
        }
        assertArrayEquals(new long[0], r.coverage.holes(base, 4));
        // everything below a base past the last sequence: the image goes
        try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
            o.post(o.seal(TYPE_BASE, 0, nextSeq, VD, SHARD, 0, 0, 0, OWNER));
            assertEquals(TYPE_ACK, o.answer().type());
        }
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        assertEquals(0, status().imageVBlocks());
        assertEquals(0, status().imageBlocks());
        assertTrue(pull().blocks.isEmpty());
        for (StoreObject x : store.objects()) {
            String t = new String(store.attributes(x).getOrDefault("t", new byte[0]), StandardCharsets.US_ASCII);
            assertFalse(t.equals(ReplicaImage.BLOCK_TYPE) || t.equals(ReplicaImage.TABLE_TYPE), "image object left: " + t);
        }
    }

    /** IMAGE and COVERED are answers to a puller: sent to a replica they reset the connection, nothing written. */
    @Test
    void imageMessagesSentToAReplicaResetTheConnection() throws Exception {
        feed(4);
        long resets = svc.connectionsReset();
        for (int type : new int[]{TYPE_IMAGE, TYPE_COVERED}) {
            try (TestBatches.Owner o = new TestBatches.Owner(transport, at())) {
                int len = type == TYPE_IMAGE ? TestBatches.build(o.send, 1, 1, new long[]{256}, new int[]{1}, 1) : 24;
                o.post(o.seal(type, len, 1, VD, SHARD, 1, 0, 0, OWNER));
                assertNull(o.answer(), typeName(type) + ": reset");
            }
        }
        assertEquals(resets + 2, svc.connectionsReset());
        assertPullMatchesModel(pull(), "the service goes on");
    }

    /**
     * A replica played by hand answers a puller's PULL with META and its NEXT with one crafted message:
     * a good IMAGE and COVERED are taken; a malformed one (ranges out of order, overlapping, not positive,
     * a bad checksum, a count the payload does not hold; an image entry outside its vBlock, a data
     * checksum that does not match, a vBlock of another shard) makes the puller throw.
     */
    @Test
    void thePullerRejectsMalformedImagesAndRanges() throws Exception {
        ReplicaVDisk meta = new ReplicaVDisk(OWNER, VD, "d0", 64L << 20, 2, false, 0);
        String[] cases = {"good image", "good ranges", "ranges out of order", "ranges overlapping", "ranges from 0", "ranges checksum",
                "ranges truncated", "image entry outside", "image data checksum", "image of another shard"};
        for (String kase : cases) {
            try (io.dsf.rdma.api.RdmaListener l = transport.listen(new InetSocketAddress("127.0.0.1", 0));
                 io.dsf.rdma.api.CompletionQueue cq = transport.createCompletionQueue(32);
                 java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
                MemorySegment buf = a.allocate(ReplicationDescriptor.RECV_BUFFER, 4096);
                io.dsf.rdma.api.MemoryRegion mr = transport.register(buf, io.dsf.rdma.api.Access.LOCAL_WRITE);
                Thread server = Thread.ofPlatform().start(() -> {
                    try {
                        io.dsf.rdma.api.Endpoint e = l.accept(cq, new io.dsf.rdma.api.EndpointOptions(4, 2, 1 << 20), TimeUnit.SECONDS.toNanos(10));
                        ReplicationFrame f = new ReplicationFrame();
                        io.dsf.rdma.api.Completions comps = new io.dsf.rdma.api.Completions(8);
                        for (int step = 0; step < 2; step++) {
                            e.postRecv(mr, 0, ReplicationDescriptor.RECV_BUFFER, 1);
                            int got = -1;
                            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                            while (got < 0 && System.nanoTime() < deadline) {
                                int k = cq.await(comps, TimeUnit.MILLISECONDS.toNanos(50));
                                for (int i = 0; i < k; i++) if (comps.wrId(i) == 1) got = comps.isSuccess(i) ? comps.byteLength(i) : 0;
                            }
                            if (got < ReplicationDescriptor.TRAILER) break;
                            long req = f.wrap(buf, buf.asByteBuffer(), got - ReplicationDescriptor.TRAILER).batchId();
                            int len, type = TYPE_META;
                            long seg = 0;
                            int shard = 0;
                            if (step == 0) len = meta.encode(buf, 0);
                            else {
                                shard = SHARD;
                                if (kase.contains("ranges")) {
                                    type = TYPE_COVERED;
                                    long[] pairs = switch (kase) {
                                        case "ranges out of order" -> new long[]{5, 6, 3, 4};
                                        case "ranges overlapping" -> new long[]{1, 5, 5, 7};
                                        case "ranges from 0" -> new long[]{0, 4};
                                        default -> new long[]{1, 4, 6, 9};
                                    };
                                    int n = pairs.length / 2;
                                    buf.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, kase.equals("ranges truncated") ? n + 1 : n);
                                    for (int i = 0; i < pairs.length; i++) buf.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8 + 8L * i, pairs[i]);
                                    int crc = TestBatches.crc(buf, 8, 16L * n);
                                    buf.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 4, kase.equals("ranges checksum") ? crc ^ 1 : crc);
                                    len = 8 + 16 * n;
                                } else {
                                    type = TYPE_IMAGE;
                                    seg = kase.equals("image of another shard") ? 2 : 3;
                                    long first = kase.equals("image entry outside") ? 3 * 256 + 254 : 3 * 256 + 10;
                                    len = TestBatches.build(buf, seg, 12, new long[]{first, 3 * 256 + 100}, new int[]{4, 1}, 7);
                                    if (kase.equals("image data checksum")) buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 4096 + 9, (byte) 1);
                                }
                            }
                            f.wrap(buf, buf.asByteBuffer(), len).encode(type, 0, len, req, VD, shard, seg, 0, 0, OWNER.getBytes(StandardCharsets.US_ASCII));
                            e.postSend(mr, 0, len + ReplicationDescriptor.TRAILER, 2);
                        }
                        cq.await(comps, TimeUnit.MILLISECONDS.toNanos(200));
                        e.close();
                    } catch (Exception x) {
                        throw new IllegalStateException(x);
                    }
                });
                try (ReplicaPuller p = new ReplicaPuller(transport, "fake", new InetSocketAddress("127.0.0.1", l.localAddress().getPort()),
                        TimeUnit.SECONDS.toNanos(10))) {
                    assertEquals(meta, p.start(OWNER, "d0"));
                    if (kase.equals("good image")) {
                        assertEquals(ReplicaPuller.IMAGE, p.next());
                        assertEquals(3, p.vblock());
                        assertEquals(SHARD, p.shard());
                    } else if (kase.equals("good ranges")) {
                        assertEquals(ReplicaPuller.COVERED, p.next());
                        assertArrayEquals(new long[]{1, 4, 6, 9}, p.ranges());
                    } else {
                        assertThrows(ReplicaPuller.PullException.class, p::next, kase);
                    }
                } finally {
                    server.join(15_000);
                    mr.close();
                }
            }
        }
    }

    /** The policy drains by itself: past a threshold of undrained bytes while batches arrive, and when idle. */
    @Test
    void drainsByThresholdAndWhenIdle() throws Exception {
        svc.close();
        svc = ReplicaService.start(transport, dev, store, new InetSocketAddress("127.0.0.1", 0), 8,
                new ReplicaService.DrainPolicy(128L << 10, 0));
        feed(60);
        awaitTrue(() -> svc.drainsDone() > 0, "a drain past the threshold");
        assertEquals(0, svc.drainNow(30, TimeUnit.SECONDS));
        assertPullMatchesModel(pull(), "threshold drains");
        svc.close();
        svc = ReplicaService.start(transport, dev, store, new InetSocketAddress("127.0.0.1", 0), 8,
                new ReplicaService.DrainPolicy(0, TimeUnit.MILLISECONDS.toNanos(200)));
        feed(30);
        awaitTrue(() -> segments().isEmpty(), "an idle drain of every segment");
        assertPullMatchesModel(pull(), "idle drain");
    }

    static void awaitTrue(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what + " within 30 s");
            Thread.sleep(20); // polling a condition with a deadline, not a timing assumption
        }
    }
}
