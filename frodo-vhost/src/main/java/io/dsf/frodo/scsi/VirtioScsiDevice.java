package io.dsf.frodo.scsi;

import io.dsf.frodo.vhostuser.VhostUserProtocol;
import io.dsf.frodo.virtq.VirtioDevice;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;
import io.dsf.stargate.scsi.ScsiNexus;
import io.dsf.stargate.scsi.ScsiTarget;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * virtio-scsi over vhost-user in front of a stargate {@link ScsiTarget} (target 0, its LUNs): queue 0
 * is the control queue (task management functions run by the target, async notification queries
 * answered with no events), queue 1 the event queue (buffers held until an event, returned empty
 * when the queue stops), queues 2.. the request queues, whose commands the target executes. The
 * device is one initiator: one {@link ScsiNexus} for all its queues and connections.
 *
 * <pre>
 *   command request (51 bytes, device-readable): lun[8] | id u64 | task_attr u8 | prio u8 | crn u8 | cdb[32]
 *   command response (108 bytes, device-writable): sense_len u32 | resid u32 | status_qualifier u16
 *     | status u8 | response u8 | sense[96]
 *   data-out follows the request, data-in follows the response
 *   config (36 bytes): num_queues | seg_max | max_sectors | cmd_per_lun | event_info_size | sense_size
 *     | cdb_size (u32 each) | max_channel u16 | max_target u16 | max_lun u32
 * </pre>
 * Thread safe: immutable; its handlers belong to their queue workers.
 */
public final class VirtioScsiDevice implements VirtioDevice {
    public static final int CONTROL_QUEUE = 0;
    public static final int EVENT_QUEUE = 1;
    public static final int FIRST_REQUEST_QUEUE = 2;
    public static final int REQ_SIZE = 51;
    public static final int RESP_SIZE = 108;
    public static final int CDB_SIZE = 32;
    public static final int SENSE_SIZE = 96;
    public static final int SEG_MAX = 126;

    private final ScsiTarget target;
    private final ScsiNexus nexus;
    private final String name;
    private final int requestQueues;

    /** {@code name} names the device in logs and the nexus (e.g. the socket path). */
    public VirtioScsiDevice(ScsiTarget target, String name, int requestQueues) {
        if (requestQueues < 1 || requestQueues > 62) throw new IllegalArgumentException("request queues must be in 1..62: " + requestQueues);
        this.target = target;
        this.name = name;
        this.requestQueues = requestQueues;
        this.nexus = target.openNexus(name);
    }

    public ScsiTarget target() { return target; }

    public ScsiNexus nexus() { return nexus; }

    @Override public String name() { return "virtio-scsi " + name; }

    /** Parameter-change events may be reported (QEMU always acks this bit for vhost-user-scsi). */
    public static final long F_CHANGE = 1L << 2;

    @Override
    public long features() {
        return F_CHANGE | VhostUserProtocol.VIRTIO_F_VERSION_1 | VhostUserProtocol.VIRTIO_RING_F_INDIRECT_DESC | VhostUserProtocol.VIRTIO_RING_F_EVENT_IDX;
    }

    /** QEMU's vhost-user-scsi keeps the configuration space itself. */
    @Override public long protocolFeatures() { return 0; }

    @Override public int maxQueues() { return requestQueues + FIRST_REQUEST_QUEUE; }

    @Override public int maxSegments() { return SEG_MAX + 2; }

    @Override public int configSize() { return 36; }

    @Override
    public void readConfig(MemorySegment c) {
        c.fill((byte) 0);
        c.set(JAVA_INT_UNALIGNED, 0, requestQueues);
        c.set(JAVA_INT_UNALIGNED, 4, SEG_MAX);
        c.set(JAVA_INT_UNALIGNED, 8, target.config().maxTransferBlocks() * 8); // 512-byte sectors of 4 KiB blocks
        c.set(JAVA_INT_UNALIGNED, 12, 128);
        c.set(JAVA_INT_UNALIGNED, 16, 16);
        c.set(JAVA_INT_UNALIGNED, 20, SENSE_SIZE);
        c.set(JAVA_INT_UNALIGNED, 24, CDB_SIZE);
        c.set(JAVA_SHORT_UNALIGNED, 28, (short) 0);
        c.set(JAVA_SHORT_UNALIGNED, 30, (short) 0);
        c.set(JAVA_INT_UNALIGNED, 32, 0);
    }

    @Override public boolean writeConfig(int offset, MemorySegment src) { return false; }

    @Override
    public VirtqueueHandler newHandler(int index) {
        if (index == CONTROL_QUEUE) return new ControlQueue(nexus);
        if (index == EVENT_QUEUE) return new EventQueue();
        return new VirtqueueHandler() {
            @Override public VirtqRequest newRequest() { return new ScsiRequest(nexus, maxSegments()); }
            @Override public void submit(VirtqRequest r) { ((ScsiRequest) r).start(); }
        };
    }
}
