package io.dsf.frodo.blk;

import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserServer;
import io.dsf.stargate.api.VDisk;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Serves one {@link VDisk} as a vhost-user-blk device on a unix socket: what {@code ./dsf up}
 * wires for each vDisk's blk endpoint, and what QEMU attaches with
 * {@code -chardev socket,id=c0,path=SOCKET[,reconnect=1] -device vhost-user-blk-pci,chardev=c0,num-queues=N}
 * (guest memory must be shared: {@code memory-backend-memfd,share=on}). Thread safe.
 */
public final class VhostUserBlkServer implements AutoCloseable {
    private final VhostUserServer server;

    private VhostUserBlkServer(VhostUserServer server) {
        this.server = server;
    }

    /** Binds {@code socket} and starts accepting a front-end; the vDisk stays owned by the caller. */
    public static VhostUserBlkServer start(Path socket, VDisk disk, VhostOptions opts) throws IOException {
        return new VhostUserBlkServer(VhostUserServer.start(socket, new VirtioBlkDevice(disk, opts.queues()), opts));
    }

    public Path socket() { return server.socket(); }

    /** Requests each queue has taken from its ring. */
    public long[] queueRequests() { return server.queueRequests(); }

    /** Malformed descriptor chains refused. */
    public long malformedChains() { return server.malformedChains(); }

    /** Requests resubmitted after a reconnect from the in-flight area. */
    public long resubmitted() { return server.resubmitted(); }

    /** Front-end connections accepted. */
    public long connections() { return server.connections(); }

    /** The generic server underneath (for stats and tests). */
    public VhostUserServer server() { return server; }

    /** Drains the queues, closes the connection and removes the socket. */
    @Override
    public void close() { server.close(); }

    /** Stops as a crash would (no drain, in-flight area kept, socket file left): reconnect tests. */
    public void closeAbruptly() { server.closeAbruptly(); }
}
