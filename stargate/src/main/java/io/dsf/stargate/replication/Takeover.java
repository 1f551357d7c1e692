package io.dsf.stargate.replication;

import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.VDiskController;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongHashSet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

/**
 * Takes over a vDisk whose owner node died, from the replicas of its OpLog batches: pulls (owner,
 * vDisk) from every reachable source ({@link ReplicaPuller}; this node's own replica service is
 * one of them), drops duplicate batches (RF3 holds two copies), keeps for each 4 KiB block the entry
 * with the highest sequence number (write-zeroes included), checks that every shard's sequence
 * numbers run without a hole from its base (below), then creates a vDisk of the same name, size and shard count on
 * this node's Stargate and writes the winning data (and zeroes) through the {@link VDisk} API: with
 * replication on, the new vDisk is protected by this node's own RF from its first write.
 *
 * <p>Base: a source may hold a base B for a shard (the owner re-replicated the shard, so every
 * block's newest value is in an entry with seq &ge; B, or the block is zero; {@link ReplicaPuller#BASE}).
 * The shard's base is the highest over all sources (0: none); its entries below it are ignored
 * (they may have been deleted anywhere), the hole check runs from it (from 1 without one), and a
 * block with no entry at or above it is zero.
 *
 * <p>It refuses (a {@link TakeoverException}, nothing created) when the name exists here, the owner
 * still answers, too many peers are unreachable for the RF (they may hold the only copy of a
 * batch), no source holds the vDisk, the sources disagree on its metadata, a sequence number was
 * used twice with different content, or some shard's sequence has a hole. Pulled data is spilled
 * to a temporary file (deleted afterwards) so memory stays bounded by the block index.
 *
 * <p>Control plane: {@link #run} blocks the calling thread; {@link Progress} is read by any thread.
 */
public final class Takeover {
    private Takeover() {}

    static final int BLOCK = 4096;
    private static final int RUN_BLOCKS = 256, IN_FLIGHT = 8;
    private static final long CONNECT_NANOS = TimeUnit.SECONDS.toNanos(3), ANSWER_NANOS = TimeUnit.SECONDS.toNanos(60);

    /** The takeover was refused or failed; the message says why. */
    public static final class TakeoverException extends Exception {
        public TakeoverException(String m) { super(m); }
        public TakeoverException(String m, Throwable cause) { super(m, cause); }
    }

    /** How far a takeover got: written by the thread running it, read by any thread. */
    public static final class Progress {
        public final String owner, vdisk;
        volatile String phase = "starting";
        volatile long batches, duplicates, blocksTotal, blocksDone;

        public Progress(String owner, String vdisk) {
            this.owner = owner;
            this.vdisk = vdisk;
        }

        /** "pulling", "writing", "done" or "failed". */
        public String phase() { return phase; }
        /** Distinct batches pulled so far, and copies of them dropped. */
        public long batches() { return batches; }
        public long duplicates() { return duplicates; }
        /** Blocks to write (known once pulling is done) and blocks written so far. */
        public long blocksTotal() { return blocksTotal; }
        public long blocksDone() { return blocksDone; }
    }

    /**
     * What a takeover did: the vDisk's metadata, the sources that held it, those unreachable, those
     * declared lost (not contacted), the batches used and dropped as copies, the blocks written with
     * data and with zeroes, and per shard the highest sequence number used (0: none, at or above the
     * base) and the base (0: none; entries below it were ignored).
     */
    public record Result(ReplicaVDisk vdisk, List<String> sources, List<String> unreachable, List<String> lost, long batches,
                         long duplicates, long dataBlocks, long zeroBlocks, long[] lastSeq, long[] bases) {}

