package io.dsf.frodo.virtq;

import java.lang.foreign.MemorySegment;

/**
 * A virtio device type served over vhost-user (the plug-in the engine is generic over): its feature
 * bits, configuration space and per-queue handlers. The vhost-user connection calls the control
 * methods on its thread; {@link #newHandler}'s result is used by one queue worker. Implementations
 * are thread safe for that split.
 */
public interface VirtioDevice {
    /** Human-readable device name for logs ("virtio-blk vdisk0"). */
    String name();

    /** Device-specific feature bits and the ring features it supports (VERSION_1, EVENT_IDX, INDIRECT_DESC...). */
    long features();

    /** vhost-user protocol feature bits this device needs beyond the engine's (e.g. CONFIG for blk). */
    long protocolFeatures();

    /** Virtqueues offered (GET_QUEUE_NUM). */
    int maxQueues();

    /** Largest descriptor chain a request may have (the device's segment limit plus headers). */
    int maxSegments();

    /** Size of the configuration space in bytes (at most 256). */
    int configSize();

    /** Writes the whole configuration space into {@code dst} ({@link #configSize()} bytes). */
    void readConfig(MemorySegment dst);

    /** Applies a driver write to the configuration space; false when the device refuses it. */
    boolean writeConfig(int offset, MemorySegment src);

    /**
     * The features the front-end acknowledged (SET_FEATURES), or 0 when the connection resets or
     * ends. Connection thread; devices that report events only when a feature is negotiated (e.g.
     * virtio-scsi hot-plug) read it from other threads, so they publish it safely.
     */
    default void featuresAcked(long features) {}

    /** The handler for queue {@code index}, made when the queue first starts. */
    VirtqueueHandler newHandler(int index);
}
