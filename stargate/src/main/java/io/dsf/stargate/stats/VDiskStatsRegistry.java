package io.dsf.stargate.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The node's vDisk statistics by vDisk name, for {@code dsf stats}: vDisks register when they
 * open and leave when they close; {@link #snapshotAll()} snapshots each in name order. Thread safe.
 */
public final class VDiskStatsRegistry {
    private final ConcurrentSkipListMap<String, VDiskStats> byName = new ConcurrentSkipListMap<>();

    /** Adds a vDisk's stats; a name already registered is refused. */
    public void register(VDiskStats stats) {
        if (byName.putIfAbsent(stats.name(), stats) != null)
            throw new IllegalArgumentException("stats for vDisk " + stats.name() + " already registered");
    }

    /** Removes a vDisk's stats (only this instance, if a newer one took the name meanwhile). */
    public void unregister(VDiskStats stats) {
        byName.remove(stats.name(), stats);
    }

    /** The stats of a vDisk, or null. */
    public VDiskStats get(String name) {
        return byName.get(name);
    }

    /** A snapshot of every registered vDisk, in name order; each closes that vDisk's interval. */
    public List<VDiskStatsSnapshot> snapshotAll() {
        List<VDiskStatsSnapshot> out = new ArrayList<>(byName.size());
        for (VDiskStats s : byName.values()) out.add(s.snapshot());
        return out;
    }

    /** A JSON array (one line) of {@link VDiskStatsSnapshot#toJson()} objects. */
    public static String toJson(List<VDiskStatsSnapshot> snapshots) {
        StringBuilder b = new StringBuilder(64 + 1536 * snapshots.size()).append('[');
        for (int i = 0; i < snapshots.size(); i++) {
            if (i > 0) b.append(',');
            b.append(snapshots.get(i).toJson());
        }
        return b.append(']').toString();
    }
}
