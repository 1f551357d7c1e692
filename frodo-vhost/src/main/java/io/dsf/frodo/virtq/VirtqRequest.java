package io.dsf.frodo.virtq;

/**
 * One request slot of a virtqueue, preallocated per descriptor head by the device's
 * {@link VirtqueueHandler}: the walked chain plus whatever the device keeps per request (subclass
 * fields). The worker fills the chain and hands the request to the device; the device calls
 * {@link #complete} exactly once, from any thread. Fields are written by the worker before
 * submission and by the device until completion; the completion queue orders the hand-back.
 */
public abstract class VirtqRequest {
    private final DescriptorChain chain;
    VirtqueueWorker worker;
    int usedLen;
    boolean inFlight;
    VirtqRequest nextCompleted;

    protected VirtqRequest(int maxSegments) {
        this.chain = new DescriptorChain(maxSegments);
    }

    /** The chain of the request being processed. */
    public final DescriptorChain chain() { return chain; }

    /** Index of the queue this request belongs to. */
    public final int queueIndex() { return worker.index(); }

    /**
     * Hands the request back to its queue with {@code usedLen} bytes written into device-writable
     * buffers; the worker puts it into the used ring. Any thread, exactly once per submission.
     */
    public final void complete(int usedLen) {
        this.usedLen = usedLen;
        worker.onComplete(this);
    }
}
