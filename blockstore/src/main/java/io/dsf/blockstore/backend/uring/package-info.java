/**
 * The {@code uring:} backend: O_DIRECT I/O on a block device or file through io_uring. Threading:
 * the device is thread safe; each queue is its own ring, created by and owned by one thread, which
 * alone submits, reaps and closes it (no locks on the I/O path, nothing shared between queues
 * except the read-only device fd).
 */
package io.dsf.blockstore.backend.uring;
