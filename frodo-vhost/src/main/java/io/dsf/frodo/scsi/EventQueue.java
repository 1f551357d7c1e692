package io.dsf.frodo.scsi;

import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;

import java.util.ArrayDeque;

/**
 * The virtio-scsi event queue: the driver's buffers wait here until an event (LUN hot-plug, to come
 * with attach/detach) fills one; when the queue stops they are returned empty so the stop does not
 * wait for events that never come. Used on the event queue's worker thread.
 */
final class EventQueue implements VirtqueueHandler {
    private final ArrayDeque<VirtqRequest> held = new ArrayDeque<>();

    @Override
    public VirtqRequest newRequest() {
        return new VirtqRequest(4) {};
    }

    @Override
    public void submit(VirtqRequest r) {
        held.add(r);
    }

    @Override
    public void onStop() {
        VirtqRequest r;
        while ((r = held.poll()) != null) r.complete(0);
    }
}
