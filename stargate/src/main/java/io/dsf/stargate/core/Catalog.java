package io.dsf.stargate.core;

import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.StoreObject;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * How Stargate names its BlockStore objects through attributes: vDisk records ("t"="vd"), OpLog
 * segments ("ol"), block-map logs ("mp") and extent groups ("eg"). Stateless helpers; thread safe.
 */
final class Catalog {
    private Catalog() {}

    static final String VDISK = "vd", SEGMENT = "ol", MAP = "mp";
    /** Where a replicating shard's needed history lives: attribute {@code p}, the peer ids (comma separated; "*": every peer). */
    static final String REPLICA_PEERS = "rpl";
    static final int MAX_NAME = 96;

    static byte[] u64(long v) { return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array(); }

    static long u64(byte[] b) {
        if (b == null || b.length != 8) return -1;
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static String type(BlockStore store, StoreObject o) {
        byte[] t = store.attribute(o, "t");
        return t == null ? "" : new String(t, StandardCharsets.US_ASCII);
    }

    static Map<String, byte[]> segmentAttrs(long vdisk, int shard, long number) {
        return Map.of("t", SEGMENT.getBytes(StandardCharsets.US_ASCII), "v", u64(vdisk), "s", u64(shard), "n", u64(number));
    }

    static Map<String, byte[]> mapAttrs(long vdisk, int shard, long gen) {
        return Map.of("t", MAP.getBytes(StandardCharsets.US_ASCII), "v", u64(vdisk), "s", u64(shard), "n", u64(gen));
    }

    static Map<String, byte[]> replicaPeersAttrs(long vdisk, int shard, String peers) {
        return Map.of("t", REPLICA_PEERS.getBytes(StandardCharsets.US_ASCII), "v", u64(vdisk), "s", u64(shard),
                "p", peers.getBytes(StandardCharsets.US_ASCII));
    }

    static long number(BlockStore store, StoreObject o) { return u64(store.attribute(o, "n")); }
    static long vdisk(BlockStore store, StoreObject o) { return u64(store.attribute(o, "v")); }
    static int shard(BlockStore store, StoreObject o) { return (int) u64(store.attribute(o, "s")); }

    /** A vDisk record: id, name, size, shard count, read-only flag, parent id, ready flag. */
    record VDiskRecord(long id, String name, long size, int shards, boolean readOnly, long parent, boolean ready) {
        Map<String, byte[]> attrs() {
            Map<String, byte[]> m = new HashMap<>();
            m.put("t", VDISK.getBytes(StandardCharsets.US_ASCII));
            m.put("v", u64(id));
            m.put("nm", name.getBytes(StandardCharsets.UTF_8));
            m.put("sz", u64(size));
            m.put("sh", u64(shards));
            m.put("ro", new byte[]{(byte) (readOnly ? 1 : 0)});
            m.put("p", u64(parent));
            m.put("ok", new byte[]{(byte) (ready ? 1 : 0)});
            return m;
        }

        static VDiskRecord read(BlockStore store, StoreObject o) {
            Map<String, byte[]> a = store.attributes(o);
            byte[] ro = a.get("ro"), ok = a.get("ok"), nm = a.get("nm");
            return new VDiskRecord(u64(a.get("v")), nm == null ? "" : new String(nm, StandardCharsets.UTF_8),
                    u64(a.get("sz")), (int) u64(a.get("sh")), ro != null && ro.length == 1 && ro[0] == 1,
                    u64(a.get("p")), ok != null && ok.length == 1 && ok[0] == 1);
        }
    }

    static void checkName(String name) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("vDisk name must not be empty");
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME)
            throw new IllegalArgumentException("vDisk name longer than " + MAX_NAME + " bytes: " + name);
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.'))
                throw new IllegalArgumentException("vDisk name may hold letters, digits, '-', '_' and '.' only: " + name);
        }
    }
}
