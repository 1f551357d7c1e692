package io.dsf.blockstore.store;

/**
 * A snapshot of a store's space and journal. Units add up: {@code usedUnits + freeUnits +
 * cachedUnits + pendingFreeUnits == unitCount}. Immutable.
 *
 * @param unitCount        allocation units on the device
 * @param unitSize         bytes per unit
 * @param usedUnits        units owned by objects
 * @param freeUnits        units in the global free pool
 * @param cachedUnits      free units held in channels' allocation caches
 * @param pendingFreeUnits units freed but not reusable until the free is durable
 * @param objects          objects in the store
 * @param journalPages     journal pages written since the last checkpoint
 * @param journalRing      journal ring size in pages
 * @param checkpoint       current checkpoint generation
 * @param commits          journal commits since open
 * @param checkpoints      checkpoints since open
 */
public record StoreStats(int unitCount, int unitSize, int usedUnits, int freeUnits, int cachedUnits, int pendingFreeUnits,
                         int objects, long journalPages, int journalRing, long checkpoint, long commits, long checkpoints) {
    public long freeBytes() { return (long) (freeUnits + cachedUnits + pendingFreeUnits) * unitSize; }
}
