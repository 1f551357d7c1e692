/**
 * vhost-user targets of the load generator: each job thread owns one request virtqueue of a
 * {@link io.dsf.frodo.driver.VhostUserDriver} connection (single writer of its ring, polling its used
 * ring); queue set-up, buffer allocation and tear-down are serialised on the driver. Also the Frodo
 * server on a null vDisk that {@code bench/vhost-compare.sh} runs against qemu-storage-daemon.
 */
package io.dsf.bench.vhost;
