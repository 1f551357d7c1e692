package io.dsf.stargate.core;

import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.StoreObject;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.Map;

/**
 * Node-wide table of extent groups and extent reference counts. Thread safe (one monitor); called
 * when an extent is allocated, shared by a snapshot or clone, or released: once per MiB of new
 * data at most, never per I/O.
 *
 * <p>An extent reference packs the extent group's object id and the slot: {@code id << 8 | slot}.
 * Slots are never reused: an extent group object is deleted once every slot it handed out is
 * unreferenced and it has no slot left to hand out, so a fresh extent always reads as zeros where
 * it was not written.
 */
final class ExtentTable {
    static final long NONE = -2; // a tombstone in a block map: the vBlock reads as zeros
    static final String TYPE = "eg";

    private final BlockStore store;
    private final int extentsPerGroup;
    private final Long2LongHashMap refs = new Long2LongHashMap(0);
    private final Long2ObjectHashMap<Group> groups = new Long2ObjectHashMap<>();
    private long allocatedExtents, freedExtents, deletedGroups;

    static final class Group {
        final StoreObject obj;
        int handedOut;
        int live;
        boolean sealed;
        Group(StoreObject obj) { this.obj = obj; }
    }

    /** A shard's currently open extent group; owned by that shard. */
    static final class Open {
        Group group;
    }

    ExtentTable(BlockStore store, int extentsPerGroup) {
        this.store = store;
        this.extentsPerGroup = extentsPerGroup;
    }

    static long ref(long groupId, int slot) { return groupId << 8 | slot; }
    static long groupId(long ref) { return ref >>> 8; }
    static int slot(long ref) { return (int) (ref & 0xff); }
    static long byteOffset(long ref) { return (long) slot(ref) * StargateOptions.VBLOCK; }

    /** Registers an extent group found on the store at open; sealed (no new slots). */
    synchronized void adopt(StoreObject obj) {
        Group g = new Group(obj);
        g.sealed = true;
        g.handedOut = extentsPerGroup;
        groups.put(obj.id(), g);
    }

    /** Counts one more reference found while loading block maps. */
    synchronized void loadRef(long ref) {
        Group g = groups.get(groupId(ref));
        if (g == null) throw new IllegalStateException("block map references extent group " + groupId(ref) + " which does not exist");
        long n = refs.get(ref);
        if (n == 0) g.live++;
        refs.put(ref, n + 1);
    }

    /** Deletes extent groups nothing references (left by a crash); returns how many. */
    synchronized int collectUnreferenced() {
        int n = 0;
        var it = groups.values().iterator();
        while (it.hasNext()) {
            Group g = it.next();
            if (g.live == 0) {
                store.delete(g.obj);
                it.remove();
                n++;
            }
        }
        deletedGroups += n;
        return n;
    }

    /** A new extent with one reference, from the shard's open group (a new group when it is full). */
    synchronized long allocate(Open open) {
        Group g = open.group;
        if (g == null || g.handedOut == extentsPerGroup) {
            if (g != null) sealAndMaybeDelete(g);
            StoreObject obj = store.create(0, (long) extentsPerGroup * StargateOptions.VBLOCK, Map.of("t", TYPE.getBytes()));
            g = new Group(obj);
            groups.put(obj.id(), g);
            open.group = g;
        }
        long ref = ref(g.obj.id(), g.handedOut++);
        refs.put(ref, 1);
        g.live++;
        allocatedExtents++;
        return ref;
    }

    /** Closes a shard's open group (the shard stops); frees it if nothing references it. */
    synchronized void close(Open open) {
        if (open.group != null) {
            Group g = open.group;
            open.group = null;
            g.handedOut = extentsPerGroup;
            sealAndMaybeDelete(g);
        }
    }

    private void sealAndMaybeDelete(Group g) {
        g.sealed = true;
        if (g.live == 0 && groups.remove(g.obj.id()) != null) {
            store.delete(g.obj);
            deletedGroups++;
        }
    }

    synchronized void incref(long ref) {
        long n = refs.get(ref);
        if (n <= 0) throw new IllegalStateException("incref of unreferenced extent " + Long.toHexString(ref));
        refs.put(ref, n + 1);
    }

    /** Drops one reference; the extent's space is released with its group once the group is all free. */
    synchronized void decref(long ref) {
        long n = refs.get(ref);
        if (n <= 0) throw new IllegalStateException("decref of unreferenced extent " + Long.toHexString(ref));
        if (n > 1) {
            refs.put(ref, n - 1);
            return;
        }
        refs.remove(ref);
        freedExtents++;
        Group g = groups.get(groupId(ref));
        if (g != null && --g.live == 0 && g.sealed) {
            groups.remove(g.obj.id());
            store.delete(g.obj);
            deletedGroups++;
        }
    }

    synchronized long refCount(long ref) { return refs.get(ref); }

    synchronized StoreObject object(long groupId) {
        Group g = groups.get(groupId);
        return g == null ? null : g.obj;
    }

    synchronized int groupCount() { return groups.size(); }
    synchronized long liveExtents() { return refs.size(); }
    synchronized long allocatedExtents() { return allocatedExtents; }
    synchronized long freedExtents() { return freedExtents; }
}
