package io.dsf.stargate.replication;

import java.util.regex.Pattern;

/**
 * A node's availability-domain labels: the physical node (hardware box) it runs on, its block
 * (chassis) and its rack. Copies of the same data are placed on distinct racks when every copy's
 * rack is known and enough racks exist, else on distinct blocks, else on distinct nodes
 * ({@link Level}). The node label defaults to the node id (each {@code dsf up} its own box); give
 * two processes on one machine the same {@code node=} label and they never hold two copies of the
 * same batch while another box can. Immutable; thread safe.
 *
 * <p>Syntax: {@code node=N,block=B,rack=R} for {@code --domain} (any subset, any order), and the
 * same keys after a peer's address, separated by {@code /}: {@code ID@HOST:PORT/block=B/rack=R}.
 */
public record Domain(String node, String block, String rack) {
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** How far apart the copies of a shard's episode are: every pair differs in this label (NONE: two copies share a node). */
    public enum Level {
        NONE, NODE, BLOCK, RACK;

        public String label() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    public Domain {
        if (node == null) throw new IllegalArgumentException("a domain needs a node label");
        check("node", node);
        if (block != null) check("block", block);
        if (rack != null) check("rack", rack);
    }

    private static void check(String key, String v) {
        if (!LABEL.matcher(v).matches())
            throw new IllegalArgumentException(key + " label '" + v + "': use 1-64 of A-Z a-z 0-9 . _ - (not starting with . _ -)");
    }

    /** The domain of a node about which nothing is known but its id: its own box, no block, no rack. */
    public static Domain of(String nodeId) { return new Domain(nodeId, null, null); }

    /**
     * Parses {@code key=value} pairs separated by {@code sep} ("," for {@code --domain}, "/" after a
     * peer address); keys node, block, rack, each at most once; the node label defaults to {@code nodeId}.
     */
    public static Domain parse(String s, String sep, String nodeId) {
        String node = null, block = null, rack = null;
        if (s != null && !s.isBlank()) {
            for (String kv : s.split(Pattern.quote(sep))) {
                String p = kv.trim();
                int eq = p.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("domain: expected key=value (keys node, block, rack): '" + p + "'");
                String k = p.substring(0, eq).trim(), v = p.substring(eq + 1).trim();
                switch (k) {
                    case "node" -> { if (node != null) throw twice(k); node = v; }
                    case "block" -> { if (block != null) throw twice(k); block = v; }
                    case "rack" -> { if (rack != null) throw twice(k); rack = v; }
                    default -> throw new IllegalArgumentException("domain: unknown key '" + k + "' (keys: node, block, rack)");
                }
            }
        }
        return new Domain(node != null ? node : nodeId, block, rack);
    }

    private static IllegalArgumentException twice(String k) { return new IllegalArgumentException("domain: " + k + " given twice"); }

    /**
     * Whether this and {@code o} are apart at {@code level}: always on distinct nodes (boxes), and for
     * BLOCK and RACK with that label known on both sides and different (two racks apart are also
     * blocks apart). NONE: always.
     */
    public boolean apart(Domain o, Level level) {
        if (level == Level.NONE) return true;
        if (node.equals(o.node)) return false;
        boolean racks = rack != null && o.rack != null && !rack.equals(o.rack);
        return switch (level) {
            case NODE -> true;
            case BLOCK -> racks || block != null && o.block != null && !block.equals(o.block);
            default -> racks;
        };
    }

    /** Strongest level at which every pair of {@code ds[0..n)} is apart. */
    public static Level levelOf(Domain[] ds, int n) {
        Level best = Level.RACK;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                while (best != Level.NONE && !ds[i].apart(ds[j], best)) best = Level.values()[best.ordinal() - 1];
        return best;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("node=").append(node);
        if (block != null) b.append(",block=").append(block);
        if (rack != null) b.append(",rack=").append(rack);
        return b.toString();
    }
}
