/**
 * BlockStore: objects (thin, resizable, with attributes and per-slice CRC32C) on a raw
 * {@link io.dsf.blockstore.spi.BlockDevice}, with a metadata journal, checkpoints and crash
 * recovery; the on-device format is {@code blockstore/FORMAT.md}. Threading: {@link
 * io.dsf.blockstore.store.BlockStore}'s control path (create, resize, delete, attributes, sync,
 * channels) is thread safe; data moves through {@link io.dsf.blockstore.store.StoreChannel}s,
 * each owned by one I/O thread with its own device queue, buffers, unit cache and record ring (no
 * lock is taken per write). Journal commits run one at a time under a commit token: a channel that
 * syncs runs the group commit itself on its own queue when the token is free (no hand-off), and
 * one journal thread per store does the rest (contended syncs, ring drains, disarms, checkpoints).
 */
package io.dsf.blockstore.store;
