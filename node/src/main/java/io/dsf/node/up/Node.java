package io.dsf.node.up;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.CorruptStoreException;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import io.dsf.stargate.scsi.ScsiTarget;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One single-node dsf: a device, the BlockStore on it (opened, or formatted when the device is
 * blank), Stargate over the store (its vDisk catalog lives in the store), and for every vDisk a
 * vhost-user-scsi server (the vDisk as LUN 0 of a SCSI target of its own) and a vhost-user-blk
 * server, on sockets {@code DATA/NAME.scsi.sock} and {@code DATA/NAME.blk.sock}.
 *
 * <p>Threading: started and closed on one control thread; {@link #close} may run on a shutdown hook
 * and is idempotent. The data plane runs on the servers' and Stargate's own threads.
 */
public final class Node implements AutoCloseable {
    /** sockaddr_un's sun_path holds 108 bytes including the terminating NUL. */
    public static final int MAX_SOCKET_PATH = 107;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** What {@code up} was asked for. {@code vdisks}: name to size, created when absent. */
    public record Config(Path data, String deviceUri, Map<String, Long> vdisks, VhostOptions vhost, StargateOptions stargate) {}

    /** A listening socket: {@code kind} is {@code vhost-user-scsi} or {@code vhost-user-blk}. */
    public record Endpoint(String kind, String vdisk, Path socket) {
        /** The line {@code up} prints: {@code endpoint KIND NAME SOCKET}. */
        public String line() { return "endpoint " + kind + " " + vdisk + " " + socket; }
    }

    private final BlockDevice device;
    private BlockStore store;
    private Stargate stargate;
    private final List<AutoCloseable> servers = new ArrayList<>();
    private final List<ScsiTarget> targets = new ArrayList<>();
    private final List<Endpoint> endpoints = new ArrayList<>();
    private boolean formatted;
    private boolean closed;

    private Node(BlockDevice device) {
        this.device = device;
    }

    /**
     * Starts the node; on failure everything opened so far is closed again.
     *
     * @param log diagnostics (stderr)
     * @throws IllegalArgumentException for bad names, sizes or socket paths that are too long
     */
    public static Node start(Config c, PrintWriter log) throws IOException {
        Path data = c.data().toAbsolutePath().normalize();
        Files.createDirectories(data);
        for (String name : c.vdisks().keySet()) checkName(name);
        BlockDevice dev = BlockDevices.open(c.deviceUri());
        Node n = new Node(dev);
        try {
            n.openStore(c.deviceUri(), log);
            n.stargate = Stargate.open(dev, n.store, c.stargate());
            Map<String, Long> existing = new LinkedHashMap<>();
            for (Stargate.Info i : n.stargate.list()) existing.put(i.name(), i.size());
            for (Map.Entry<String, Long> e : c.vdisks().entrySet()) {
                Long have = existing.get(e.getKey());
                if (have == null) {
                    n.stargate.create(e.getKey(), e.getValue());
                    log.println("dsf up: created vDisk " + e.getKey() + " (" + e.getValue() + " bytes, thin)");
                } else if (have.longValue() != e.getValue()) {
                    log.println("dsf up: vDisk " + e.getKey() + " exists with " + have + " bytes; serving it as it is (asked for " + e.getValue() + ")");
                }
            }
            for (Stargate.Info i : n.stargate.list()) n.serve(data, i.name(), c.vhost());
            log.flush();
            return n;
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
    }

    static void checkName(String name) {
        if (!NAME.matcher(name).matches())
            throw new IllegalArgumentException("vDisk name '" + name + "': use 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)");
    }

    /** Opens the store on the device; formats it only when the device is blank (no superblock at all). */
    private void openStore(String uri, PrintWriter log) {
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

    private void serve(Path data, String name, VhostOptions opts) throws IOException {
        VDisk disk = stargate.vdisk(name);
        Path scsi = socket(data, name + ".scsi.sock"), blk = socket(data, name + ".blk.sock");
        ScsiTarget target = new ScsiTarget();
        targets.add(target);
        target.attach(0, disk);
        servers.add(VhostUserScsiServer.start(scsi, target, opts));
        endpoints.add(new Endpoint("vhost-user-scsi", name, scsi));
        servers.add(VhostUserBlkServer.start(blk, disk, opts));
        endpoints.add(new Endpoint("vhost-user-blk", name, blk));
    }

    private static Path socket(Path data, String file) {
        Path p = data.resolve(file);
        int len = p.toString().getBytes(StandardCharsets.UTF_8).length;
        if (len > MAX_SOCKET_PATH)
            throw new IllegalArgumentException("socket path " + p + " is " + len + " bytes, more than " + MAX_SOCKET_PATH + ": use a shorter --data");
        return p;
    }

    public List<Endpoint> endpoints() { return List.copyOf(endpoints); }

    public Stargate stargate() { return stargate; }

    /** True when this start formatted a blank device. */
    public boolean formatted() { return formatted; }

    /**
     * Stops the servers (each drains its queues: requests in flight complete), then Stargate's
     * shards (acknowledged data is durable), then closes the store and the device. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (int i = servers.size() - 1; i >= 0; i--) {
            try { servers.get(i).close(); } catch (Exception e) { if (first == null) first = asRuntime(e); }
        }
        for (ScsiTarget t : targets) {
            try { t.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        }
        if (stargate != null) try { stargate.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (store != null) try { store.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        try { device.close(); } catch (RuntimeException e) { if (first == null) first = e; }
        if (first != null) throw first;
    }

    private static RuntimeException asRuntime(Exception e) {
        return e instanceof RuntimeException r ? r : new IllegalStateException(e);
    }
}
