package io.dsf.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Opens a {@link Target} from its spec {@code KIND:REST} ({@code device:mem:1g}). Kinds register a
 * factory once ({@code device} is built in; {@code vdisk}, {@code vhost-user-blk},
 * {@code vhost-user-scsi}, {@code iscsi} come with their modules). Thread safe.
 */
public final class Targets {
    private static final Map<String, Function<String, Target>> KINDS = new ConcurrentHashMap<>();

    static {
        register("device", DeviceTarget::open);
        register("vdisk", VDiskTarget::open);
        register("vhost-user-blk", io.dsf.bench.vhost.VhostUserTarget::openBlk);
        register("vhost-user-scsi", io.dsf.bench.vhost.VhostUserTarget::openScsi);
    }

    private Targets() {}

    /** Adds a target kind; {@code factory} receives the spec without {@code KIND:}. */
    public static void register(String kind, Function<String, Target> factory) {
        KINDS.put(kind, factory);
    }

    /** The registered kinds, sorted, for messages. */
    public static String kinds() { return String.join(", ", new TreeMap<>(KINDS).keySet()); }

    /**
     * @throws BenchException usage for an unknown kind or malformed spec, failure when the target cannot be opened
     */
    public static Target open(String spec) {
        int c = spec.indexOf(':');
        if (c <= 0) throw BenchException.usage("--target '" + spec + "' needs a kind, KIND:SPEC (kinds: " + kinds() + "; e.g. device:mem:1g)");
        String kind = spec.substring(0, c);
        Function<String, Target> f = KINDS.get(kind);
        if (f == null) throw BenchException.usage("unknown target kind '" + kind + "' in --target " + spec + " (kinds: " + kinds() + ")");
        try {
            return f.apply(spec.substring(c + 1));
        } catch (BenchException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw BenchException.usage("bad --target " + spec + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw BenchException.failure("cannot open " + spec + ": " + e.getMessage(), e);
        }
    }
}
