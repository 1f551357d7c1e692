package io.dsf.blockstore.store;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A handle on one object of a {@link BlockStore}: a thin, resizable byte range (written in whole
 * slices) with attributes. Obtained from {@link BlockStore#create} or {@link BlockStore#object};
 * pass it to a {@link StoreChannel} for I/O (no lookup per I/O). Thread safe: reads of its state
 * are lock free; changes happen under the store lock and, for unit allocation, this object's
 * monitor.
 */
public final class StoreObject {
    static final VarHandle UNITS = MethodHandles.arrayElementVarHandle(int[].class);

    final long id;
    final long handle;
    final int slot;
    volatile long size;
    /** Unit + 1 per unit index of the object; 0 where nothing is allocated yet. Replaced on resize. */
    volatile int[] units;
    volatile byte[] attrs;
    volatile boolean deleted;

    StoreObject(long id, long handle, int slot, long size, int[] units, byte[] attrs) {
        this.id = id;
        this.handle = handle;
        this.slot = slot;
        this.size = size;
        this.units = units;
        this.attrs = attrs;
    }

    /** The caller's id of this object. */
    public long id() { return id; }

    /** Current size in bytes. */
    public long size() { return size; }

    public boolean isDeleted() { return deleted; }

    /** The unit at {@code index}, or -1 when none is allocated (acquire read). */
    int unitAt(int[] u, int index) { return ((int) UNITS.getAcquire(u, index)) - 1; }

    /** Units currently allocated to this object. */
    public int allocatedUnits() {
        int n = 0;
        for (int v : units) if (v != 0) n++;
        return n;
    }

    @Override
    public String toString() { return "object " + id + " (" + size + " bytes" + (deleted ? ", deleted" : "") + ")"; }
}
