package io.dsf.stargate.replication;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.EndpointState;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.Opcode;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The owner side of one vDisk shard's OpLog replication: sends each sealed batch (with a trailer,
 * {@link ReplicationDescriptor}) to the RF-1 peers of the current episode and reports
 * {@link #ACKED} once all of them acknowledged it. A peer that breaks, NACKs or does not answer
 * within the ack timeout is dropped; the pending batch goes to a replacement from the peer list,
 * and when none is left the batch is {@link #FAILED} (never acknowledged below RF). Peers are
 * chosen per episode (a stretch of the shard's OpLog stream), starting at a rotation derived from
 * (vDisk, shard, episode) so that shards and episodes spread over the peers.
 *
 * <p>Owned by the shard thread: its completion queue and endpoints are created lazily on that thread
 * and polled only there; no locks, no allocation per batch (the batch is copied into one of two
 * registered send buffers). Connecting to a peer (first use, or after its retry delay) blocks the
 * shard thread for at most the connect timeout.
 */
public final class ShardReplicator implements BatchReplicator {
    private static final System.Logger LOG = System.getLogger(ShardReplicator.class.getName());
    private static final EndpointOptions EP = new EndpointOptions(4, 2, 1 << 20);
    private static final int ACK_SLOTS = 2, ACK_SLOT = ReplicaService.ACK_SLOT;
    private static final long K_SEND = 1L << 56, K_RECV = 2L << 56, KIND = 0xffL << 56;

    private final Replication cfg;
    private final long vdisk;
    private final int shard;
    private final int need;
    private final Link[] links;

    private static final class Link {
        final PeerAddress peer;
        /** The node-wide record of this peer (looked up once, not per batch). */
        final Replication.PeerHealth health;
        Endpoint ep;
        long retryAt, sentAt;
        boolean chosen, acked, sent;
        /**
         * May hold history still needed: sent a batch since the last completed re-replication pass
         * (all peers at start: what they hold from an earlier run is unknown).
         */
        boolean used = true;
        /** Chosen when the running pass began, or sent a batch since. */
        boolean usedInPass;
        /** When the current failure streak began (System.nanoTime; 0: not failed). */
        long failedSince;
        Link(PeerAddress p, Replication.PeerHealth h) {
            this.peer = p;
            this.health = h;
        }
    }

    private boolean started;
    private volatile boolean closed;
    private Runnable beforeBlocking = () -> { };

    @Override
    public void beforeBlocking(Runnable r) { beforeBlocking = java.util.Objects.requireNonNull(r); }
    private Arena arena;
    /** Written once by the shard thread at start; read by {@link #wakeup} from any thread. */
    private volatile CompletionQueue cq;
    private Completions comps;
    private final MemorySegment[] sendMem = new MemorySegment[2];
    private final ByteBuffer[] sendView = new ByteBuffer[2];
    private final MemoryRegion[] sendMr = new MemoryRegion[2];
    private final int[] sendOut = new int[2];
    private MemorySegment ackMem;
    private ByteBuffer ackView;
    private MemoryRegion ackMr;
    private final ReplicationFrame frame = new ReplicationFrame();

    private int status = IDLE;
    private long batchId;
    private int cur, bytes;
    private long segment, segmentBytes, offset, sentAt;
    private long episode = -1;
    private int chosenCount, ackedCount;
    /** The chosen set changed since it was last published to {@link #snapshot}. */
    private boolean chosenDirty;
    private volatile ShardStatusHolder published = new ShardStatusHolder(-1, new String[0], Domain.Level.NONE);

    private record ShardStatusHolder(long episode, String[] peers, Domain.Level level) {}

    // trims: segment numbers waiting to be sent, and registered trailers in flight
    private static final int TRIM_SLOTS = 8, TRIM_QUEUE = 256;
    private static final long K_TRIM = 3L << 56;
    private final long[] trimQueue = new long[TRIM_QUEUE];
    private int trimHead, trimTail;
    private MemorySegment trimMem;
    private ByteBuffer trimView;
    private MemoryRegion trimMr;
    private final int[] trimOut = new int[TRIM_SLOTS];
    private final ReplicationFrame trimFrame = new ReplicationFrame();

    // META: the vDisk's metadata, encoded once with its trailer, sent on every new connection before a batch
    private static final long K_META = 4L << 56;
    private MemorySegment metaMem;
    private MemoryRegion metaMr;
    /** Bytes of the META message (payload + trailer); 0 while the catalog does not know the vDisk. */
    private int metaLen;

    ShardReplicator(Replication cfg, long vdisk, int shard) {
        this.cfg = cfg;
        this.vdisk = vdisk;
        this.shard = shard;
        this.need = cfg.options.rf() - 1;
        this.links = new Link[cfg.peers.size()];
        for (int i = 0; i < links.length; i++) links[i] = new Link(cfg.peers.get(i), cfg.health(cfg.peers.get(i)));
    }

    private void start() {
        started = true;
        arena = Arena.ofShared();
        try {
            for (int b = 0; b < 2; b++) {
                sendMem[b] = arena.allocate(ReplicationDescriptor.RECV_BUFFER, 4096);
                sendView[b] = sendMem[b].asByteBuffer();
                sendMr[b] = cfg.transport.register(sendMem[b], Access.LOCAL_WRITE);
            }
            ackMem = arena.allocate((long) links.length * ACK_SLOTS * ACK_SLOT, 4096);
            ackView = ackMem.asByteBuffer();
            ackMr = cfg.transport.register(ackMem, Access.LOCAL_WRITE);
            trimMem = arena.allocate((long) TRIM_SLOTS * ReplicationDescriptor.TRAILER, 4096);
            trimView = trimMem.asByteBuffer();
            trimMr = cfg.transport.register(trimMem, Access.LOCAL_WRITE);
            metaMem = arena.allocate(4096, 4096);
            metaMr = cfg.transport.register(metaMem, Access.LOCAL_WRITE);
            cq = cfg.transport.createCompletionQueue(links.length * EP.completionsNeeded());
            comps = new Completions(64);
        } catch (RdmaException e) {
            throw new IllegalStateException("replication of vDisk " + vdisk + " shard " + shard + " cannot start: " + e.getMessage(), e);
        }
    }

    @Override
    public void replicate(MemorySegment batch, int n, long seg, long segBytes, long off) {
        if (!started) start();
        if (n < OpLogBatchView.PAGE || n > ReplicationDescriptor.MAX_PAYLOAD) throw new IllegalArgumentException("batch of " + n + " bytes");
        batchId++;
        cur = (int) (batchId & 1);
        status = IDLE; // the previous batch, if still pending, is abandoned: answers to it are ignored
        // the buffer's previous sends (two batches ago) must be done before it is overwritten
        long deadline = System.nanoTime() + cfg.options.ackTimeoutNanos();
        while (sendOut[cur] > 0) {
            beforeBlocking.run();
            if (System.nanoTime() > deadline) {
                for (Link l : links) if (l.ep != null && l.ep.sendsOutstanding() > 0) fail(l, "sends not completing");
                if (sendOut[cur] > 0) break;
            }
            poll();
        }
        for (Link l : links) {
            l.acked = false;
            l.sent = false;
        }
        ackedCount = 0;
        status = PENDING;
        bytes = n;
        segment = seg;
        segmentBytes = segBytes;
        offset = off;
        MemorySegment.copy(batch, 0, sendMem[cur], 0, n);
        frame.wrap(sendMem[cur], sendView[cur], n).encode(ReplicationDescriptor.TYPE_BATCH, 0, n, batchId, vdisk, shard, seg, off,
                segBytes, cfg.nodeIdBytes);
        long ep = seg * segBytes / cfg.options.episodeBytes();
        if (ep != episode) {
            episode = ep;
            for (Link l : links) l.chosen = false;
            chosenCount = 0;
            chosenDirty = true;
        }
        fill();
        if (chosenDirty) publish();
        for (Link l : links) if (l.chosen && !l.sent && l.ep != null && status == PENDING) send(l);
        sentAt = System.nanoTime();
        settle();
    }

    /** First link to look at for this episode: spreads (vDisk, shard, episode) over the peer list. */
    private int rotation() {
        long h = vdisk * 0x9E3779B97F4A7C15L + shard * 0xC2B2AE3D27D4EB4FL + episode * 0x165667B19E3779F9L;
        h ^= h >>> 29;
        return (int) Long.remainderUnsigned(h, links.length);
    }

    private static final Domain.Level[] LEVELS = Domain.Level.values();

    /**
     * Chooses peers until RF-1 are chosen or none is usable: first only peers on another rack than
     * this node and every chosen peer, then another block, then another node (box), then any; within
     * each pass in rotation order, so shards and episodes spread over the peers that qualify.
     */
    private void fill() {
        int start = rotation();
        for (int lv = LEVELS.length - 1; lv >= 0 && chosenCount < need; lv--) {
            Domain.Level level = LEVELS[lv];
            for (int k = 0; k < links.length && chosenCount < need; k++) {
                Link l = links[(start + k) % links.length];
                if (l.chosen || !apartFromCopies(l.peer.domain(), level) || !usable(l)) continue;
                l.chosen = true;
                chosenCount++;
                chosenDirty = true;
            }
        }
    }

    /** Whether a copy on {@code d} would be apart at {@code level} from this node and every chosen peer. */
    private boolean apartFromCopies(Domain d, Domain.Level level) {
        if (!cfg.domain.apart(d, level)) return false;
        for (Link x : links) if (x.chosen && !x.peer.domain().apart(d, level)) return false;
        return true;
    }

    /** Publishes the chosen set for {@link #snapshot} (allocates: only when the set changed). */
    private void publish() {
        chosenDirty = false;
        int n = 0;
        String[] ids = new String[chosenCount];
        Domain[] copies = new Domain[chosenCount + 1];
        copies[0] = cfg.domain;
        for (Link l : links)
            if (l.chosen && n < ids.length) {
                copies[n + 1] = l.peer.domain();
                ids[n++] = l.peer.id();
            }
        published = new ShardStatusHolder(episode, n == ids.length ? ids : java.util.Arrays.copyOf(ids, n),
                n == 0 ? Domain.Level.NONE : Domain.levelOf(copies, n + 1));
    }

    /** The shard's current episode and peers. Thread safe (reads what the shard thread published). */
    Replication.ShardStatus snapshot() {
        ShardStatusHolder h = published;
        return new Replication.ShardStatus(vdisk, shard, h.episode(), List.of(h.peers()), h.level());
    }

    private void healthy(Link l) {
        l.failedSince = 0;
        Replication.PeerHealth h = l.health;
        h.failedSince = 0;
        h.connected = true;
    }

    private void unhealthy(Link l, String why) {
        if (l.failedSince == 0) l.failedSince = Math.max(1, System.nanoTime());
        Replication.PeerHealth h = l.health;
        if (h.failedSince == 0) h.failedSince = l.failedSince;
        h.connected = false;
        h.lastError = why;
        h.lastErrorAt = System.currentTimeMillis();
        h.failures.increment();
    }

    private boolean usable(Link l) {
        if (l.ep != null) {
            if (l.ep.state() == EndpointState.CONNECTED) return true;
            drop(l);
        }
        long now = System.nanoTime();
        if (now - l.retryAt < 0) return false;
        beforeBlocking.run();
        try {
            Endpoint e = cfg.transport.connect(l.peer.socketAddress(), cq, EP, cfg.options.connectTimeoutNanos());
            l.ep = e;
            healthy(l);
            int li = index(l);
            for (int s = 0; s < ACK_SLOTS; s++) {
                if (e.postRecv(ackMr, ackOff(li, s), ACK_SLOT, K_RECV | (long) li << 8 | s) != PostStatus.OK) {
                    drop(l);
                    return false;
                }
            }
            if (!sendMeta(l)) {
                drop(l);
                return false;
            }
            return true;
        } catch (RdmaException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "replication: cannot reach peer " + l.peer + ": " + e.getMessage());
            unhealthy(l, "cannot connect: " + e.getMessage());
            l.retryAt = now + cfg.options.retryNanos();
            return false;
        }
    }

    /**
     * Sends the vDisk's metadata on a new connection, ahead of any batch (the replica handles
     * messages in order). Encoded once, at the first connection the catalog knows the vDisk
     * (allocates then; control path). False when the send is refused.
     */
    private boolean sendMeta(Link l) {
        if (metaLen == 0) {
            Replication.VDiskCatalog c = cfg.catalog;
            ReplicaVDisk m = c == null ? null : c.describe(vdisk);
            if (m == null) return true; // no metadata known: batches only (takeover then refuses this vDisk)
            int n = m.encode(metaMem, 0);
            frame.wrap(metaMem, metaMem.asByteBuffer(), n).encode(ReplicationDescriptor.TYPE_META, 0, n, 0, vdisk, shard, 0, 0, 0,
                    cfg.nodeIdBytes);
            metaLen = n + ReplicationDescriptor.TRAILER;
        }
        int st = l.ep.postSend(metaMr, 0, metaLen, K_META);
        if (st == PostStatus.OK) return true;
        LOG.log(System.Logger.Level.WARNING, "replication: cannot send vDisk metadata to " + l.peer + ": " + PostStatus.name(st));
        unhealthy(l, "metadata send refused: " + PostStatus.name(st));
        return false;
    }

    private int index(Link l) {
        for (int i = 0; i < links.length; i++) if (links[i] == l) return i;
        throw new IllegalStateException();
    }

    private static long ackOff(int link, int slot) { return ((long) link * ACK_SLOTS + slot) * ACK_SLOT; }

    private void send(Link l) {
        int st = l.ep.postSend(sendMr[cur], 0, bytes + ReplicationDescriptor.TRAILER, K_SEND | cur);
        if (st == PostStatus.OK) {
            sendOut[cur]++;
            l.sent = true;
            l.usedInPass = true;
            if (!l.used) { // a new place for this shard's history: recorded before this batch can be acknowledged
                l.used = true;
                recordUsed();
            }
            l.sentAt = System.nanoTime();
        }
        else fail(l, "send refused: " + PostStatus.name(st));
    }

    /** Closes a link's endpoint (its requests flush) and makes it wait for the retry delay. */
    private void drop(Link l) {
        if (l.ep != null) l.ep.close();
        l.ep = null;
        l.sent = false;
        l.retryAt = System.nanoTime() + cfg.options.retryNanos();
        if (l.chosen) {
            l.chosen = false;
            chosenCount--;
            chosenDirty = true;
            if (l.acked) {
                l.acked = false;
                ackedCount--;
            }
        }
    }

    /** A chosen peer failed: drop it and, while the batch is pending, send it to a replacement. */
    private void fail(Link l, String why) {
        boolean wasPending = status == PENDING && l.chosen && !l.acked;
        boolean wasAcked = l.acked;
        LOG.log(System.Logger.Level.WARNING, "replication of vDisk " + vdisk + " shard " + shard + ": dropping peer " + l.peer + ": " + why);
        unhealthy(l, why);
        drop(l);
        if (wasAcked) ackedCount++; // it holds the current batch; it only leaves the set for the next ones
        if (!wasPending) {
            if (chosenDirty) publish();
            return;
        }
        cfg.failovers.increment();
        fill();
        publish();
        for (Link x : links) if (x.chosen && !x.sent && x.ep != null && status == PENDING) send(x); // re-send to the replacement
        settle();
    }

    private void settle() {
        if (status != PENDING) return;
        if (ackedCount >= need) {
            status = ACKED;
            historyBytes += bytes;
            cfg.acked.increment();
            Replication.Observer o = cfg.observer;
            if (o != null) notifyObserver(o);
        } else if (chosenCount < need) {
            status = FAILED;
            cfg.failed.increment();
            LOG.log(System.Logger.Level.WARNING, "replication of vDisk " + vdisk + " shard " + shard + ": only " + chosenCount
                    + " of " + need + " peers reachable; batch " + batchId + " fails");
        }
    }

    private void notifyObserver(Replication.Observer o) {
        List<String> ids = new ArrayList<>();
        for (Link l : links) if (l.acked) ids.add(l.peer.id());
        CRC32C c = new CRC32C();
        c.update(sendMem[cur].asSlice(0, bytes).asByteBuffer());
        o.onAcked(vdisk, shard, batchId, segment, offset, bytes, (int) c.getValue(), ids);
    }

    @Override
    public int poll() {
        return progress(0);
    }

    @Override
    public int await(long timeoutNanos) {
        return progress(timeoutNanos);
    }

    @Override
    public void wakeup() {
        CompletionQueue q = cq;
        if (q != null && !closed) q.wakeup();
    }

    /** {@link #poll}, waiting up to {@code timeoutNanos} in the completion queue when nothing is ready. */
    private int progress(long timeoutNanos) {
        if (closed) return 0;
        if (!started) { // nothing sent since the start: peers may still hold needed history from before
            if ((++polls & 63) == 0) publishNeed();
            return 0;
        }
        int n = timeoutNanos > 0 ? cq.await(comps, timeoutNanos) : cq.poll(comps);
        for (int i = 0; i < n; i++) {
            long wr = comps.wrId(i), kind = wr & KIND;
            if (kind == K_META) {
                Link l = owner(comps.endpoint(i));
                if (!comps.isSuccess(i) && l != null) fail(l, "metadata send failed: " + CompletionStatus.name(comps.status(i)));
                continue;
            }
            if (kind == K_TRIM) {
                trimOut[(int) (wr & 0xff)]--;
                Link l = owner(comps.endpoint(i));
                if (!comps.isSuccess(i) && l != null) fail(l, "trim failed: " + CompletionStatus.name(comps.status(i)));
                continue;
            }
            if (kind == K_SEND) {
                sendOut[(int) (wr & 1)]--;
                Link l = owner(comps.endpoint(i));
                if (!comps.isSuccess(i) && l != null) fail(l, "send failed: " + CompletionStatus.name(comps.status(i)));
                continue;
            }
            int li = (int) (wr >>> 8) & 0xffff, slot = (int) wr & 0xff;
            if (li >= links.length) continue;
            Link l = links[li];
            if (comps.endpoint(i) != l.ep) continue; // flushed from a closed endpoint
            if (!comps.isSuccess(i)) {
                fail(l, "receive failed: " + CompletionStatus.name(comps.status(i)));
                continue;
            }
            if (comps.opcode(i) != Opcode.RECV) {
                fail(l, "unexpected " + Opcode.name(comps.opcode(i)));
                continue;
            }
            onAnswer(l, li, slot, comps.byteLength(i));
        }
        if (status == PENDING && System.nanoTime() - sentAt > cfg.options.ackTimeoutNanos()) {
            // each peer's own clock: a replacement the batch was just re-sent to gets its full timeout
            long now = System.nanoTime();
            for (Link l : links)
                if (l.chosen && !l.acked && l.sent && now - l.sentAt > cfg.options.ackTimeoutNanos() && status == PENDING)
                    fail(l, "no answer within the ack timeout");
        }
        if (trimHead != trimTail) n += sendTrims();
        if ((++polls & 63) == 0) publishNeed();
        return n;
    }

    private int polls;
    /**
     * Since when (System.nanoTime) a peer that may hold history still needed has been failed: the
     * oldest such failure streak, 0 when none. Written by the shard thread, read by the node's
     * re-replication thread, which starts a pass once it is older than its grace period.
     */
    private volatile long needSince;

    /** Bytes of batches acknowledged since the last completed pass (at the pass's start), and the shard's live data. */
    private long historyBytes, historyAtPassStart, live;
    private volatile long publishedHistory, publishedLive;

    @Override
    public void liveBytes(long b) { live = b; }

    /** Replicated history since the last base, and the live data it describes (both racy snapshots). Thread safe. */
    long historyBytes() { return publishedHistory; }
    long liveBytes() { return publishedLive; }

    /** Peers (bit = index in the peer list; bit 63 also stands for every index from 63 on) that may hold needed history. */
    private volatile long usedMask = -1L;

    /** Whether the peer at {@code index} of the peer list may hold history of this shard still needed. Thread safe. */
    boolean mayHoldNeeded(int index) { return (usedMask & (1L << Math.min(index, 63))) != 0; }

    private void publishNeed() {
        long m = 0;
        for (int i = 0; i < links.length; i++) if (links[i].used) m |= 1L << Math.min(i, 63);
        if (m != usedMask) usedMask = m;
        if (publishedHistory != historyBytes) publishedHistory = historyBytes;
        if (publishedLive != live) publishedLive = live;
        long oldest = 0;
        for (Link l : links) {
            if (!l.used || (l.ep != null && l.ep.state() == EndpointState.CONNECTED)) continue;
            // this shard's own view, or the node's (another shard found the peer down): a peer may hold this
            // shard's history without this shard having tried it since (after a restart every peer counts)
            long since = l.failedSince != 0 ? l.failedSince : l.health.failedSince;
            if (since != 0 && (oldest == 0 || since - oldest < 0)) oldest = since;
        }
        if (oldest != needSince) needSince = oldest;
    }

    /** See {@link #needSince}. Thread safe. */
    long needSince() { return needSince; }

    long vdisk() { return vdisk; }
    int shard() { return shard; }

    private java.util.function.Consumer<String> usedRecorder;

    @Override
    public void onUsedChanged(java.util.function.Consumer<String> record) { usedRecorder = record; }

    @Override
    public void restoreUsed(String peers) {
        if (peers.equals("*")) return; // every peer (the default)
        java.util.Set<String> ids = java.util.Set.of(peers.isEmpty() ? new String[0] : peers.split(","));
        for (Link l : links) l.used = ids.contains(l.peer.id());
        publishNeed();
    }

    /** Hands the used set to the shard's recorder (allocates: only when the set changed). */
    private void recordUsed() {
        java.util.function.Consumer<String> r = usedRecorder;
        if (r == null) return;
        StringBuilder b = new StringBuilder();
        for (Link l : links) if (l.used) b.append(b.isEmpty() ? "" : ",").append(l.peer.id());
        r.accept(b.length() > 80 ? "*" : b.toString()); // an object's attributes hold 224 bytes in all: too many ids count as every peer
    }

    @Override
    public void noHistory() {
        for (Link l : links) l.used = false;
        publishNeed();
    }

    @Override
    public void passStarted() {
        for (Link l : links) l.usedInPass = l.chosen;
        historyAtPassStart = historyBytes;
    }

    @Override
    public void passCompleted() {
        boolean changed = false;
        for (Link l : links) {
            changed |= l.used != l.usedInPass;
            l.used = l.usedInPass;
        }
        if (changed) recordUsed();
        historyBytes -= historyAtPassStart; // what was replicated since the pass began is the history above the base
        historyAtPassStart = 0;
        publishNeed();
    }

    private Link owner(Endpoint e) {
        for (Link l : links) if (l.ep == e) return l;
        return null;
    }

    private void onAnswer(Link l, int li, int slot, int len) {
        long off = ackOff(li, slot);
        ReplicationFrame f = frame.wrap(ackMem, ackView, (int) off);
        int v = len == ReplicationDescriptor.TRAILER ? f.validate(len) : ReplicationFrame.TRUNCATED;
        if (v != ReplicationFrame.VALID || (f.type() != ReplicationDescriptor.TYPE_ACK && f.type() != ReplicationDescriptor.TYPE_NACK)) {
            fail(l, "bad answer: " + (v != ReplicationFrame.VALID ? ReplicationFrame.resultName(v) : "message type " + f.type()));
            return;
        }
        int type = f.type(), reason = f.reason();
        long id = f.batchId();
        if (l.ep.postRecv(ackMr, off, ACK_SLOT, K_RECV | (long) li << 8 | slot) != PostStatus.OK) {
            fail(l, "cannot re-post a receive");
            return;
        }
        if (id != batchId || status != PENDING || !l.chosen) return; // an answer to an abandoned batch
        if (type == ReplicationDescriptor.TYPE_NACK) {
            fail(l, "batch " + id + " refused: " + ReplicationDescriptor.reasonName(reason));
            return;
        }
        if (!l.acked) {
            l.acked = true;
            ackedCount++;
            l.health.batchesHeld.increment();
        }
        settle();
    }

    @Override
    public int status() { return status; }

    @Override
    public boolean needsPolling() {
        return started && (status == PENDING || sendOut[0] + sendOut[1] > 0 || trimHead != trimTail);
    }

    /**
     * Queues a TRIM of OpLog segment {@code segment} (the shard freed it: its data is in the Extent
     * Store) for every connected peer, sent from {@link #poll}; a replica deletes its copy of that
     * segment. Peers not connected now miss it (their copy stays until re-replication cleans up
     * over-replicated data). Returns false when the queue of unsent trims is full (the trim is lost).
     */
    @Override
    public boolean trim(long segment) {
        if (closed || segment < 0) return false;
        if (trimTail - trimHead == TRIM_QUEUE) {
            LOG.log(System.Logger.Level.WARNING, "replication of vDisk " + vdisk + " shard " + shard + ": trim queue full; segment "
                    + segment + " stays on its replicas");
            return false;
        }
        trimQueue[trimTail++ & (TRIM_QUEUE - 1)] = segment;
        return true;
    }

    /** Sends queued trims to every connected peer while a trailer slot is free; returns the trims sent. */
    private int sendTrims() {
        if (!started) start();
        int sent = 0;
        while (trimHead != trimTail) {
            int slot = -1;
            for (int s = 0; s < TRIM_SLOTS; s++) if (trimOut[s] == 0) { slot = s; break; }
            if (slot < 0) break;
            long seg = trimQueue[trimHead & (TRIM_QUEUE - 1)];
            trimFrame.wrap(trimMem, trimView, slot * ReplicationDescriptor.TRAILER).encode(ReplicationDescriptor.TYPE_TRIM, 0, 0, 0,
                    vdisk, shard, seg, 0, 0, cfg.nodeIdBytes);
            boolean refused = false;
            for (Link l : links) {
                if (l.ep == null || l.ep.state() != EndpointState.CONNECTED) continue;
                int st = l.ep.postSend(trimMr, (long) slot * ReplicationDescriptor.TRAILER, ReplicationDescriptor.TRAILER, K_TRIM | slot);
                if (st == PostStatus.OK) trimOut[slot]++;
                else if (st == PostStatus.SEND_QUEUE_FULL) refused = true;
                else fail(l, "trim refused: " + PostStatus.name(st));
            }
            if (refused) break; // a peer's send queue is full: the whole trim again at the next poll (a repeated trim is harmless)
            trimHead++;
            sent++;
            cfg.trims.increment();
        }
        return sent;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cfg.replicators.remove(this);
        if (!started) return;
        for (Link l : links) if (l.ep != null) l.ep.close();
        cq.close();
        for (MemoryRegion r : sendMr) if (r != null) r.close();
        if (ackMr != null) ackMr.close();
        if (trimMr != null) trimMr.close();
        if (metaMr != null) metaMr.close();
        cfg.replicators.remove(this);
        arena.close();
    }
}
