/**
 * The vhost-user protocol: one accept/connection thread per server reads, validates and applies the
 * front-end's messages and starts or stops queue workers; nothing here runs on the I/O path.
 *
 * <p>{@link io.dsf.frodo.vhostuser.VhostUserServer} listens, {@code VhostUserConnection} handles the
 * message set QEMU 7.2 sends for vhost-user-blk-pci and vhost-user-scsi-pci,
 * {@link io.dsf.frodo.vhostuser.VhostUserProtocol} names the wire format.
 */
package io.dsf.frodo.vhostuser;
