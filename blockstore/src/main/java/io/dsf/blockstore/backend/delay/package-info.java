/**
 * The {@code delay:USEC:URI} backend: each queue is owned by the thread that opened it and wraps
 * one inner queue opened on that same thread; the device itself is thread safe. Modelled on
 * SPDK's {@code delay} bdev: it adds latency to every completion of any inner device, so that
 * timeouts, back-pressure and latency-sensitive code paths can be exercised against
 * {@code mem:} or {@code file:} devices.
 */
package io.dsf.blockstore.backend.delay;
