package io.dsf.node.up;

import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.StoreObject;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the node keeps in the BlockStore beside Stargate's vDisk catalog: which vDisks it serves and
 * how, so a restart serves the same ones. Each is an empty object whose attributes are the record
 * (Stargate ignores object types it does not know):
 *
 * <pre>
 *   node marker:  t = "nd", ver = u64 1                      (present once the node has started on the store)
 *   attachment:   t = "na", nm = vDisk name (UTF-8), sc = name of the vDisk whose SCSI target serves it
 *                 (itself when it has its own vhost-user-scsi socket), ln = u64 LUN on that target
 * </pre>
 *
 * Every change is synced before the method returns. Control plane: used under the node's monitor;
 * not thread safe.
 */
final class NodeCatalog {
    static final String MARKER = "nd", ATTACHED = "na";

    /** One served vDisk as recorded. */
    record Entry(String name, String scsiHost, int lun, StoreObject object) {}

    private final BlockStore store;
    private final List<Entry> entries = new ArrayList<>();
    private StoreObject marker;

    private NodeCatalog(BlockStore store) {
        this.store = store;
    }

    /** Reads the node's records from {@code store}; damaged attachment records are dropped. */
    static NodeCatalog load(BlockStore store) {
        NodeCatalog c = new NodeCatalog(store);
        List<StoreObject> bad = new ArrayList<>();
        for (StoreObject o : store.objects()) {
            String t = str(store.attribute(o, "t"));
            if (MARKER.equals(t)) {
                c.marker = o;
            } else if (ATTACHED.equals(t)) {
                String nm = str(store.attribute(o, "nm")), sc = str(store.attribute(o, "sc"));
                long ln = u64(store.attribute(o, "ln"));
                if (nm == null || nm.isEmpty() || sc == null || sc.isEmpty() || ln < 0 || ln > Integer.MAX_VALUE) {
                    bad.add(o);
                    continue;
                }
                Entry dup = c.find(nm); // a crash inside put(): the newer record (higher id) wins
                if (dup != null && dup.object().id() > o.id()) { bad.add(o); continue; }
                if (dup != null) { bad.add(dup.object()); c.entries.remove(dup); }
                c.entries.add(new Entry(nm, sc, (int) ln, o));
            }
        }
        if (!bad.isEmpty()) {
            for (StoreObject o : bad) store.delete(o);
            store.sync();
        }
        return c;
    }

    /** True before the node's first start on this store (no marker yet). */
    boolean fresh() { return marker == null; }

    /** Records that the node has started on this store. */
    void markStarted() {
        if (marker != null) return;
        marker = store.create(0, 0, Map.of("t", MARKER.getBytes(StandardCharsets.US_ASCII), "ver", u64(1)));
        store.sync();
    }

    List<Entry> entries() { return List.copyOf(entries); }

    Entry find(String name) {
        for (Entry e : entries) if (e.name().equals(name)) return e;
        return null;
    }

    /** Records (or re-records) that {@code name} is served, as LUN {@code lun} of {@code scsiHost}'s target. */
    Entry put(String name, String scsiHost, int lun) {
        Entry old = find(name);
        if (old != null && old.scsiHost().equals(scsiHost) && old.lun() == lun) return old;
        StoreObject o = store.create(0, 0, Map.of("t", ATTACHED.getBytes(StandardCharsets.US_ASCII),
                "nm", name.getBytes(StandardCharsets.UTF_8), "sc", scsiHost.getBytes(StandardCharsets.UTF_8), "ln", u64(lun)));
        if (old != null) {
            store.delete(old.object());
            entries.remove(old);
        }
        store.sync();
        Entry e = new Entry(name, scsiHost, lun, o);
        entries.add(e);
        return e;
    }

    /** Forgets that {@code name} is served. */
    void remove(String name) {
        Entry e = find(name);
        if (e == null) return;
        store.delete(e.object());
        store.sync();
        entries.remove(e);
    }

    private static String str(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    private static long u64(byte[] b) {
        if (b == null || b.length != 8) return -1;
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
}
