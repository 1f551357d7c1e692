package io.dsf.frodo.virtq;

/**
 * A device's side of one virtqueue (virtio-blk request queue; virtio-scsi request, control or event
 * queue): makes the preallocated request objects and starts requests. Called only on the queue's
 * worker thread.
 */
public interface VirtqueueHandler {
    /** A new request slot; called once per ring slot when a queue of a new size starts (control path). */
    VirtqRequest newRequest();

    /**
     * Starts a request whose chain was walked and checked; the handler must lead to exactly one
     * {@link VirtqRequest#complete} (possibly before returning) and must not throw.
     */
    void submit(VirtqRequest request);

    /**
     * The queue is stopping: complete every request the handler holds without the device having
     * work for it (e.g. event buffers), so the stop does not wait for them. Worker thread.
     */
    default void onStop() {}
}
