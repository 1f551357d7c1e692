package io.dsf.node.up;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.CorruptStoreException;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.scsi.VirtioScsiDevice;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.node.admin.AdminServer;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import io.dsf.stargate.scsi.ScsiLunAddress;
import io.dsf.stargate.scsi.ScsiTarget;
import io.dsf.stargate.stats.VDiskStatsSnapshot;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One single-node dsf: a device, the BlockStore on it (opened, or formatted when the device is
 * blank), Stargate over the store (its vDisk catalog lives in the store), the attached vDisks, each
 * served by a vhost-user-blk server on {@code DATA/NAME.blk.sock} and over vhost-user-scsi, either
 * as LUN 0 of a SCSI target of its own on {@code DATA/NAME.scsi.sock} or as a further LUN of another
 * attached vDisk's target (hot-plugged into a running guest), and the admin socket
 * {@code DATA/admin.sock} ({@link NodeAdmin}). Which vDisks are attached, and how, is recorded in
 * the store ({@link NodeCatalog}), so a restart serves the same ones.
 *
 * <p>Threading: thread safe; every control operation (start, attach, detach, create..., close) runs
 * under this object's monitor, on the starting thread, an admin connection thread or a shutdown hook.
 * {@link #close} is idempotent. The data plane runs on the servers' and Stargate's own threads.
 */
public final class Node implements AutoCloseable {
    /** sockaddr_un's sun_path holds 108 bytes including the terminating NUL. */
    public static final int MAX_SOCKET_PATH = 107;
    /** The admin socket's file name in the data directory. */
    public static final String ADMIN_SOCKET = "admin.sock";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /**
     * What {@code up} was asked for. {@code vdisks}: name to size, created when absent and attached;
     * when {@code vdisksExplicit} is false they are defaults, created and attached only on the node's
     * first start on a store that holds no vDisk yet.
     */
    public record Config(Path data, String deviceUri, Map<String, Long> vdisks, boolean vdisksExplicit, VhostOptions vhost,
                         StargateOptions stargate) {
        /** Explicit vDisks. */
        public Config(Path data, String deviceUri, Map<String, Long> vdisks, VhostOptions vhost, StargateOptions stargate) {
            this(data, deviceUri, vdisks, true, vhost, stargate);
        }
    }

    /** A listening socket: {@code kind} is {@code vhost-user-scsi}, {@code vhost-user-blk} or {@code admin} (vdisk "-"). */
    public record Endpoint(String kind, String vdisk, Path socket) {
        /** The line {@code up} prints: {@code endpoint KIND NAME SOCKET}. */
        public String line() { return "endpoint " + kind + " " + vdisk + " " + socket; }
    }

    /**
     * How an attached vDisk is served: LUN {@code lun} of the SCSI target on {@code scsiSocket} (owned
     * by vDisk {@code scsiHost}), and {@code blkSocket}; request counts per queue of both servers
     * (virtio-scsi: request queues only; they count every LUN of that socket).
     */
    public record Attachment(String name, String scsiHost, int lun, Path scsiSocket, Path blkSocket,
                             long[] scsiQueueRequests, long[] blkQueueRequests) {
        public List<Endpoint> endpoints() {
            return List.of(new Endpoint("vhost-user-scsi", name, scsiSocket), new Endpoint("vhost-user-blk", name, blkSocket));
        }
    }

    /** A hot-plug change: the attachment and what the guest was told ({@link VirtioScsiDevice.HotplugReport}), or null when no running target changed. */
    public record Change(Attachment attachment, VirtioScsiDevice.HotplugReport hotplug) {}

    /** A SCSI target on its own vhost-user-scsi socket, with the vDisks attached as its LUNs. */
    private static final class ScsiHost {
        final String owner;
        final ScsiTarget target;
        final VhostUserScsiServer server;
        final TreeMap<Integer, String> luns = new TreeMap<>();

        ScsiHost(String owner, ScsiTarget target, VhostUserScsiServer server) {
            this.owner = owner;
            this.target = target;
            this.server = server;
        }
    }

    /** One attached vDisk. */
    private record Served(String name, ScsiHost host, int lun, VhostUserBlkServer blk) {}

    private final Path data;
    private final VhostOptions vhost;
    private final PrintWriter log;
    private BlockDevice device;
    private BlockStore store;
    private Stargate stargate;
    private NodeCatalog catalog;
    private io.dsf.rdma.api.RdmaTransport transport;
    private io.dsf.stargate.replication.ReplicaService replicas;
    private io.dsf.stargate.replication.Replication replication;
    private io.dsf.stargate.replication.ReplicaReadRepair readRepair;
    private io.dsf.stargate.replication.Rereplicator rereplicator;
    private ClusterConfig cluster;
    private AdminServer admin;
    private final TreeMap<String, Served> served = new TreeMap<>();
    private final Map<String, ScsiHost> hosts = new LinkedHashMap<>();
    private boolean formatted;
    private boolean closed;

    private Node(Path data, VhostOptions vhost, PrintWriter log) {
        this.data = data;
        this.vhost = vhost;
        this.log = log;
    }

    /**
     * Starts the node; on failure everything opened so far is closed again. The admin socket is bound
     * first (requests wait until the node is up), so a second node on the same data directory is
     * refused before it touches the device.
     *
     * @param log diagnostics (stderr)
     * @throws IllegalArgumentException for bad names, sizes or socket paths that are too long
     * @throws IllegalStateException    when another node runs on the data directory
     */
    public static Node start(Config c, PrintWriter log) throws IOException {
        return start(c, null, log);
    }

    /**
     * As {@link #start(Config, PrintWriter)}, as one node of several ({@code cluster}, null: alone):
     * its replica service listens on {@code cluster.listen()} and, with RF above 1, every OpLog
     * batch of its vDisks is on RF-1 of the peers before a write is acknowledged.
     */
    public static Node start(Config c, ClusterConfig cluster, PrintWriter log) throws IOException {
        Path data = c.data().toAbsolutePath().normalize();
        Files.createDirectories(data);
        for (String name : c.vdisks().keySet()) checkName(name);
        Path adminSocket = socket(data, ADMIN_SOCKET);
        Node n = new Node(data, c.vhost(), log);
        synchronized (n) {
            try {
                n.admin = AdminServer.start(adminSocket, new NodeAdmin(n), log);
                n.device = BlockDevices.open(c.deviceUri());
                n.openStore(c.deviceUri());
                n.stargate = Stargate.open(n.device, n.store, c.stargate(), n.startReplication(cluster));
                if (n.replication != null) {
                    n.replication.catalog(io.dsf.stargate.replication.Takeover.catalog(n.stargate, cluster.nodeId()));
                    // a read whose local copy fails its checksum is served from the replicas and written back
                    n.readRepair = new io.dsf.stargate.replication.ReplicaReadRepair(n.transport, cluster.nodeId(), cluster.peers());
                    n.stargate.readRepair(n.readRepair);
                    n.readRepair.neededPeers(n.replication::mayHoldNeeded); // a peer re-replicated away is not waited for
                    // a peer failed for longer than the grace period: the shards whose data it held write it again to live peers
                    n.rereplicator = new io.dsf.stargate.replication.Rereplicator(n.stargate, n.replication, n.baseAnnouncer(),
                            (long) (cluster.rereplicateAfterSeconds() * 1e9), cluster.checkpointAfterBytes() == 0 ? 0
                            : io.dsf.stargate.replication.Rereplicator.HISTORY_FACTOR, cluster.checkpointAfterBytes()).start();
                }
                n.catalog = NodeCatalog.load(n.store);
                n.serveAtStart(c);
                log.flush();
                return n;
            } catch (IOException | RuntimeException e) {
                n.close();
                throw e;
            }
        }
    }

    /** Starts the transport and the replica service; returns the shards' replication (null: RF1). */
    private io.dsf.stargate.replication.Replication startReplication(ClusterConfig cluster) throws IOException {
        if (cluster == null) return null;
        this.cluster = cluster;
        transport = io.dsf.rdma.Transports.open(cluster.transport());
        java.net.InetSocketAddress at = new java.net.InetSocketAddress(cluster.listen().getHostString(), cluster.listen().getPort());
        replicas = io.dsf.stargate.replication.ReplicaService.start(transport, device, store, at, ClusterConfig.REPLICA_CONNECTIONS, cluster.drainPolicy());
        log.println("dsf up: node " + cluster.nodeId() + " holds replicas on " + replicas.address().getHostString() + ":"
                + replicas.address().getPort() + " (" + cluster.transport() + "), rf " + cluster.rf()
                + ", domain " + cluster.domain() + (cluster.peers().isEmpty() ? "" : ", peers " + cluster.peers()));
        if (cluster.rf() == 1) return null;
        replication = new io.dsf.stargate.replication.Replication(cluster.nodeId(), cluster.domain(), transport, cluster.peers(),
                io.dsf.stargate.replication.Replication.Options.rf(cluster.rf()));
        return replication;
    }

    /** Re-replication after peer failures (null: no replication). */
    public synchronized io.dsf.stargate.replication.Rereplicator rereplicator() { return rereplicator; }

    /** Tells peers the shards' bases (used by the re-replication thread only, as BaseClient requires). */
    private io.dsf.stargate.replication.BaseClient baseClient;

    private io.dsf.stargate.replication.Rereplicator.Announcer baseAnnouncer() {
        baseClient = new io.dsf.stargate.replication.BaseClient(transport, cluster.nodeId(), java.util.concurrent.TimeUnit.SECONDS.toNanos(10));
        return baseClient;
    }

    /** Repairs of reads from the replicas (null: no replication). */
    public synchronized io.dsf.stargate.replication.ReplicaReadRepair readRepair() { return readRepair; }

    /** The multi-node settings (null on a node started alone). */
    public synchronized ClusterConfig cluster() { return cluster; }

    /** The shards' replication (null: RF1 or alone): peer health, each shard's current peers, counters. */
    public synchronized io.dsf.stargate.replication.Replication replication() { return replication; }

    /** The store id of vDisk {@code name} (what replication reports), or -1 when it has none. */
    public synchronized long vdiskId(String name) {
        ensureOpen();
        return stargate.vdisk(name) instanceof io.dsf.stargate.core.VDiskController c ? c.id() : -1;
    }

    /** The replica service's address (null on a node started alone). */
    public synchronized java.net.InetSocketAddress replicaAddress() {
        return replicas == null ? null : replicas.address();
    }

    /** The takeover running or last run (null: none since the node started); its progress is readable any time. */
    private volatile io.dsf.stargate.replication.Takeover.Progress takeover;

    /** The takeover running or last run, or null. */
    public io.dsf.stargate.replication.Takeover.Progress takeoverProgress() { return takeover; }

    /**
     * Takes over vDisk {@code name} of dead node {@code owner} from the replicas on this node and its
     * peers (see {@code Takeover}); the vDisk is created here, not attached. Runs on the calling thread
     * without this node's monitor (other admin requests, {@code status} with its progress, go on);
     * one takeover at a time.
     *
     * @throws IllegalStateException when the node is not part of a cluster or another takeover runs
     */
    public io.dsf.stargate.replication.Takeover.Result takeover(String name, String owner)
            throws io.dsf.stargate.replication.Takeover.TakeoverException {
        return takeover(name, owner, java.util.Set.of());
    }

    /**
     * As {@link #takeover(String, String)}, with nodes the operator declared lost: neither asked nor
     * counted as unreachable (after re-replication restored RF without them, they hold nothing needed).
     */
    public io.dsf.stargate.replication.Takeover.Result takeover(String name, String owner, java.util.Set<String> lost)
            throws io.dsf.stargate.replication.Takeover.TakeoverException {
        Stargate sg;
        io.dsf.rdma.api.RdmaTransport t;
        List<io.dsf.stargate.replication.PeerAddress> sources = new ArrayList<>();
        int rf;
        io.dsf.stargate.replication.Takeover.Progress p = new io.dsf.stargate.replication.Takeover.Progress(owner, name);
        synchronized (this) {
            ensureOpen();
            checkName(name);
            if (cluster == null || replicas == null) throw new IllegalStateException("takeover needs a node started with --node-id and --listen");
            if (owner.equals(cluster.nodeId())) throw new IllegalArgumentException("node " + owner + " is this node");
            io.dsf.stargate.replication.Takeover.Progress cur = takeover;
            if (cur != null && !cur.phase().equals("done") && !cur.phase().equals("failed"))
                throw new IllegalStateException("a takeover of " + cur.owner + "/" + cur.vdisk + " is running");
            takeover = p;
            sg = stargate;
            t = transport;
            rf = cluster.rf();
            java.net.InetSocketAddress self = replicas.address();
            String host = self.getAddress() == null || self.getAddress().isAnyLocalAddress() ? "127.0.0.1" : self.getAddress().getHostAddress();
            sources.add(new io.dsf.stargate.replication.PeerAddress(cluster.nodeId(), host, self.getPort()));
            sources.addAll(cluster.peers());
        }
        log.println("dsf: taking over vDisk " + name + " of node " + owner + " from " + sources + (lost.isEmpty() ? "" : ", lost: " + lost));
        log.flush();
        io.dsf.stargate.replication.Takeover.Result r = io.dsf.stargate.replication.Takeover.run(sg, t, owner, name, sources, rf, lost, data, p);
        log.println("dsf: took over vDisk " + name + " of node " + owner + ": " + r.batches() + " batches, " + r.dataBlocks()
                + " blocks of data, " + r.zeroBlocks() + " of zeroes");
        log.flush();
        return r;
    }

    /** The replica service (null on a node started alone): what this node holds for others. */
    public synchronized io.dsf.stargate.replication.ReplicaService replicaService() { return replicas; }

    /** Creates what the config asks for and attaches the recorded vDisks (all of them on a store from before the records). */
    private void serveAtStart(Config c) throws IOException {
        Map<String, Long> existing = new LinkedHashMap<>();
        for (Stargate.Info i : stargate.list()) existing.put(i.name(), i.size());
        boolean fresh = catalog.fresh();
        List<String> toAttach = new ArrayList<>();
        if (c.vdisksExplicit() || (fresh && existing.isEmpty())) {
            for (Map.Entry<String, Long> e : c.vdisks().entrySet()) {
                Long have = existing.get(e.getKey());
                if (have == null) {
                    stargate.create(e.getKey(), e.getValue());
                    log.println("dsf up: created vDisk " + e.getKey() + " (" + e.getValue() + " bytes, thin)");
                } else if (have.longValue() != e.getValue()) {
                    log.println("dsf up: vDisk " + e.getKey() + " exists with " + have + " bytes; serving it as it is (asked for " + e.getValue() + ")");
                }
                toAttach.add(e.getKey());
            }
        }
        if (fresh) {
            for (String name : existing.keySet()) {
                if (toAttach.contains(name)) continue;
                if (NAME.matcher(name).matches()) toAttach.add(name);
                else log.println("dsf up: vDisk " + name + " is not served: its name does not fit a socket file name (1-64 of A-Z a-z 0-9 . _ -)");
            }
            catalog.markStarted();
        }
        // recorded own targets first, then the LUNs that join them
        List<NodeCatalog.Entry> records = catalog.entries();
        for (NodeCatalog.Entry e : records) {
            if (!e.scsiHost().equals(e.name())) continue;
            if (stargate.vdisk(e.name()) == null) {
                log.println("dsf up: vDisk " + e.name() + " was attached but is no longer in the catalog; forgetting it");
                catalog.remove(e.name());
                continue;
            }
            attachOwn(e.name());
        }
        for (NodeCatalog.Entry e : records) {
            if (e.scsiHost().equals(e.name()) || served.containsKey(e.name())) continue;
            if (stargate.vdisk(e.name()) == null) {
                log.println("dsf up: vDisk " + e.name() + " was attached but is no longer in the catalog; forgetting it");
                catalog.remove(e.name());
                continue;
            }
            ScsiHost h = hosts.get(e.scsiHost());
            if (h == null || h.target.lun(e.lun()) != null) {
                log.println("dsf up: vDisk " + e.name() + " was LUN " + e.lun() + " of " + e.scsiHost() + ", which is not served; serving it on its own sockets");
                attachOwn(e.name());
            } else {
                attachLun(e.name(), h, e.lun());
            }
        }
        for (String name : toAttach) if (!served.containsKey(name)) attachOwn(name);
    }

    static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches())
            throw new IllegalArgumentException("vDisk name '" + name + "': use 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)");
    }

    /** Opens the store on the device; formats it only when the device is blank (no superblock at all). */
    private void openStore(String uri) {
        try {
            store = uri.startsWith("null:") ? BlockStore.format(device, FormatOptions.DEFAULTS) : BlockStore.open(device); // null: keeps nothing to open
        } catch (CorruptStoreException e) {
            boolean blank = !e.problems().isEmpty() && e.problems().stream().allMatch(p -> p.toString().contains("blank"));
            if (!blank) throw e;
            store = BlockStore.format(device, FormatOptions.DEFAULTS);
            formatted = true;
            log.println("dsf up: formatted blank device " + uri);
        }
    }

    private VDisk disk(String name) {
        VDisk d = stargate.vdisk(name);
        if (d == null) throw new IllegalArgumentException("no vDisk named " + name);
        return d;
    }

    /** Serves {@code name} as LUN 0 of a new target on its own vhost-user-scsi socket, and on its vhost-user-blk socket. */
    private Served attachOwn(String name) throws IOException {
        checkName(name);
        VDisk disk = disk(name);
        Path scsi = socket(data, name + ".scsi.sock"), blk = socket(data, name + ".blk.sock");
        ScsiTarget target = new ScsiTarget();
        VhostUserScsiServer ss = null;
        VhostUserBlkServer bs = null;
        try {
            target.attach(0, disk);
            ss = VhostUserScsiServer.start(scsi, target, vhost);
            bs = VhostUserBlkServer.start(blk, disk, vhost);
        } catch (IOException | RuntimeException e) {
            if (bs != null) bs.close();
            if (ss != null) ss.close();
            target.close();
            throw e;
        }
        ScsiHost h = new ScsiHost(name, target, ss);
        h.luns.put(0, name);
        hosts.put(name, h);
        Served s = new Served(name, h, 0, bs);
        served.put(name, s);
        catalog.put(name, name, 0);
        return s;
    }

    /** Serves {@code name} as LUN {@code lun} of {@code h}'s target (a hot-plug event for a running guest) and on its vhost-user-blk socket. */
    private Change attachLun(String name, ScsiHost h, int lun) throws IOException {
        checkName(name);
        VDisk disk = disk(name);
        Path blk = socket(data, name + ".blk.sock");
        VhostUserBlkServer bs = VhostUserBlkServer.start(blk, disk, vhost);
        VirtioScsiDevice.HotplugReport report;
        try {
            report = h.server.attachLun(lun, disk);
        } catch (RuntimeException e) {
            bs.close();
            throw e;
        }
        h.luns.put(lun, name);
        Served s = new Served(name, h, lun, bs);
        served.put(name, s);
        catalog.put(name, h.owner, lun);
        return new Change(view(s), report);
    }

    /**
     * Attaches vDisk {@code name}: on its own sockets ({@code scsiHost} null), or as the next free LUN
     * of the SCSI target of attached vDisk {@code scsiHost} (a running guest gets a hot-plug event),
     * plus its own vhost-user-blk socket. Recorded in the store.
     *
     * @throws IllegalArgumentException for an unknown vDisk or target, a bad name, a socket path that is too long
     * @throws IllegalStateException    when it is attached already or the node is stopping
     */
    public synchronized Change attach(String name, String scsiHost) throws IOException {
        ensureOpen();
        disk(name);
        if (served.containsKey(name)) throw new IllegalStateException("vDisk " + name + " is attached already");
        if (scsiHost == null) return new Change(view(attachOwn(name)), null);
        ScsiHost h = hosts.get(scsiHost);
        if (h == null) {
            throw new IllegalArgumentException(served.containsKey(scsiHost)
                    ? "vDisk " + scsiHost + " is a LUN of " + served.get(scsiHost).host().owner + "'s SCSI target; name that target"
                    : "no attached vDisk " + scsiHost + " serves a SCSI target (attach it first)");
        }
        int lun = 1;
        while (lun < ScsiLunAddress.MAX_LUNS && (h.luns.containsKey(lun) || h.target.lun(lun) != null)) lun++;
        if (lun == ScsiLunAddress.MAX_LUNS) throw new IllegalStateException("the SCSI target of " + scsiHost + " has no free LUN");
        Change c = attachLun(name, h, lun);
        log.println("dsf up: attached vDisk " + name + " as LUN " + lun + " of " + scsiHost + "'s SCSI target (hot-plug event: "
                + c.hotplug().name().toLowerCase(java.util.Locale.ROOT) + ")");
        log.flush();
        return c;
    }

    /**
     * Stops serving vDisk {@code name} (its servers drain their queues; a LUN on another target is
     * removed with a hot-plug event) and records it. A vDisk whose target still serves other LUNs
     * cannot be detached before them.
     *
     * @throws IllegalArgumentException when it is not attached
     * @throws IllegalStateException    when its target serves other LUNs, or the node is stopping
     */
    public synchronized Change detach(String name) {
        ensureOpen();
        Served s = served.get(name);
        if (s == null) throw new IllegalArgumentException(stargate.vdisk(name) == null ? "no vDisk named " + name : "vDisk " + name + " is not attached");
        ScsiHost h = s.host();
        Attachment before = view(s);
        VirtioScsiDevice.HotplugReport report = null;
        if (h.owner.equals(name)) {
            if (h.luns.size() > 1) {
                List<String> others = new ArrayList<>(h.luns.values());
                others.remove(name);
                throw new IllegalStateException("vDisk " + name + "'s SCSI target also serves " + String.join(", ", others) + ": detach them first");
            }
            h.server.close();
            h.target.close();
            hosts.remove(name);
        } else {
            report = h.server.detachLun(s.lun());
            h.luns.remove(s.lun());
        }
        s.blk().close();
        served.remove(name);
        catalog.remove(name);
        log.println("dsf up: detached vDisk " + name + (report == null ? "" : " (LUN " + s.lun() + " of " + h.owner
                + "'s SCSI target; hot-plug event: " + report.name().toLowerCase(java.util.Locale.ROOT) + ")"));
        log.flush();
        return new Change(before, report);
    }

    /** Creates a thin vDisk (not attached). */
    public synchronized Stargate.Info create(String name, long size, Integer shards) {
        ensureOpen();
        checkName(name);
        if (shards == null) stargate.create(name, size);
        else stargate.create(name, size, shards);
        return info(name);
    }

    /** Takes a read-only snapshot of {@code source} (not attached). */
    public synchronized Stargate.Info snapshot(String source, String name) {
        ensureOpen();
        checkName(name);
        stargate.snapshot(source, name);
        return info(name);
    }

    /** Makes a writable clone of {@code source} (not attached). */
    public synchronized Stargate.Info cloneVDisk(String source, String name) {
        ensureOpen();
        checkName(name);
        stargate.clone(source, name);
        return info(name);
    }

    /**
     * Deletes a vDisk that is not attached.
     *
     * @throws IllegalStateException when it is attached
     */
    public synchronized void delete(String name) {
        ensureOpen();
        if (served.containsKey(name)) throw new IllegalStateException("vDisk " + name + " is attached: detach it first");
        stargate.delete(name);
    }

    private Stargate.Info info(String name) {
        for (Stargate.Info i : stargate.list()) if (i.name().equals(name)) return i;
        throw new IllegalArgumentException("no vDisk named " + name);
    }

    /** The catalog, sorted by name. */
    public synchronized List<Stargate.Info> vdisks() {
        ensureOpen();
        return stargate.list();
    }

    /** How {@code name} is served, or null when it is not attached. */
    public synchronized Attachment attachment(String name) {
        Served s = served.get(name);
        return s == null ? null : view(s);
    }

    /** Statistics of {@code name} (or of every vDisk when null) since the previous call for it. */
    public synchronized List<VDiskStatsSnapshot> stats(String name) {
        ensureOpen();
        return name == null ? stargate.stats() : List.of(stargate.stats(name));
    }

    private Attachment view(Served s) {
        long[] scsi = s.host().server.queueRequests();
        long[] req = java.util.Arrays.copyOfRange(scsi, VirtioScsiDevice.FIRST_REQUEST_QUEUE, scsi.length);
        return new Attachment(s.name(), s.host().owner, s.lun(), s.host().server.socket(), s.blk().socket(), req, s.blk().queueRequests());
    }

    static Path socket(Path data, String file) {
        Path p = data.resolve(file);
        int len = p.toString().getBytes(StandardCharsets.UTF_8).length;
        if (len > MAX_SOCKET_PATH)
            throw new IllegalArgumentException("socket path " + p + " is " + len + " bytes, more than " + MAX_SOCKET_PATH + ": use a shorter --data");
        return p;
    }

    /** The listening sockets: per attached vDisk (by name) its vhost-user-scsi and vhost-user-blk sockets, then the admin socket. */
    public synchronized List<Endpoint> endpoints() {
        List<Endpoint> l = new ArrayList<>();
        for (Served s : served.values()) l.addAll(view(s).endpoints());
        if (admin != null) l.add(new Endpoint("admin", "-", admin.socket()));
        return l;
    }

    public Path data() { return data; }

    public synchronized Stargate stargate() { return stargate; }

    /** The admin socket. */
    public Path adminSocket() { return admin == null ? data.resolve(ADMIN_SOCKET) : admin.socket(); }

    /** True when this start formatted a blank device. */
    public boolean formatted() { return formatted; }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the node is stopping");
    }

    /**
     * Stops the admin socket, then the servers (each drains its queues: requests in flight complete),
     * then Stargate's shards (acknowledged data is durable), then closes the store and the device.
     * Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        if (admin != null) try { admin.close(); } catch (RuntimeException e) { first = e; }
        List<Served> all = new ArrayList<>(served.values());
        for (int i = all.size() - 1; i >= 0; i--) {
            try { all.get(i).blk().close(); } catch (RuntimeException e) { if (first == null) first = e; }
        }
        for (ScsiHost h : hosts.values()) {
            try { h.server.close(); } catch (RuntimeException e) { if (first == null) first = e; }
            try { h.target.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        }
        served.clear();
        hosts.clear();
        if (rereplicator != null) rereplicator.close();
        if (baseClient != null) try { baseClient.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (stargate != null) try { stargate.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (readRepair != null) readRepair.close();
        if (replicas != null) try { replicas.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (transport != null) try { transport.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (store != null) try { store.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (device != null) try { device.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (first != null) throw first;
    }
}
