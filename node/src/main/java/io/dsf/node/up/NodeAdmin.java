package io.dsf.node.up;

import io.dsf.blockstore.io.Sizes;
import io.dsf.node.admin.AdminException;
import io.dsf.node.admin.AdminServer;
import io.dsf.node.admin.Json;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.replication.PeerAddress;
import io.dsf.stargate.replication.ReplicaBatch;
import io.dsf.stargate.replication.ReplicaSegment;
import io.dsf.stargate.replication.ReplicaService;
import io.dsf.stargate.replication.Replication;
import io.dsf.stargate.stats.VDiskStatsSnapshot;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin socket's operations on a {@link Node}. Requests and replies (besides {@code ok},
 * {@code id} and {@code error}, see {@link AdminServer}):
 *
 * <pre>
 *   ping                                        -&gt; data (directory), vdisks, attached (counts)
 *   vdisk.list                                  -&gt; vdisks: [vdisk]
 *   vdisk.create   name, size (bytes or "10g"), shards?  -&gt; vdisk
 *   vdisk.snapshot source, name                 -&gt; vdisk
 *   vdisk.clone    source, name                 -&gt; vdisk
 *   vdisk.attach   name, scsi_target?           -&gt; vdisk, endpoints: [endpoint], hotplug?
 *   vdisk.detach   name                         -&gt; name, hotplug?
 *   vdisk.delete   name                         -&gt; name
 *   stats          name?                        -&gt; stats: [per-vDisk numbers], text: [one line per vDisk]
 *   status                                      -&gt; node, rf, transport, domain, listen, peers: [peer], vdisks: [replicated],
 *                                                  held: {segments, bytes, owners: {ID: {segments, bytes}}}, counters,
 *                                                  takeover: {owner, vdisk, phase, batches, duplicates, blocks_total,
 *                                                  blocks_done} (the running or last takeover; null: none)
 *   replicas       blocks? (boolean)            -&gt; replicas: [segment | image] (what this node holds for other nodes:
 *                                                  each replica segment, then each stream's image: drained ranges,
 *                                                  image blocks, undrained bytes; with blocks, the image's as one batch),
 *                                                  held_vdisks: [{owner, id, name, size, shards}] (their metadata)
 *   vdisk.takeover name, from (dead owner's id), lost (optional "ID,ID": nodes declared lost)  -&gt; vdisk, owner, owner_vdisk_id, sources, unreachable, batches,
 *                                                  duplicates, blocks_total, blocks_done, data_blocks, zero_blocks,
 *                                                  last_seq: [per shard] (blocks until it is done; status shows progress)
 *
 *   vdisk    = {name, size, read_only, shards, parent, attached, [lun, scsi_target, endpoints]}
 *   endpoint = {kind: "vhost-user-scsi" | "vhost-user-blk", vdisk, socket, [lun]}
 *   hotplug  = "delivered" | "missed" | "not_negotiated": what a guest on the SCSI target was told
 *   peer     = {id, address, domain, batches_held, state: "unknown" | "connected" | "failed", last_error, last_error_at_ms, failures}
 *   replicated = {name, id, shards: [{shard, episode, peers: [ID], domain_level}]} (shards that replicated at least once;
 *               domain_level "rack" | "block" | "node" | "none": every pair of the shard's copies differs in that label)
 *   segment  = {owner, vdisk, shard, segment, bytes, batches, blocks, [batch_list: [{offset, bytes, crc,
 *               blocks: [[block, crc]]}]]} (batch_list with blocks=true; crc: CRC32C as an unsigned number)
 * </pre>
 *
 * A node started alone answers {@code status} with {@code node: null} and no peers.
 *
 * Stats objects are Stargate's ({@link VDiskStatsSnapshot#toJson()}: interval and total figures)
 * plus, for attached vDisks, {@code scsi_qN_requests} / {@code blk_qN_requests} (requests each
 * request queue took since the node started; the SCSI ones count the whole socket). Thread safe;
 * called on admin connection threads, the node serialises the operations.
 */
final class NodeAdmin implements AdminServer.Handler {
    private final Node node;

    NodeAdmin(Node node) {
        this.node = node;
    }

    @Override
    public Map<String, Object> handle(String op, Map<String, Object> req) throws AdminException {
        try {
            return switch (op) {
                case "ping" -> ping();
                case "vdisk.list" -> list();
                case "vdisk.create" -> one("vdisk", vdisk(node.create(name(req, "name"), size(req), optInt(req, "shards"))));
                case "vdisk.snapshot" -> one("vdisk", vdisk(node.snapshot(name(req, "source"), name(req, "name"))));
                case "vdisk.clone" -> one("vdisk", vdisk(node.cloneVDisk(name(req, "source"), name(req, "name"))));
                case "vdisk.attach" -> attach(name(req, "name"), optName(req, "scsi_target"));
                case "vdisk.detach" -> detach(name(req, "name"));
                case "vdisk.delete" -> {
                    String n = name(req, "name");
                    node.delete(n);
                    yield one("name", n);
                }
                case "stats" -> stats(optName(req, "name"));
                case "vdisk.takeover" -> takeover(name(req, "name"), name(req, "from"), lost(optName(req, "lost")));
                case "status" -> status();
                case "replicas" -> replicas(optBool(req, "blocks"));
                default -> throw new AdminException("unknown op \"" + op + "\" (ops: ping, vdisk.list, vdisk.create, vdisk.snapshot, "
                        + "vdisk.clone, vdisk.attach, vdisk.detach, vdisk.delete, vdisk.takeover, stats, status, replicas)");
            };
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            throw new AdminException(e.getMessage());
        } catch (IOException e) {
            throw new AdminException(op + ": " + e.getMessage());
        } catch (io.dsf.stargate.replication.Takeover.TakeoverException e) {
            throw new AdminException("takeover: " + e.getMessage());
        }
    }

    /** "B,C" -> {B, C} (null or empty: none); each a node id. */
    private static java.util.Set<String> lost(String s) throws AdminException {
        if (s == null || s.isBlank()) return java.util.Set.of();
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (String id : s.split(",")) {
            try {
                out.add(io.dsf.stargate.replication.PeerAddress.checkId(id.trim()));
            } catch (IllegalArgumentException e) {
                throw new AdminException("\"lost\": " + e.getMessage());
            }
        }
        return out;
    }

    private Map<String, Object> takeover(String name, String from, java.util.Set<String> lost) throws io.dsf.stargate.replication.Takeover.TakeoverException {
        io.dsf.stargate.replication.Takeover.Result r = node.takeover(name, from, lost);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vdisk", vdisk(info(name)));
        m.put("owner", from);
        m.put("owner_vdisk_id", r.vdisk().id());
        m.put("sources", new ArrayList<Object>(r.sources()));
        m.put("unreachable", new ArrayList<Object>(r.unreachable()));
        m.put("lost", new ArrayList<Object>(r.lost()));
        m.put("batches", r.batches());
        m.put("duplicates", r.duplicates());
        m.put("blocks_total", r.dataBlocks() + r.zeroBlocks());
        m.put("blocks_done", r.dataBlocks() + r.zeroBlocks());
        m.put("data_blocks", r.dataBlocks());
        m.put("zero_blocks", r.zeroBlocks());
        List<Object> seqs = new ArrayList<>();
        for (long q : r.lastSeq()) seqs.add(q);
        m.put("last_seq", seqs);
        return m;
    }

    private static Map<String, Object> progress(io.dsf.stargate.replication.Takeover.Progress p) {
        if (p == null) return null;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("owner", p.owner);
        m.put("vdisk", p.vdisk);
        m.put("phase", p.phase());
        m.put("batches", p.batches());
        m.put("duplicates", p.duplicates());
        m.put("blocks_total", p.blocksTotal());
        m.put("blocks_done", p.blocksDone());
        return m;
    }

    private Map<String, Object> ping() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("data", node.data().toString());
        List<Stargate.Info> all = node.vdisks();
        m.put("vdisks", (long) all.size());
        long attached = all.stream().filter(i -> node.attachment(i.name()) != null).count();
        m.put("attached", attached);
        return m;
    }

    private Map<String, Object> list() {
        List<Object> l = new ArrayList<>();
        for (Stargate.Info i : node.vdisks()) l.add(vdisk(i));
        return one("vdisks", l);
    }

    private Map<String, Object> attach(String name, String scsiTarget) throws IOException {
        Node.Change c = node.attach(name, scsiTarget);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("vdisk", vdisk(info(name)));
        m.put("endpoints", endpoints(c.attachment()));
        if (c.hotplug() != null) m.put("hotplug", c.hotplug().name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }

    private Map<String, Object> detach(String name) {
        Node.Change c = node.detach(name);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        if (c.hotplug() != null) m.put("hotplug", c.hotplug().name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }

    private Map<String, Object> stats(String name) {
        List<VDiskStatsSnapshot> snaps = node.stats(name);
        List<Object> objs = new ArrayList<>();
        List<Object> text = new ArrayList<>();
        for (VDiskStatsSnapshot s : snaps) {
            Map<String, Object> o = Json.parseObject(s.toJson());
            Node.Attachment a = node.attachment(s.name());
            if (a != null) {
                queues(o, "scsi_q", a.scsiQueueRequests());
                queues(o, "blk_q", a.blkQueueRequests());
            }
            objs.add(o);
            text.add(s.format());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("stats", objs);
        m.put("text", text);
        return m;
    }

    /** Adds {@code prefix + i + "_requests"} for every queue up to the last one that took a request. */
    private static void queues(Map<String, Object> o, String prefix, long[] counts) {
        int last = counts.length - 1;
        while (last > 0 && counts[last] == 0) last--;
        for (int i = 0; i <= last; i++) o.put(prefix + i + "_requests", counts[i]);
    }

    private Map<String, Object> status() {
        ClusterConfig cc = node.cluster();
        Replication rep = node.replication();
        ReplicaService svc = node.replicaService();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("node", cc == null ? null : cc.nodeId());
        m.put("rf", cc == null ? 1L : (long) cc.rf());
        m.put("transport", cc == null ? null : cc.transport());
        m.put("domain", cc == null ? null : cc.domain().toString());
        java.net.InetSocketAddress at = node.replicaAddress();
        m.put("listen", at == null ? null : at.getHostString() + ":" + at.getPort());
        List<Object> peers = new ArrayList<>();
        if (cc != null) {
            Map<String, Replication.PeerStatus> seen = new LinkedHashMap<>();
            if (rep != null) for (Replication.PeerStatus p : rep.peerStatus()) seen.put(p.peer().id(), p);
            for (PeerAddress p : cc.peers()) {
                Replication.PeerStatus ps = seen.get(p.id());
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("id", p.id());
                o.put("address", p.host() + ":" + p.port());
                o.put("domain", p.domain().toString());
                o.put("state", ps == null ? "unknown" : ps.state());
                o.put("last_error", ps == null ? null : ps.lastError());
                o.put("last_error_at_ms", ps == null ? 0L : ps.lastErrorAtMillis());
                o.put("failures", ps == null ? 0L : ps.failures());
                o.put("batches_held", ps == null ? 0L : ps.batchesHeld());
                peers.add(o);
            }
        }
        m.put("peers", peers);
        List<Object> vds = new ArrayList<>();
        if (rep != null) {
            Map<Long, String> names = new java.util.HashMap<>();
            for (Stargate.Info i : node.vdisks()) names.put(node.vdiskId(i.name()), i.name());
            Map<Long, List<Object>> byDisk = new java.util.TreeMap<>();
            for (Replication.ShardStatus s : rep.shards()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("shard", (long) s.shard());
                o.put("episode", s.episode());
                o.put("peers", new ArrayList<Object>(s.peers()));
                o.put("domain_level", s.domainLevel().label());
                byDisk.computeIfAbsent(s.vdisk(), k -> new ArrayList<>()).add(o);
            }
            for (Map.Entry<Long, List<Object>> e : byDisk.entrySet()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("name", names.get(e.getKey()));
                o.put("id", e.getKey());
                o.put("shards", e.getValue());
                vds.add(o);
            }
        }
        m.put("vdisks", vds);
        long segs = 0, bytes = 0;
        Map<String, Object> owners = new java.util.TreeMap<>();
        if (svc != null) {
            for (ReplicaSegment s : svc.list()) {
                segs++;
                bytes += s.bytes();
                @SuppressWarnings("unchecked")
                Map<String, Object> o = (Map<String, Object>) owners.computeIfAbsent(s.owner(), k -> {
                    Map<String, Object> x = new LinkedHashMap<>();
                    x.put("segments", 0L);
                    x.put("bytes", 0L);
                    return x;
                });
                o.put("segments", (Long) o.get("segments") + 1);
                o.put("bytes", (Long) o.get("bytes") + s.bytes());
            }
        }
        Map<String, Object> held = new LinkedHashMap<>();
        held.put("segments", segs);
        held.put("bytes", bytes);
        held.put("owners", owners);
        long imageBlocks = 0, undrained = 0, streams = 0;
        if (svc != null) for (ReplicaService.StreamStatus st : svc.streams()) {
            streams++;
            imageBlocks += st.imageBlocks();
            undrained += st.undrainedBytes();
            if (st.imageVBlocks() == 0) continue;
            @SuppressWarnings("unchecked")
            Map<String, Object> o = (Map<String, Object>) ((Map<String, Object>) held.get("owners")).computeIfAbsent(st.owner(), k -> {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("segments", 0L);
                x.put("bytes", 0L);
                return x;
            });
            o.merge("image_blocks", st.imageBlocks(), (x, y) -> (Long) x + (Long) y); // an owner held through its images only still counts
        }
        held.put("image_streams", streams); // drained into this node's images (see dsf replicas)
        held.put("image_blocks", imageBlocks);
        held.put("undrained_bytes", undrained);
        held.put("drains", svc == null ? 0L : svc.drainsDone());
        held.put("drains_failed", svc == null ? 0L : svc.drainsFailed());
        held.put("owners", new LinkedHashMap<>(owners));
        m.put("held", held);
        m.put("batches_acked", rep == null ? 0L : rep.batchesAcked());
        m.put("batches_failed", rep == null ? 0L : rep.batchesFailed());
        long below = 0;
        if (rep != null) for (Replication.PeerStatus ps : rep.peerStatus()) if (ps.state().equals("failed")) below += ps.batchesHeld();
        m.put("batches_below_rf", below); // copies on failed peers: one fewer than RF each while those peers are away
        // shards whose history still needed sits on a failed peer: below RF until a re-replication pass completes
        m.put("shards_below_rf", rep == null ? 0L : (long) rep.passesNeeded(0).size());
        io.dsf.stargate.replication.Rereplicator rrp = node.rereplicator();
        if (rrp != null) {
            io.dsf.stargate.replication.Rereplicator.Status rs = rrp.status();
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("passes_done", rs.passesDone());
            x.put("passes_failed", rs.passesFailed());
            x.put("checkpoints", rs.checkpoints()); // passes started because a shard's replicated history outgrew its limit
            long hist = 0;
            for (long[] h : rep.history()) hist += h[2];
            x.put("history_bytes", hist); // replicated since the shards' bases: what replicas keep of this node's vDisks
            x.put("blocks_rewritten", rs.blocksRewritten());
            x.put("running", rs.running());
            x.put("vblocks_done", rs.vblocksDone());
            x.put("vblocks_total", rs.vblocksTotal());
            x.put("bases", new LinkedHashMap<String, Object>(rs.bases()));
            x.put("announcements_pending", new LinkedHashMap<String, Object>(rs.announcementsPending()));
            m.put("rereplication", x);
        }
        m.put("failovers", rep == null ? 0L : rep.failovers());
        m.put("trims_sent", rep == null ? 0L : rep.trimsSent());
        io.dsf.stargate.replication.ReplicaReadRepair rr = node.readRepair();
        m.put("reads_repaired", rr == null ? 0L : rr.repaired());
        m.put("reads_unrepairable", rr == null ? 0L : rr.failed());
        m.put("blocks_rewritten", rr == null ? 0L : rr.blocksRewritten());
        m.put("replica_batches_stored", svc == null ? 0L : svc.batchesStored());
        m.put("replica_batches_rejected", svc == null ? 0L : svc.batchesRejected());
        m.put("replica_segments_trimmed", svc == null ? 0L : svc.segmentsTrimmed());
        m.put("replica_pulls_served", svc == null ? 0L : svc.pullsServed());
        m.put("takeover", progress(node.takeoverProgress()));
        return m;
    }

    private Map<String, Object> replicas(boolean withBlocks) {
        ReplicaService svc = node.replicaService();
        List<Object> out = new ArrayList<>();
        if (svc != null) {
            for (ReplicaSegment s : svc.list()) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("kind", "segment");
                o.put("owner", s.owner());
                o.put("vdisk", s.vdisk());
                o.put("shard", (long) s.shard());
                o.put("segment", s.segment());
                o.put("bytes", s.bytes());
                List<ReplicaBatch> batches;
                try {
                    batches = svc.batches(s);
                } catch (io.dsf.blockstore.store.NoSuchObjectException e) {
                    continue; // deleted while listed (a base made it redundant): it is no longer held
                }
                o.put("batches", (long) batches.size());
                long blocks = 0;
                for (ReplicaBatch b : batches) blocks += b.blocks().length;
                o.put("blocks", blocks);
                if (withBlocks) {
                    List<Object> bl = new ArrayList<>();
                    for (ReplicaBatch b : batches) {
                        Map<String, Object> x = new LinkedHashMap<>();
                        x.put("offset", b.offset());
                        x.put("bytes", (long) b.bytes());
                        x.put("crc", Integer.toUnsignedLong(b.crc()));
                        List<Object> pairs = new ArrayList<>();
                        for (int i = 0; i < b.blocks().length; i++) pairs.add(List.of(b.blocks()[i], Integer.toUnsignedLong(b.blockCrcs()[i])));
                        x.put("blocks", pairs);
                        bl.add(x);
                    }
                    o.put("batch_list", bl);
                }
                out.add(o);
            }
        }
        if (svc != null) for (ReplicaService.StreamStatus st : svc.streams()) { // what drains made of the segments: one item per stream
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("kind", "image");
            o.put("owner", st.owner());
            o.put("vdisk", st.vdisk());
            o.put("shard", (long) st.shard());
            List<Object> ranges = new ArrayList<>();
            long[] r = st.drainedRanges();
            for (int i = 0; i + 1 < r.length; i += 2) ranges.add(List.of(r[i], r[i + 1]));
            o.put("drained_ranges", ranges);
            o.put("image_blocks", st.imageBlocks());
            o.put("image_vblocks", st.imageVBlocks());
            o.put("undrained_bytes", st.undrainedBytes());
            o.put("drains", st.drains());
            if (withBlocks) { // the image's data blocks as one pseudo batch: [block, crc, seq] (zero blocks left out, as in batches)
                List<Object> pairs = new ArrayList<>();
                for (ReplicaService.ImageBlock b : svc.imageBlocks(st.owner(), st.vdisk(), st.shard()))
                    if (b.kind() == io.dsf.stargate.replication.ReplicaImage.KIND_DATA)
                        pairs.add(List.of(b.block(), Integer.toUnsignedLong(b.crc()), b.seq()));
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("offset", -1L);
                x.put("bytes", 0L);
                x.put("crc", 0L);
                x.put("blocks", pairs);
                o.put("batch_list", List.of(x));
            }
            out.add(o);
        }
        Map<String, Object> m = one("replicas", out);
        List<Object> vds = new ArrayList<>();
        if (svc != null) for (io.dsf.stargate.replication.ReplicaVDisk v : svc.vdisks()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("owner", v.owner());
            o.put("id", v.id());
            o.put("name", v.name());
            o.put("size", v.size());
            o.put("shards", (long) v.shards());
            vds.add(o);
        }
        m.put("held_vdisks", vds);
        return m;
    }

    private static boolean optBool(Map<String, Object> req, String key) throws AdminException {
        Object v = req.get(key);
        if (v == null) return false;
        if (!(v instanceof Boolean b)) throw new AdminException("\"" + key + "\" must be a boolean, not " + Json.kind(v));
        return b;
    }

    private Stargate.Info info(String name) {
        for (Stargate.Info i : node.vdisks()) if (i.name().equals(name)) return i;
        throw new IllegalArgumentException("no vDisk named " + name);
    }

    private Map<String, Object> vdisk(Stargate.Info i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", i.name());
        m.put("size", i.size());
        m.put("read_only", i.readOnly());
        m.put("shards", (long) i.shards());
        m.put("parent", i.parent());
        Node.Attachment a = node.attachment(i.name());
        m.put("attached", a != null);
        if (a != null) {
            m.put("scsi_target", a.scsiHost());
            m.put("lun", (long) a.lun());
            m.put("endpoints", endpoints(a));
        }
        return m;
    }

    private static List<Object> endpoints(Node.Attachment a) {
        List<Object> l = new ArrayList<>();
        for (Node.Endpoint e : a.endpoints()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", e.kind());
            m.put("vdisk", e.vdisk());
            m.put("socket", e.socket().toString());
            if (e.kind().equals("vhost-user-scsi")) m.put("lun", (long) a.lun());
            l.add(m);
        }
        return l;
    }

    private static Map<String, Object> one(String k, Object v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(k, v);
        return m;
    }

    private static String name(Map<String, Object> req, String key) throws AdminException {
        Object v = req.get(key);
        if (v == null) throw new AdminException("missing \"" + key + "\"");
        if (!(v instanceof String s)) throw new AdminException("\"" + key + "\" must be a string, not " + Json.kind(v));
        return s;
    }

    private static String optName(Map<String, Object> req, String key) throws AdminException {
        return req.get(key) == null ? null : name(req, key);
    }

    private static Integer optInt(Map<String, Object> req, String key) throws AdminException {
        Object v = req.get(key);
        if (v == null) return null;
        if (!(v instanceof Long l) || l < 1 || l > 64) throw new AdminException("\"" + key + "\" must be an integer in 1..64");
        return (int) (long) l;
    }

    /** {@code size}: a number of bytes or a string with a unit ("10g", "512M"); a positive multiple of 4096. */
    private static long size(Map<String, Object> req) throws AdminException {
        Object v = req.get("size");
        long size;
        if (v instanceof Long l) size = l;
        else if (v instanceof String s) {
            try {
                size = Sizes.parse(s);
            } catch (IllegalArgumentException e) {
                throw new AdminException("size: " + e.getMessage());
            }
        } else if (v == null) throw new AdminException("missing \"size\"");
        else throw new AdminException("\"size\" must be a number of bytes or a string such as \"10g\", not " + Json.kind(v));
        if (size <= 0 || size % 4096 != 0) throw new AdminException("size must be a positive multiple of 4 KiB: " + size);
        return size;
    }
}
