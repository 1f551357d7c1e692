/**
 * virtio-scsi over vhost-user: the control, event and request queues each run on their own queue
 * worker; commands and task management functions go to stargate's SCSI target
 * ({@code io.dsf.stargate.scsi}) through one nexus per device; target completions arrive on any thread.
 */
package io.dsf.frodo.scsi;
