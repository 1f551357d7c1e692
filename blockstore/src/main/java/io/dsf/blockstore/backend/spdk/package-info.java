/**
 * The {@code spdk:TRID} backend: SPDK's user-space NVMe driver, loaded at run time from
 * {@code DSF_SPDK_LIB} (a real SPDK, or {@code native/}'s emulator in CI: the same Java code runs on both).
 * Threading: each {@link io.dsf.blockstore.spi.DeviceQueue} is one SPDK I/O qpair, allocated on, used by
 * and polled only by the thread that opened it (completion callbacks run inside that thread's
 * {@code poll}); the process-wide environment thread {@code dsf-spdk-env} initialises SPDK once and then
 * polls every controller's admin queue so keep-alive holds; devices and controllers are shared and
 * thread safe on the control path. No locks are shared between queues.
 */
package io.dsf.blockstore.backend.spdk;
