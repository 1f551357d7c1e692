package io.dsf.frodo.scsi;

import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserServer;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.scsi.ScsiTarget;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Serves a stargate {@link ScsiTarget} over a vhost-user-scsi device
 * ({@code -device vhost-user-scsi-pci,chardev=c0,num_queues=N}); {@code --queues} request queues
 * plus the control and event queues. Thread safe.
 */
public final class VhostUserScsiServer implements AutoCloseable {
    private final VhostUserServer server;
    private final VirtioScsiDevice device;
    private final ScsiTarget ownedTarget;

    private VhostUserScsiServer(VhostUserServer server, VirtioScsiDevice device, ScsiTarget ownedTarget) {
        this.server = server;
        this.device = device;
        this.ownedTarget = ownedTarget;
    }

    /** Serves {@code disk} as LUN 0 of a target of its own (closed with the server). */
    public static VhostUserScsiServer start(Path socket, VDisk disk, VhostOptions opts) throws IOException {
        ScsiTarget target = new ScsiTarget();
        try {
            target.attach(0, disk);
            return start(socket, target, opts, target);
        } catch (IOException | RuntimeException e) {
            target.close();
            throw e;
        }
    }

    /** Serves the LUNs of {@code target} (which the caller keeps and closes after the server). */
    public static VhostUserScsiServer start(Path socket, ScsiTarget target, VhostOptions opts) throws IOException {
        return start(socket, target, opts, null);
    }

    private static VhostUserScsiServer start(Path socket, ScsiTarget target, VhostOptions opts, ScsiTarget owned) throws IOException {
        VirtioScsiDevice device = new VirtioScsiDevice(target, socket.getFileName().toString(), opts.queues());
        try {
            return new VhostUserScsiServer(VhostUserServer.start(socket, device, opts), device, owned);
        } catch (IOException | RuntimeException e) {
            device.nexus().close();
            throw e;
        }
    }

    public Path socket() { return server.socket(); }

    /** The virtio-scsi device (features, hot-plug events). */
    public VirtioScsiDevice device() { return device; }

    /**
     * Attaches {@code disk} as LUN {@code lun} of the served target and tells a running guest with a
     * hot-plug event (it scans the new LUN). Control plane.
     *
     * @throws IllegalStateException when the LUN is taken
     */
    public VirtioScsiDevice.HotplugReport attachLun(int lun, VDisk disk) {
        device.target().attach(lun, disk);
        return device.reportLunChange(lun, true);
    }

    /**
     * Detaches LUN {@code lun} of the served target (commands already running on it finish) and tells
     * a running guest with a hot-plug event (it removes the disk). Control plane.
     *
     * @throws IllegalArgumentException when no LUN {@code lun} is attached
     */
    public VirtioScsiDevice.HotplugReport detachLun(int lun) {
        if (device.target().detach(lun) == null) throw new IllegalArgumentException("no LUN " + lun + " on " + socket());
        return device.reportLunChange(lun, false);
    }

    public ScsiTarget target() { return device.target(); }

    /** Requests per virtqueue (0 control, 1 event, 2.. request queues). */
    public long[] queueRequests() { return server.queueRequests(); }

    public VhostUserServer server() { return server; }

    @Override
    public void close() {
        server.close();
        closeTarget();
    }

    public void closeAbruptly() {
        server.closeAbruptly();
        closeTarget();
    }

    private void closeTarget() {
        try {
            device.nexus().close();
        } catch (IllegalStateException busy) {
            return; // a task still runs (abrupt close with I/O held in the vDisk): nexus and target stay open
        }
        if (ownedTarget != null) ownedTarget.close();
    }
}
