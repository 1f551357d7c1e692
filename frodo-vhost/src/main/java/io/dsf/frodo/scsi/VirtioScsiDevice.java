package io.dsf.frodo.scsi;

import io.dsf.frodo.vhostuser.VhostUserProtocol;
import io.dsf.frodo.virtq.VirtioDevice;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;
import io.dsf.stargate.scsi.ScsiLunAddress;
import io.dsf.stargate.scsi.ScsiNexus;
import io.dsf.stargate.scsi.ScsiTarget;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * virtio-scsi over vhost-user in front of a stargate {@link ScsiTarget} (target 0, its LUNs): queue 0
 * is the control queue (task management functions run by the target, async notification queries
 * answered with no events), queue 1 the event queue (buffers held until a LUN hot-plug event fills
 * one, returned empty when the queue stops), queues 2.. the request queues, whose commands the
 * target executes. The device is one initiator: one {@link ScsiNexus} for all its queues and
 * connections. {@link #reportLunChange} tells the driver that a LUN came or went, when it negotiated
 * {@link #F_HOTPLUG}.
 *
 * <pre>
 *   command request (51 bytes, device-readable): lun[8] | id u64 | task_attr u8 | prio u8 | crn u8 | cdb[32]
 *   command response (108 bytes, device-writable): sense_len u32 | resid u32 | status_qualifier u16
 *     | status u8 | response u8 | sense[96]
 *   data-out follows the request, data-in follows the response
 *   config (36 bytes): num_queues | seg_max | max_sectors | cmd_per_lun | event_info_size | sense_size
 *     | cdb_size (u32 each) | max_channel u16 | max_target u16 | max_lun u32
 * </pre>
 * Thread safe: its handlers belong to their queue workers; the acknowledged features and the current
 * event queue are published through volatile fields.
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
    private volatile long ackedFeatures;
    private volatile EventQueue events;

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

    /** LUN hot-plug events (transport reset, RESCAN / REMOVED) may be reported on the event queue. */
    public static final long F_HOTPLUG = 1L << 1;
    /** Parameter-change events may be reported (QEMU always acks this bit for vhost-user-scsi). */
    public static final long F_CHANGE = 1L << 2;

    /** What became of a hot-plug report ({@link #reportLunChange}). */
    public enum HotplugReport {
        /** An event buffer carried it to the driver. */
        DELIVERED,
        /** No event buffer was free: the driver's next buffer says events were missed (it rescans). */
        MISSED,
        /** No driver negotiated hot-plug: it learns at its next scan (and from REPORTED LUNS DATA HAS CHANGED). */
        NOT_NEGOTIATED
    }

    @Override
    public long features() {
        return F_HOTPLUG | F_CHANGE | VhostUserProtocol.VIRTIO_F_VERSION_1 | VhostUserProtocol.VIRTIO_RING_F_INDIRECT_DESC | VhostUserProtocol.VIRTIO_RING_F_EVENT_IDX;
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
    public void featuresAcked(long features) {
        ackedFeatures = features;
        EventQueue e = events;
        if (features == 0 && e != null) e.clearMissed();
    }

    /** Whether the current front-end negotiated {@link #F_HOTPLUG}. Any thread. */
    public boolean hotplugNegotiated() { return (ackedFeatures & F_HOTPLUG) != 0; }

    /**
     * Reports that LUN {@code lun} of target 0 was attached ({@code added}: transport reset, reason
     * RESCAN; the driver scans it) or detached (reason REMOVED; the driver removes it). Call it after
     * changing the target. Any thread.
     */
    public HotplugReport reportLunChange(int lun, boolean added) {
        if (lun < 0 || lun >= ScsiLunAddress.MAX_LUNS) throw new IllegalArgumentException("LUN out of range: " + lun);
        EventQueue e = events;
        if (e == null || !hotplugNegotiated()) return HotplugReport.NOT_NEGOTIATED;
        return e.post(lun, added ? EventQueue.EVT_RESET_RESCAN : EventQueue.EVT_RESET_REMOVED) == EventQueue.DELIVERED
                ? HotplugReport.DELIVERED : HotplugReport.MISSED;
    }

    /** Events delivered and events that found no buffer, on the current event queue. Any thread. */
    public long[] eventCounts() {
        EventQueue e = events;
        return e == null ? new long[2] : new long[] {e.delivered(), e.missedEvents()};
    }

    /** Event buffers the driver has handed in and that wait for an event. Any thread. */
    public int eventBuffersHeld() {
        EventQueue e = events;
        return e == null ? 0 : e.heldBuffers();
    }

    @Override
    public VirtqueueHandler newHandler(int index) {
        if (index == CONTROL_QUEUE) return new ControlQueue(nexus);
        if (index == EVENT_QUEUE) {
            EventQueue e = new EventQueue(); // a replaced (abandoned) worker's queue is never posted to again
            events = e;
            return e;
        }
        return new VirtqueueHandler() {
            @Override public VirtqRequest newRequest() { return new ScsiRequest(nexus, maxSegments()); }
            @Override public void submit(VirtqRequest r) { ((ScsiRequest) r).start(); }
        };
    }
}
