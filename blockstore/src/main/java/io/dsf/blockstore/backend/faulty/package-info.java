/**
 * The {@code faulty:MODE:URI} backend: each queue is owned by the thread that opened it and wraps
 * one inner queue opened on that same thread; the device, its {@link
 * io.dsf.blockstore.backend.faulty.FaultInjector} and the power-loss overlay are thread safe (the
 * overlay behind one device-wide lock, as this is a test fixture). Modelled on SPDK's
 * {@code error} bdev, it fails or corrupts chosen I/Os of any inner device and emulates a
 * volatile write cache ({@code powerloss}) so crash tests can lose, reorder and tear unflushed
 * writes, either by an in-process {@code crash()} or by a real {@code kill -9}.
 */
package io.dsf.blockstore.backend.faulty;