    /**
     * The vDisk catalog shard replicators send to their peers ({@code META}), read from {@code sg}'s
     * catalog. Thread safe.
     */
    public static Replication.VDiskCatalog catalog(Stargate sg, String nodeId) {
        return id -> {
            for (Stargate.Info i : sg.list()) {
                VDiskController c = sg.controller(i.name());
                if (c == null || c.id() != id) continue;
                long parent = 0;
                if (i.parent() != null) {
                    VDiskController p = sg.controller(i.parent());
                    parent = p != null ? p.id() : Long.MAX_VALUE; // a parent by number only: still marks a clone
                }
                return new ReplicaVDisk(nodeId, id, i.name(), i.size(), i.shards(), i.readOnly(), parent);
            }
            return null;
        };
    }

    /**
     * Takes over {@code owner}'s vDisk {@code name} into {@code sg}.
     *
     * @param sources  where to pull from: this node's replica service and its peers (the owner, if listed, is
     *                 only checked to be dead)
     * @param rf       the cluster's replication factor: with {@code rf - 1} or more non-owner sources
     *                 unreachable a batch may be on none of the others, so the takeover refuses
     * @param spillDir where the pulled data is spilled while the winners are chosen
     */
    public static Result run(Stargate sg, RdmaTransport transport, String owner, String name, List<PeerAddress> sources, int rf,
                             Path spillDir, Progress progress) throws TakeoverException {
        return run(sg, transport, owner, name, sources, rf, Set.of(), spillDir, progress);
    }

    /**
     * Takes over {@code owner}'s vDisk {@code name} into {@code sg}, with some nodes declared lost.
     *
     * @param sources  where to pull from: this node's replica service and its peers (the owner, if listed, is
     *                 only checked to be dead)
     * @param rf       the cluster's replication factor: with {@code rf - 1} or more non-owner sources
     *                 unreachable a batch may be on none of the others, so the takeover refuses
     * @param lost     node ids the operator declared lost for good: not contacted and not counted as
     *                 unreachable (the hole check still refuses when they held the only copy of something
     *                 at or above a shard's base); the owner, even if named, is still checked to be dead
     * @param spillDir where the pulled data is spilled while the winners are chosen
     */
    public static Result run(Stargate sg, RdmaTransport transport, String owner, String name, List<PeerAddress> sources, int rf,
                             Set<String> lost, Path spillDir, Progress progress) throws TakeoverException {
        try {
            Result r = pullAndWrite(sg, transport, owner, name, sources, rf, Set.copyOf(lost), spillDir, progress);
            progress.phase = "done";
            return r;
        } catch (TakeoverException | RuntimeException e) {
            progress.phase = "failed";
            throw e;
        }
    }

