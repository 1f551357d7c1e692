package io.dsf.frodo.scsi;

import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;
import io.dsf.stargate.scsi.ScsiLunAddress;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * The virtio-scsi event queue: the driver's buffers wait here until an event fills one. Events are
 * LUN hot-plug reports ({@code VIRTIO_SCSI_T_TRANSPORT_RESET} with reason RESCAN when a LUN was
 * attached, REMOVED when it was detached); an event that finds no buffer sets the missed flag, and
 * the next buffer the driver hands in carries {@code VIRTIO_SCSI_T_EVENTS_MISSED} (the driver then
 * rescans the whole target). When the queue stops, held buffers are returned empty so the stop does
 * not wait for events that never come.
 *
 * <pre>
 *   event (16 bytes, device-writable): event u32 | lun[8] | reason u32
 *     lun = 1, target, first-level LUN (2 bytes, SAM peripheral or flat addressing), 0, 0, 0, 0
 * </pre>
 *
 * <p>Threading: thread safe. Buffers come in on the event queue's worker ({@link #submit},
 * {@link #onStop}); events are posted from any control thread ({@link #post}). Both run under this
 * object's monitor: the event queue is off the I/O path (a few buffers, events only on attach and
 * detach), and the monitor also keeps a stop (which precedes any unmapping of guest memory) from
 * overlapping an event being written into a buffer.
 */
final class EventQueue implements VirtqueueHandler {
    static final int EVENT_SIZE = 16;
    static final int T_NO_EVENT = 0, T_TRANSPORT_RESET = 1;
    static final int T_EVENTS_MISSED = 0x8000_0000;
    static final int EVT_RESET_HARD = 0, EVT_RESET_RESCAN = 1, EVT_RESET_REMOVED = 2;

    /** {@link #post} outcomes: a buffer took the event; no buffer was free (reported as missed). */
    static final int DELIVERED = 0, MISSED = 1;

    private final ArrayDeque<VirtqRequest> held = new ArrayDeque<>();
    private final MemorySegment event = MemorySegment.ofArray(new long[2]);
    private boolean missed;
    private long delivered;
    private long missedEvents;

    @Override
    public VirtqRequest newRequest() {
        return new VirtqRequest(4) {};
    }

    /** Worker thread: holds the buffer, or answers it at once with EVENTS_MISSED when events were lost. */
    @Override
    public synchronized void submit(VirtqRequest r) {
        if (r.chain().writableBytes() < EVENT_SIZE || r.chain().readableBytes() != 0) {
            r.complete(0); // it can never carry an event
            return;
        }
        if (missed) {
            missed = false;
            fill(T_EVENTS_MISSED | T_NO_EVENT, 0, 0);
            r.complete(r.chain().writeWritable(0, event, 0, EVENT_SIZE));
            return;
        }
        held.add(r);
    }

    @Override
    public synchronized void onStop() {
        VirtqRequest r;
        while ((r = held.poll()) != null) r.complete(0);
    }

    /**
     * Reports a transport reset event for {@code lun} of target 0 with {@code reason}
     * ({@link #EVT_RESET_RESCAN}, {@link #EVT_RESET_REMOVED}). Any thread.
     *
     * @return {@link #DELIVERED} or {@link #MISSED}
     */
    synchronized int post(int lun, int reason) {
        VirtqRequest r = held.poll();
        if (r == null) {
            missed = true;
            missedEvents++;
            return MISSED;
        }
        fill(T_TRANSPORT_RESET, lun, reason);
        int n;
        try {
            n = r.chain().writeWritable(0, event, 0, EVENT_SIZE);
        } catch (IllegalStateException unmapped) {
            // the queue was abandoned (a crashed or torn-down connection) and its memory unmapped:
            // the buffer is gone with it; whoever connects next scans anyway
            held.clear();
            missed = true;
            missedEvents++;
            return MISSED;
        }
        r.complete(n);
        delivered++;
        return DELIVERED;
    }

    /** Forgets lost events (the driver went away: a new one scans everything anyway). Any thread. */
    synchronized void clearMissed() {
        missed = false;
    }

    /** Buffers held right now. Any thread. */
    synchronized int heldBuffers() { return held.size(); }

    /** Events delivered in a buffer so far. Any thread. */
    synchronized long delivered() { return delivered; }

    /** Events that found no buffer so far. Any thread. */
    synchronized long missedEvents() { return missedEvents; }

    private void fill(int type, int lun, int reason) {
        event.fill((byte) 0);
        event.set(JAVA_INT_UNALIGNED, 0, type);
        if (type == T_TRANSPORT_RESET) {
            long lun8 = ScsiLunAddress.encode(lun);
            event.set(JAVA_BYTE, 4, (byte) 1);
            event.set(JAVA_BYTE, 5, (byte) 0); // target 0
            event.set(JAVA_BYTE, 6, (byte) (lun8 >>> 56));
            event.set(JAVA_BYTE, 7, (byte) (lun8 >>> 48));
        }
        event.set(JAVA_INT_UNALIGNED, 12, reason);
    }
}
