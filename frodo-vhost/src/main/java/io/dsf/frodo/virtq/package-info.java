/**
 * Guest memory and split virtqueues: each virtqueue is an agent owned by one {@link io.dsf.frodo.virtq.QueueRunner}
 * thread (single writer of its used ring and request slots; {@code dedicated}: a runner per queue,
 * {@code shared}: a few runners cycling through many queues); device completions reach it from any
 * thread through a lock-free completion stack, and the connection thread configures a worker only
 * while it is stopped.
 *
 * <p>{@link io.dsf.frodo.virtq.GuestMemory} maps and bounds-checks, {@link io.dsf.frodo.virtq.SplitVirtqueue}
 * walks chains and writes the used ring, {@link io.dsf.frodo.virtq.VirtqueueWorker} is the queue's duty cycle,
 * {@link io.dsf.frodo.virtq.QueueRunner} / {@link io.dsf.frodo.virtq.QueueRunners} run duty cycles on threads,
 * {@link io.dsf.frodo.virtq.VirtioDevice} and {@link io.dsf.frodo.virtq.VirtqueueHandler} are the device
 * plug-in points (virtio-blk, virtio-scsi request/control/event queues).
 */
package io.dsf.frodo.virtq;