    private static Result pullAndWrite(Stargate sg, RdmaTransport transport, String owner, String name, List<PeerAddress> sources,
                                       int rf, Set<String> lost, Path spillDir, Progress progress) throws TakeoverException {
        PeerAddress.checkId(owner);
        if (!ReplicaVDisk.validName(name)) throw new TakeoverException("not a vDisk name: " + name);
        if (sg.vdisk(name) != null) throw new TakeoverException("vDisk " + name + " already exists on this node");
        progress.phase = "pulling";
        List<String> unreachable = new ArrayList<>(), lostSources = new ArrayList<>();
        List<ReplicaPuller> pullers = new ArrayList<>();
        try {
            for (PeerAddress p : sources) {
                if (p.id().equals(owner)) {
                    try (ReplicaPuller alive = new ReplicaPuller(transport, p.id(), p.socketAddress(), CONNECT_NANOS)) {
                        throw new TakeoverException("owner " + owner + " answers at " + p.host() + ":" + p.port()
                                + ": it is alive; take over only from a dead owner");
                    } catch (RdmaException e) {
                        continue; // dead, as it should be
                    }
                }
                if (lost.contains(p.id())) { // declared lost: not contacted, not counted
                    if (!lostSources.contains(p.id())) lostSources.add(p.id());
                    continue;
                }
                try {
                    pullers.add(new ReplicaPuller(transport, p.id(), p.socketAddress(), CONNECT_NANOS, ANSWER_NANOS));
                } catch (RdmaException e) {
                    unreachable.add(p.id());
                }
            }
            if (rf > 1 && unreachable.size() >= rf - 1)
                throw new TakeoverException("peers " + unreachable + " are unreachable: with RF" + rf + " they may hold the only copy of some"
                        + " of " + owner + "'s batches; bring them back first");
            // every source's metadata; the newest vDisk of the name wins
            List<ReplicaPuller> holding = new ArrayList<>();
            List<ReplicaVDisk> metas = new ArrayList<>();
            for (ReplicaPuller p : pullers) {
                ReplicaVDisk m = p.start(owner, name);
                if (m == null) continue;
                holding.add(p);
                metas.add(m);
            }
            if (metas.isEmpty())
                throw new TakeoverException("no reachable node holds vDisk " + name + " of " + owner + " (sources: "
                        + pullers.stream().map(ReplicaPuller::peer).toList() + ", unreachable: " + unreachable + ")");
            ReplicaVDisk vd = metas.get(0);
            for (ReplicaVDisk m : metas) if (m.id() > vd.id()) vd = m;
            List<String> used = new ArrayList<>();
            for (int i = 0; i < metas.size(); i++) {
                ReplicaVDisk m = metas.get(i);
                if (m.id() != vd.id()) continue;
                if (!m.equals(vd)) throw new TakeoverException("sources disagree on vDisk " + name + ": " + vd + " vs " + m + " (" + holding.get(i).peer() + ")");
                used.add(holding.get(i).peer());
            }
            if (vd.parent() != 0)
                throw new TakeoverException("vDisk " + name + " is a clone: its parent's data is not replicated, so it cannot be taken over");
            Index idx = new Index(vd);
            Path spill = Files.createTempFile(spillDir, "takeover-" + name + "-", ".spill");
            try (FileChannel fc = FileChannel.open(spill, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE)) {
                for (int i = 0; i < holding.size(); i++) {
                    if (metas.get(i).id() != vd.id()) continue;
                    ReplicaPuller p = holding.get(i);
                    for (int r; (r = p.next()) != ReplicaPuller.END; ) {
                        if (r == ReplicaPuller.BASE) idx.raiseBase(p.shard(), p.base());
                        else if (r == ReplicaPuller.COVERED) idx.covered[p.shard()].addRanges(p.ranges());
                        else if (r == ReplicaPuller.IMAGE) idx.addImage(p, fc, progress);
                        else idx.add(p, fc, progress);
                    }
                }
                idx.checkGaps();
                return write(sg, vd, idx, fc, progress, used, unreachable, lostSources);
            } finally {
                Files.deleteIfExists(spill);
            }
        } catch (ReplicaPuller.PullException e) {
            throw new TakeoverException("pull failed: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new TakeoverException("spill file: " + e.getMessage(), e);
        } finally {
            for (ReplicaPuller p : pullers) p.close();
        }
    }

    /** The winning entry of every block seen, the sequence numbers of each shard and the distinct batches. */
    private static final class Index {
        final ReplicaVDisk vd;
        final long blocks;
        /** block -> highest seq seen; block -> spill offset of its data, or -1 for zeroes. */
        final Long2LongHashMap winSeq = new Long2LongHashMap(-1), winAt = new Long2LongHashMap(-2);
        final LongHashSet[] seqs;
        /** per shard: the highest base any source holds (0: none); entries below it are ignored. */
        final long[] base;
        /** per shard: first seq of each distinct batch -> the batch's CRC32C. */
        final Long2LongHashMap[] firstSeq;
        /** per shard: what replicas drained (their covered ranges) and the sequences of image entries. */
        final SeqCoverage[] covered;
        final CRC32C crc = new CRC32C();
        long spillEnd, batches, duplicates;

        Index(ReplicaVDisk vd) {
            this.vd = vd;
            this.blocks = vd.size() / BLOCK;
            seqs = new LongHashSet[vd.shards()];
            base = new long[vd.shards()];
            firstSeq = new Long2LongHashMap[vd.shards()];
            covered = new SeqCoverage[vd.shards()];
            for (int s = 0; s < seqs.length; s++) {
                covered[s] = new SeqCoverage();
                seqs[s] = new LongHashSet();
                firstSeq[s] = new Long2LongHashMap(Long.MIN_VALUE);
            }
        }

        /** A source's base for a shard (the puller checked the shard's range and that it is positive). */
        void raiseBase(int shard, long b) {
            if (b > base[shard]) base[shard] = b;
        }

        void add(ReplicaPuller p, FileChannel fc, Progress progress) throws TakeoverException, IOException {
            MemorySegment b = p.batch();
            int len = p.batchBytes(), shard = p.shard();
            int count0 = OpLogBatchView.count(b, 0);
            long newest = 0;
            for (int i = 0; i < count0; i++) newest = Math.max(newest, OpLogBatchView.seq(b, 0, i));
            if (newest < base[shard]) return; // redundant: every entry is below the shard's base as known so far
            crc.reset();
            crc.update(b.asSlice(0, len).asByteBuffer());
            long c = crc.getValue();
            int count = OpLogBatchView.count(b, 0);
            long first = OpLogBatchView.seq(b, 0, 0);
            long had = firstSeq[shard].get(first);
            if (had == c) {
                duplicates++;
                progress.duplicates = duplicates;
                return;
            }
            if (had != Long.MIN_VALUE)
                throw new TakeoverException("shard " + shard + ": two different batches start at sequence " + first + " (" + p.peer()
                        + " segment " + p.segment() + " offset " + p.offset() + "); the owner reused sequence numbers (a restart"
                        + " after its OpLog was drained?), so the order of the writes is unknown");
            for (int i = 0; i < count; i++) {
                long seq = OpLogBatchView.seq(b, 0, i), block = OpLogBatchView.block(b, 0, i);
                int n = OpLogBatchView.blocks(b, 0, i);
                if (seq < 1 || block < 0 || block > blocks - n || (block >>> 8) != ((block + n - 1) >>> 8)
                        || (block >>> 8) % vd.shards() != shard)
                    throw new TakeoverException("shard " + shard + ": batch at " + p.peer() + " segment " + p.segment() + " offset "
                            + p.offset() + " holds an entry outside the shard (seq " + seq + ", blocks " + block + "+" + n + ")");
                if (seq >= base[shard] && seqs[shard].contains(seq))
                    throw new TakeoverException("shard " + shard + ": sequence " + seq + " appears in two different batches (" + p.peer()
                            + " segment " + p.segment() + " offset " + p.offset() + "); the owner reused sequence numbers");
            }
            firstSeq[shard].put(first, c);
            spillAndMerge(b, len, shard, fc, seqs[shard]::add);
            batches++;
            progress.batches = batches;
        }

        /**
         * A synthetic batch of a replica's image: each entry is the newest drained version of its blocks
         * with its own sequence. Its entries join the per-block merge (highest sequence wins) like a
         * batch's, but it is not a batch: no deduplication, and its sequences may repeat what other
         * sources sent (they count as present, as the covered ranges do).
         */
        void addImage(ReplicaPuller p, FileChannel fc, Progress progress) throws TakeoverException, IOException {
            MemorySegment b = p.batch();
            int len = p.batchBytes(), shard = p.shard();
            int count = OpLogBatchView.count(b, 0);
            for (int i = 0; i < count; i++) {
                long block = OpLogBatchView.block(b, 0, i);
                int n = OpLogBatchView.blocks(b, 0, i);
                if (block > blocks - n || (block >>> 8) % vd.shards() != shard)
                    throw new TakeoverException("shard " + shard + ": the image of " + p.peer() + " holds blocks outside the shard or the vDisk ("
                            + block + "+" + n + ")");
            }
            spillAndMerge(b, len, shard, fc, covered[shard]::add);
            imageBatches++;
        }

        /**
         * Spills the data of a batch (or of an image's synthetic batch) to the temporary file and merges
         * its entries at or above the shard's base into the per-block winners (highest sequence wins,
         * zeroes included), adding each such sequence to {@code present}. Entries below the base are
         * spilled but never chosen.
         */
        private void spillAndMerge(MemorySegment b, int len, int shard, FileChannel fc, java.util.function.LongConsumer present) throws IOException {
            int count = OpLogBatchView.count(b, 0);
            long spillAt = spillEnd;
            int data = len - OpLogBatchView.PAGE;
            if (data > 0) {
                var buf = b.asSlice(OpLogBatchView.PAGE, data).asByteBuffer();
                for (long at = spillAt; buf.hasRemaining(); ) at += fc.write(buf, at);
                spillEnd += data;
            }
            int slice = 0;
            for (int i = 0; i < count; i++) {
                long seq = OpLogBatchView.seq(b, 0, i), block = OpLogBatchView.block(b, 0, i);
                int n = OpLogBatchView.blocks(b, 0, i);
                boolean zero = OpLogBatchView.flags(b, 0, i) == OpLogBatchView.FLAG_ZERO;
                if (seq >= base[shard]) {
                    present.accept(seq);
                    for (int k = 0; k < n; k++) {
                        if (seq > winSeq.get(block + k)) {
                            winSeq.put(block + k, seq);
                            winAt.put(block + k, zero ? -1 : spillAt + (long) (slice + k) * BLOCK);
                        }
                    }
                }
                if (!zero) slice += n;
            }
        }

        long imageBatches;

        /**
         * Every shard's sequence numbers must run from its base (1 without one) to its highest without a
         * hole, counting the batches' entries, the images' entries and the ranges replicas drained; entries
         * below the base (a base may have risen after they were indexed) are ignored.
         */
        void checkGaps() throws TakeoverException {
            StringBuilder holes = new StringBuilder();
            for (int s = 0; s < seqs.length; s++) {
                long from = Math.max(1, base[s]);
                SeqCoverage cov = covered[s];
                for (var it = seqs[s].iterator(); it.hasNext(); ) cov.add(it.nextValue());
                String h = SeqCoverage.describe("shard " + s + ": ", cov.holes(from, 4));
                if (!h.isEmpty()) holes.append(holes.length() == 0 ? "" : "; ").append(h);
            }
            if (holes.length() > 0)
                throw new TakeoverException("batches are missing from every reachable replica (" + holes + "): the writes they held"
                        + " are lost or on an unreachable node; refusing to serve partial data");
        }

        /** Whether block {@code b}'s winner is at or above its shard's base (else the block is zero: not written). */
        boolean current(long b) {
            return winSeq.get(b) >= base[(int) ((b >>> 8) % vd.shards())];
        }

        long lastSeq(int shard) {
            long m = covered[shard].max();
            for (var it = seqs[shard].iterator(); it.hasNext(); ) m = Math.max(m, it.nextValue());
            return m;
        }
    }

    /** Creates the vDisk and writes the winners, runs of up to 1 MiB, {@link #IN_FLIGHT} at a time; deletes it again on failure. */
    private static Result write(Stargate sg, ReplicaVDisk vd, Index idx, FileChannel fc, Progress progress, List<String> used,
                                List<String> unreachable, List<String> lost) throws TakeoverException, IOException {
        long[] blocks = new long[idx.winSeq.size()];
        int nb = 0;
        for (var it = idx.winSeq.keySet().iterator(); it.hasNext(); ) {
            long b = it.nextValue();
            if (idx.current(b)) blocks[nb++] = b; // a winner below its shard's base: the block is zero on the new vDisk
        }
        Arrays.sort(blocks, 0, nb);
        progress.blocksTotal = nb;
        progress.phase = "writing";
        VDisk d;
        try {
            d = sg.create(vd.name(), vd.size(), vd.shards());
        } catch (RuntimeException e) {
            throw new TakeoverException("cannot create vDisk " + vd.name() + ": " + e.getMessage(), e);
        }
        Semaphore slots = new Semaphore(IN_FLIGHT);
        AtomicInteger failure = new AtomicInteger(VDiskStatus.OK);
        long dataBlocks = 0, zeroBlocks = 0;
        boolean ok = false;
        try (Arena a = Arena.ofShared()) {
            MemorySegment[] bufs = new MemorySegment[IN_FLIGHT];
            for (int i = 0; i < IN_FLIGHT; i++) bufs[i] = a.allocate((long) RUN_BLOCKS * BLOCK, 4096);
            java.util.concurrent.ConcurrentLinkedQueue<MemorySegment> free = new java.util.concurrent.ConcurrentLinkedQueue<>(Arrays.asList(bufs));
            for (int i = 0; i < nb && failure.get() == VDiskStatus.OK; ) {
                boolean zero = idx.winAt.get(blocks[i]) == -1;
                int j = i + 1;
                while (j < nb && j - i < RUN_BLOCKS && blocks[j] == blocks[j - 1] + 1 && (idx.winAt.get(blocks[j]) == -1) == zero) j++;
                int n = j - i;
                long off = blocks[i] * BLOCK;
                acquire(slots);
                if (zero) {
                    zeroBlocks += n;
                    submit(d.writeZeroes(off, (long) n * BLOCK, 0, (tag, st) -> done(st, n, slots, failure, progress, null, null)),
                            n, slots, failure, progress, null, null);
                } else {
                    dataBlocks += n;
                    MemorySegment buf = free.poll();
                    for (int k = 0; k < n; k++) {
                        var bb = buf.asSlice((long) k * BLOCK, BLOCK).asByteBuffer();
                        long at = idx.winAt.get(blocks[i + k]);
                        while (bb.hasRemaining()) {
                            int r = fc.read(bb, at + bb.position());
                            if (r < 0) throw new IOException("spill file ends early");
                        }
                    }
                    submit(d.write(off, buf, n * BLOCK, 0, (tag, st) -> done(st, n, slots, failure, progress, free, buf)),
                            n, slots, failure, progress, free, buf);
                }
                i = j;
            }
            acquireAll(slots);
            if (failure.get() != VDiskStatus.OK)
                throw new TakeoverException("writing the taken-over data failed: " + VDiskStatus.describe(failure.get()));
            ok = true;
        } finally {
            if (!ok) {
                try {
                    acquireAll(slots);
                    sg.delete(vd.name());
                } catch (RuntimeException e) {
                    // reported through the original failure
                }
            }
        }
        long[] last = new long[vd.shards()];
        for (int s = 0; s < last.length; s++) last[s] = idx.lastSeq(s);
        return new Result(vd, used, unreachable, lost, idx.batches, idx.duplicates, dataBlocks, zeroBlocks, last, idx.base.clone());
    }

    private static void submit(int st, int n, Semaphore slots, AtomicInteger failure, Progress progress,
                               java.util.Queue<MemorySegment> free, MemorySegment buf) {
        if (st != VDiskStatus.OK) done(st, n, slots, failure, progress, free, buf);
    }

    private static void done(int st, int n, Semaphore slots, AtomicInteger failure, Progress progress,
                             java.util.Queue<MemorySegment> free, MemorySegment buf) {
        if (st != VDiskStatus.OK) failure.compareAndSet(VDiskStatus.OK, st);
        else synchronized (progress) { progress.blocksDone += n; }
        if (buf != null) free.add(buf);
        slots.release();
    }

    private static void acquire(Semaphore s) throws TakeoverException {
        try {
            if (!s.tryAcquire(5, TimeUnit.MINUTES)) throw new TakeoverException("a write did not complete within 5 minutes");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TakeoverException("interrupted");
        }
    }

    private static void acquireAll(Semaphore s) throws TakeoverException {
        try {
            if (!s.tryAcquire(IN_FLIGHT, 5, TimeUnit.MINUTES)) throw new TakeoverException("writes did not complete within 5 minutes");
            s.release(IN_FLIGHT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TakeoverException("interrupted");
        }
    }
}
