/**
 * SCSI target emulation: thread safe for any number of submitting threads (one per virtqueue or
 * iSCSI connection), each owning its preallocated {@link io.dsf.stargate.scsi.ScsiTask}s; a command
 * completes on its submitting thread or on the vDisk thread that completed its last block request,
 * with no lock and no allocation on the zero-copy path.
 *
 * <p>A {@link io.dsf.stargate.scsi.ScsiTarget} holds logical units, each a
 * {@link io.dsf.stargate.api.VDisk}; a frontend opens a {@link io.dsf.stargate.scsi.ScsiNexus} per
 * initiator, fills tasks (LUN, CDB, scatter list, direction, callback) and executes them; it runs
 * task management through {@link io.dsf.stargate.scsi.ScsiTmf}. Nothing here knows virtio or iSCSI;
 * stargate/SCSI.md lists the commands, VPD pages and sense codes.
 */
package io.dsf.stargate.scsi;
