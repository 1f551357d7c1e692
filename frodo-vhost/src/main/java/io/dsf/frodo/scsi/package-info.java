/**
 * virtio-scsi over vhost-user: the control, event and request queues each run on their own queue
 * worker; commands go to a SCSI target (for now the in-module {@code StubScsiTarget}, to be replaced
 * by stargate's), vDisk completions arrive on any thread.
 */
package io.dsf.frodo.scsi;
