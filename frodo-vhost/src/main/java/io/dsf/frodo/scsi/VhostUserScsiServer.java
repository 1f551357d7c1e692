package io.dsf.frodo.scsi;

import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserServer;
import io.dsf.stargate.api.VDisk;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Serves one {@link VDisk} as LUN 0 of a vhost-user-scsi device
 * ({@code -device vhost-user-scsi-pci,chardev=c0,num_queues=N}); {@code --queues} request queues
 * plus the control and event queues. Thread safe.
 */
public final class VhostUserScsiServer implements AutoCloseable {
    private final VhostUserServer server;

    private VhostUserScsiServer(VhostUserServer server) {
        this.server = server;
    }

    public static VhostUserScsiServer start(Path socket, VDisk disk, VhostOptions opts) throws IOException {
        return new VhostUserScsiServer(VhostUserServer.start(socket, new VirtioScsiDevice(disk, opts.queues()), opts));
    }

    public Path socket() { return server.socket(); }

    /** Requests per virtqueue (0 control, 1 event, 2.. request queues). */
    public long[] queueRequests() { return server.queueRequests(); }

    public VhostUserServer server() { return server; }

    @Override public void close() { server.close(); }

    public void closeAbruptly() { server.closeAbruptly(); }
}
