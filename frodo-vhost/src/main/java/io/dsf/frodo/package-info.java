/**
 * Frodo: the vhost-user server that gives QEMU guests multi-queue virtio-scsi and virtio-blk
 * disks; one worker thread per enabled virtqueue owns that queue's state.
 */
package io.dsf.frodo;
