/**
 * The door frontends use to reach a vDisk: any thread may submit, completions arrive once per
 * accepted request on a Stargate thread (or inline on the submitter), never blocking it.
 *
 * <p>{@link io.dsf.stargate.api.VDisk} is what the SCSI target, Frodo's virtio-blk device and
 * the load generator call; {@link io.dsf.stargate.api.VDiskStatus} names every outcome.
 */
package io.dsf.stargate.api;
