/**
 * The BlockStore's metadata in memory ({@link io.dsf.blockstore.store.meta.MetaImage}), how it is
 * read from a device, checked and rebuilt from the checkpoint plus the journal
 * ({@link io.dsf.blockstore.store.meta.StoreLoader}), and the blocking batch I/O helper the
 * control path uses. Threading: loading and replay run on one thread; a live image is mutated
 * under the store's locks and read without locks by the journal thread for checkpoints (torn
 * snapshots are repaired by journal replay, see FORMAT.md).
 */
package io.dsf.blockstore.store.meta;
