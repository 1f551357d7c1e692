/**
 * Threading: the device is thread safe and each queue is its own io_uring ring, created by and
 * owned by one thread, which alone submits, reaps and closes it (no locks on the I/O path; queues
 * share only the device's file descriptor). This is the {@code uring:} backend: O_DIRECT I/O on a
 * block device or a file through io_uring.
 */
package io.dsf.blockstore.backend.uring;
