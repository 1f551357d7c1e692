/**
 * Guest memory and split virtqueues: each virtqueue is owned by one worker thread (single writer of
 * its used ring and request slots); device completions reach it from any thread through a bounded
 * many-to-one queue, and the connection thread configures a worker only while it is stopped.
 *
 * <p>{@link io.dsf.frodo.virtq.GuestMemory} maps and bounds-checks, {@link io.dsf.frodo.virtq.SplitVirtqueue}
 * walks chains and writes the used ring, {@link io.dsf.frodo.virtq.VirtqueueWorker} runs the duty cycle,
 * {@link io.dsf.frodo.virtq.VirtioDevice} and {@link io.dsf.frodo.virtq.VirtqueueHandler} are the device
 * plug-in points (virtio-blk now, virtio-scsi request/control/event queues next).
 */
package io.dsf.frodo.virtq;
