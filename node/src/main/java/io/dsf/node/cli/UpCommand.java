package io.dsf.node.cli;

import io.dsf.blockstore.io.Sizes;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.virtq.IdleMode;
import io.dsf.node.Main;
import io.dsf.node.up.Node;
import io.dsf.stargate.core.StargateOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;

/**
 * {@code dsf up}: runs one node in the foreground (DESIGN.md's command-line contract): opens the
 * store on the device or formats a blank device, opens Stargate, creates the vDisks asked for that
 * do not exist, serves the attached vDisks over vhost-user-scsi (LUN 0) and vhost-user-blk and the
 * admin socket, prints one {@code endpoint KIND NAME SOCKET} line per socket on stdout once they all
 * listen ({@code endpoint admin - SOCKET} last), and runs until SIGTERM/SIGINT, which stop the admin
 * socket, the servers (queues drained), Stargate, the store and the device, and exit 0. Control
 * plane: the command's thread waits; a shutdown hook stops the node.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Runs one node in the foreground: vDisks on a BlockStore, served over vhost-user-scsi and vhost-user-blk.",
                "Prints 'endpoint vhost-user-scsi NAME SOCKET', 'endpoint vhost-user-blk NAME SOCKET' and 'endpoint admin - SOCKET'",
                "on stdout once listening; './dsf vdisk ...' and './dsf stats' talk to the admin socket.",
                "The attached vDisks are recorded in the store: a restart serves the same ones.",
                "SIGTERM or SIGINT stops it cleanly (exit 0)."})
public final class UpCommand implements Callable<Integer> {
    /** The default device size: a thin (sparse) file. */
    public static final String DEFAULT_DEVICE_SIZE = "8g";
    /** The vDisk a node creates on its first start on an empty store, unless --vdisk says otherwise. */
    public static final String DEFAULT_VDISK = "vdisk0:16g";

    @Spec CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "Data directory: default device and sockets (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("var", "node");

    @Option(names = "--device", paramLabel = "URI",
            description = "The device (default: file:DIR/dev0.img?size=" + DEFAULT_DEVICE_SIZE + ", a sparse file). One device for now.")
    List<String> devices;

    @Option(names = "--vdisk", paramLabel = "NAME:SIZE",
            description = "A vDisk to serve, created (thin) if absent, and attached; repeatable. Default: vdisk0:16g, created on the first start"
                    + " on a store without vDisks. The vDisks attached before (./dsf vdisk attach) are served too.")
    List<String> vdisks;

    @Option(names = "--queues", paramLabel = "N", description = "Request queues offered to the guest per device (default: ${DEFAULT-VALUE}).")
    int queues = 16;

    @Option(names = "--idle", paramLabel = "spin|backoff|block", description = "What an idle queue worker does (default: ${DEFAULT-VALUE}).")
    String idle = "block";

    @Option(names = "--threading", paramLabel = "dedicated|shared", description = "Queue threads: dedicated (one per enabled virtqueue) or shared (every virtqueue on one thread) (default: ${DEFAULT-VALUE}).")
    String threading = "dedicated";

    @Option(names = "--shards", paramLabel = "N", description = "Shards of a new vDisk (default: from the core count, at most 8).")
    Integer shards;

    @Option(names = "--node-id", paramLabel = "ID", description = "This node's id among several (with --listen).")
    String nodeId;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Where this node's replica service listens (port 0: any).")
    String listen;

    @Option(names = "--peers", paramLabel = "ID@HOST:PORT,...", description = "The other nodes' replica services.")
    String peers;

    @Option(names = "--rf", paramLabel = "1|2|3", description = "Copies of every acknowledged write, this node's included (default: ${DEFAULT-VALUE}).")
    int rf = 1;

    @Option(names = "--transport", paramLabel = "tcp|verbs", description = "Replication transport (default: ${DEFAULT-VALUE}).")
    String transport = "tcp";

    @Option(names = "--domain", paramLabel = "node=N,block=B,rack=R",
            description = "This node's availability domain: copies of a write go to other racks, else blocks, else nodes (boxes), "
                    + "as far as the peers' labels allow (peers: ID@HOST:PORT/block=B/rack=R). The node label defaults to --node-id.")
    String domain;

    @Option(names = "--rereplicate-after", paramLabel = "SECONDS",
            description = "How long a failed peer is waited for before the shards whose data it held write that data again "
                    + "to live peers, restoring RF (default: ${DEFAULT-VALUE}).")
    double rereplicateAfter = io.dsf.node.up.ClusterConfig.REREPLICATE_AFTER_SECONDS;

    @Option(names = "--checkpoint-after", paramLabel = "SIZE",
            description = "Replicated history per shard (beyond 4x its live data) after which the shard writes its data again "
                    + "so replicas can drop the older history; 0 turns checkpoints off (default: 256m).")
    String checkpointAfter;

    @Option(names = "--replica-drain-after", paramLabel = "SIZE|off",
            description = "As a replica: drain an owner's replicated batches into this node's image of its vDisk once this much "
                    + "is not drained yet (and after 30 s without a batch anyway), then delete them; 0: only when idle; off: never, the "
                    + "replicas keep every batch (default: 64m).")
    String replicaDrainAfter;

    /** Released by {@link #stop()}: tests running the command in-process stop it with it. */
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile Node node;

    /** Stops a running {@code up} as SIGTERM would (for in-process use). */
    public void stop() { stop.countDown(); }

    /** The running node (null before it started). */
    public Node node() { return node; }

    @Override
    public Integer call() throws Exception {
        Node.Config config = config();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Node n;
        try {
            n = Node.start(config, cluster(), err);
        } catch (IllegalStateException | IllegalArgumentException e) { // another node on DATA, a bad name, a socket path too long
            err.println("dsf up: " + e.getMessage());
            err.flush();
            return Main.EXIT_FAILURE;
        }
        node = n;
        Thread hook = new Thread(() -> {
            try {
                n.close();
            } catch (RuntimeException e) {
                err.println("dsf up: error while stopping: " + e);
                err.flush();
                Runtime.getRuntime().halt(1);
            }
            err.println("dsf up: stopped");
            err.flush();
            out.flush();
            Runtime.getRuntime().halt(0); // a signal's exit status would be 128+N: the contract says 0
        }, "dsf-up-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        for (Node.Endpoint e : n.endpoints()) out.println(e.line());
        out.flush();
        err.println("dsf up: running (" + n.endpoints().size() + " endpoints, data " + config.data().toAbsolutePath().normalize()
                + "); SIGTERM or Ctrl-C stops it");
        err.flush();
        stop.await();
        Runtime.getRuntime().removeShutdownHook(hook);
        n.close();
        return 0;
    }

    /** The multi-node flags (null when none is given: a node alone, as before). */
    io.dsf.node.up.ClusterConfig cluster() {
        if (nodeId == null && listen == null && peers == null && rf == 1 && domain == null) {
            if (replicaDrainAfter != null || checkpointAfter != null)
                throw new ParameterException(spec.commandLine(), "--replica-drain-after and --checkpoint-after need --listen (a replicating node)");
            return null;
        }
        try {
            String id = nodeId == null ? "node" : nodeId;
            return new io.dsf.node.up.ClusterConfig(id,
                    listen == null ? null : io.dsf.stargate.replication.PeerAddress.parseHostPort(listen),
                    io.dsf.stargate.replication.PeerAddress.parseList(peers), rf, transport,
                    io.dsf.stargate.replication.Domain.parse(domain, ",", io.dsf.stargate.replication.PeerAddress.checkId(id)),
                    rereplicateAfter, checkpointAfter == null ? io.dsf.node.up.ClusterConfig.CHECKPOINT_AFTER_BYTES : Sizes.parse(checkpointAfter),
                    replicaDrainAfter == null ? io.dsf.node.up.ClusterConfig.REPLICA_DRAIN_AFTER_BYTES
                            : replicaDrainAfter.equals("off") ? io.dsf.node.up.ClusterConfig.REPLICA_DRAIN_OFF : Sizes.parse(replicaDrainAfter));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    Node.Config config() {
        var cl = spec.commandLine();
        if (queues < 1 || queues > 62) throw new ParameterException(cl, "--queues must be in 1..62: " + queues);
        IdleMode idleMode;
        try {
            idleMode = IdleMode.parse(idle);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, "--idle: " + e.getMessage());
        }
        VhostOptions.Threading threadingMode;
        try {
            threadingMode = VhostOptions.Threading.parse(threading);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, "--threading: " + e.getMessage());
        }
        if (devices != null && devices.size() > 1) throw new ParameterException(cl, "one --device for now (got " + devices.size() + ")");
        Path dir = data.toAbsolutePath().normalize();
        String device = devices == null || devices.isEmpty() ? "file:" + dir.resolve("dev0.img") + "?size=" + DEFAULT_DEVICE_SIZE : devices.get(0);
        Map<String, Long> disks = new LinkedHashMap<>();
        boolean explicit = vdisks != null && !vdisks.isEmpty();
        for (String v : explicit ? vdisks : List.of(DEFAULT_VDISK)) {
            int colon = v.lastIndexOf(':');
            if (colon <= 0 || colon == v.length() - 1) throw new ParameterException(cl, "--vdisk NAME:SIZE expected: " + v);
            long size;
            try {
                size = Sizes.parse(v.substring(colon + 1));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, "--vdisk " + v + ": " + e.getMessage());
            }
            if (size <= 0 || size % 4096 != 0) throw new ParameterException(cl, "--vdisk " + v + ": size must be a positive multiple of 4k");
            if (disks.put(v.substring(0, colon), size) != null) throw new ParameterException(cl, "--vdisk " + v.substring(0, colon) + " given twice");
        }
        StargateOptions sg = StargateOptions.defaults();
        if (shards != null) {
            if (shards < 1 || shards > 64) throw new ParameterException(cl, "--shards must be in 1..64: " + shards);
            sg = sg.withShards(shards);
        }
        VhostOptions vh = VhostOptions.defaults().withQueues(queues).withIdle(idleMode).withThreading(threadingMode);
        return new Node.Config(dir, device, disks, explicit, vh, sg);
    }
}
