package io.dsf.node.cli;

import io.dsf.node.Main;
import io.dsf.node.admin.AdminException;
import io.dsf.node.admin.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dsf vdisk create|list|snapshot|clone|attach|detach|delete|takeover}: vDisk operations on a running
 * node through its admin socket ({@code --node SOCKET} or {@code --data DIR}). Results on stdout,
 * errors on stderr; exit 0, 1 when the node refuses or is not running, 2 for bad arguments. Control
 * plane: each subcommand runs on the caller's thread.
 */
@Command(name = "vdisk", mixinStandardHelpOptions = true,
        description = "vDisk operations on a running node (through its admin socket).",
        subcommands = {VdiskCommand.Create.class, VdiskCommand.ListVdisks.class, VdiskCommand.Snapshot.class, VdiskCommand.CloneVdisk.class,
                VdiskCommand.Attach.class, VdiskCommand.Detach.class, VdiskCommand.Delete.class, VdiskCommand.Takeover.class})
public final class VdiskCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: create, list, snapshot, clone, attach, detach, delete or takeover");
    }

    /** Shared by the subcommands: the node option, output writers, the request and its error handling. */
    abstract static class Op implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin NodeOption node;

        PrintWriter out() { return spec.commandLine().getOut(); }

        /** Builds the request. */
        abstract Map<String, Object> request();

        /** Prints the reply. */
        abstract void print(Map<String, Object> reply);

        @Override
        public Integer call() {
            Map<String, Object> reply;
            try {
                reply = node.call(request());
            } catch (AdminException e) {
                PrintWriter err = spec.commandLine().getErr();
                err.println(spec.qualifiedName() + ": " + e.getMessage());
                err.flush();
                return Main.EXIT_FAILURE;
            }
            print(reply);
            out().flush();
            return 0;
        }
    }

    static Map<String, Object> req(String op, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", op);
        for (int i = 0; i < kv.length; i += 2) if (kv[i + 1] != null) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    /** 1.5 GiB, 64.0 MiB, 4096 B. */
    static String bytes(Object v) {
        long n = v instanceof Long l ? l : 0;
        if (n >= 1L << 40) return String.format(Locale.ROOT, "%.1f TiB", n / (double) (1L << 40));
        if (n >= 1L << 30) return String.format(Locale.ROOT, "%.1f GiB", n / (double) (1L << 30));
        if (n >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", n / (double) (1L << 20));
        if (n >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        return n + " B";
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) { return o instanceof Map ? (Map<String, Object>) o : Map.of(); }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) { return o instanceof List ? (List<Object>) o : List.of(); }

    /** Prints the endpoint lines of an attach reply, in {@code up}'s format. */
    static void printEndpoints(PrintWriter out, Object endpoints) {
        for (Object e : list(endpoints)) {
            Map<String, Object> m = map(e);
            out.println("endpoint " + m.get("kind") + " " + m.get("vdisk") + " " + m.get("socket"));
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates a thin vDisk (not attached: see 'dsf vdisk attach').")
    static final class Create extends Op {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "SIZE", description = "Bytes, or with a unit: 4k, 64M, 10G, 2T (a multiple of 4 KiB).",
                converter = SizeConverter.class) long size;
        @Option(names = "--shards", paramLabel = "N", description = "Shards (threads) of the vDisk (default: the node's).") Integer shards;

        @Override
        Map<String, Object> request() {
            if (size <= 0 || size % 4096 != 0) throw new ParameterException(spec.commandLine(), "SIZE must be a positive multiple of 4 KiB: " + size);
            if (shards != null && (shards < 1 || shards > 64)) throw new ParameterException(spec.commandLine(), "--shards must be in 1..64: " + shards);
            return req("vdisk.create", "name", name, "size", size, "shards", shards == null ? null : (long) shards);
        }

        @Override
        void print(Map<String, Object> r) {
            Map<String, Object> v = map(r.get("vdisk"));
            out().println("created vDisk " + v.get("name") + " (" + bytes(v.get("size")) + ", " + v.get("shards") + " shards, thin)");
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the vDisks and how the attached ones are served.")
    static final class ListVdisks extends Op {
        @Option(names = "--json", description = "One line of JSON: the array of vDisk objects.") boolean json;

        @Override
        Map<String, Object> request() { return req("vdisk.list"); }

        @Override
        void print(Map<String, Object> r) {
            List<Object> vs = list(r.get("vdisks"));
            if (json) {
                out().println(Json.write(vs));
                return;
            }
            out().println(String.format(Locale.ROOT, "%-20s %10s %6s %-4s %-16s %s", "NAME", "SIZE", "SHARDS", "MODE", "PARENT", "SERVED"));
            for (Object o : vs) {
                Map<String, Object> v = map(o);
                String served = "-";
                if (Boolean.TRUE.equals(v.get("attached"))) {
                    StringBuilder b = new StringBuilder();
                    for (Object e : list(v.get("endpoints"))) {
                        Map<String, Object> m = map(e);
                        if (b.length() > 0) b.append("  ");
                        b.append(m.get("kind").equals("vhost-user-scsi") ? "scsi " : "blk ").append(m.get("socket"));
                        if (m.containsKey("lun")) b.append(" LUN ").append(m.get("lun"));
                    }
                    served = b.toString();
                }
                out().println(String.format(Locale.ROOT, "%-20s %10s %6s %-4s %-16s %s", v.get("name"), bytes(v.get("size")), v.get("shards"),
                        Boolean.TRUE.equals(v.get("read_only")) ? "ro" : "rw", v.get("parent") == null ? "-" : v.get("parent"), served));
            }
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true, description = "Takes a read-only snapshot of a vDisk (metadata only).")
    static final class Snapshot extends Op {
        @Parameters(index = "0", paramLabel = "SOURCE") String source;
        @Parameters(index = "1", paramLabel = "NAME") String name;

        @Override
        Map<String, Object> request() { return req("vdisk.snapshot", "source", source, "name", name); }

        @Override
        void print(Map<String, Object> r) {
            out().println("snapshot " + map(r.get("vdisk")).get("name") + " of " + source + " (read-only)");
        }
    }

    @Command(name = "clone", mixinStandardHelpOptions = true, description = "Makes a writable clone of a vDisk or snapshot (metadata only).")
    static final class CloneVdisk extends Op {
        @Parameters(index = "0", paramLabel = "SOURCE") String source;
        @Parameters(index = "1", paramLabel = "NAME") String name;

        @Override
        Map<String, Object> request() { return req("vdisk.clone", "source", source, "name", name); }

        @Override
        void print(Map<String, Object> r) {
            out().println("clone " + map(r.get("vdisk")).get("name") + " of " + source);
        }
    }

    @Command(name = "attach", mixinStandardHelpOptions = true,
            description = {"Serves a vDisk: on its own vhost-user-scsi (LUN 0) and vhost-user-blk sockets, or, with --scsi-target,",
                    "as the next LUN of an attached vDisk's SCSI target (a running guest gets a hot-plug event) plus its own",
                    "vhost-user-blk socket. Prints the endpoint lines. Recorded: a restart serves it again."})
    static final class Attach extends Op {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--scsi-target", paramLabel = "VDISK", description = "Add it as a LUN of this attached vDisk's vhost-user-scsi target.")
        String scsiTarget;
        @Option(names = "--json", description = "Print the node's reply as one line of JSON.") boolean json;

        @Override
        Map<String, Object> request() { return req("vdisk.attach", "name", name, "scsi_target", scsiTarget); }

        @Override
        void print(Map<String, Object> r) {
            if (json) {
                out().println(Json.write(r));
                return;
            }
            printEndpoints(out(), r.get("endpoints"));
            if (r.get("hotplug") != null) {
                PrintWriter err = spec.commandLine().getErr();
                Object lun = map(list(r.get("endpoints")).isEmpty() ? null : list(r.get("endpoints")).get(0)).get("lun");
                err.println("dsf vdisk attach: " + name + " is LUN " + lun + " of " + scsiTarget + "'s SCSI target; hot-plug event "
                        + hotplug(r.get("hotplug")));
                err.flush();
            }
        }
    }

    static String hotplug(Object h) {
        return switch (String.valueOf(h)) {
            case "delivered" -> "delivered to the guest";
            case "missed" -> "missed (no event buffer free): the guest rescans when it hands in the next one";
            case "not_negotiated" -> "not sent (no guest with hot-plug connected): a guest sees the change at its next scan";
            default -> String.valueOf(h);
        };
    }

    @Command(name = "detach", mixinStandardHelpOptions = true,
            description = "Stops serving a vDisk (its sockets close; a LUN on another target is hot-unplugged). Recorded.")
    static final class Detach extends Op {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        Map<String, Object> request() { return req("vdisk.detach", "name", name); }

        @Override
        void print(Map<String, Object> r) {
            out().println("detached " + name + (r.get("hotplug") == null ? "" : "; hot-plug event " + hotplug(r.get("hotplug"))));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes a vDisk that is not attached (its data is gone).")
    static final class Delete extends Op {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        Map<String, Object> request() { return req("vdisk.delete", "name", name); }

        @Override
        void print(Map<String, Object> r) { out().println("deleted " + name); }
    }

    @Command(name = "takeover", mixinStandardHelpOptions = true,
            description = {"Takes over a vDisk of a dead node from the replicas of its OpLog on this node and its peers: creates it",
                    "here with the same name, size and shards and writes every replicated write (the newest of each block) into it,",
                    "replicated at this node's RF. Refused while the owner answers, when a peer that may hold the only copy is",
                    "unreachable (unless declared --lost), or when batches are missing. Not attached: see 'dsf vdisk attach'.",
                    "Progress: 'dsf status'."})
    static final class Takeover extends Op {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--from", required = true, paramLabel = "NODE_ID", description = "The dead owner's node id.") String from;
        @Option(names = "--lost", paramLabel = "NODE_ID[,NODE_ID...]",
                description = "Nodes declared lost for good: not asked, not counted as unreachable. Safe once re-replication "
                        + "restored RF without them ('dsf status' on the dead owner showed no shard below RF); otherwise "
                        + "writes only they held are lost.") String lost;
        @Option(names = "--json", description = "Print the node's reply as one line of JSON.") boolean json;

        @Override
        Map<String, Object> request() { return req("vdisk.takeover", "name", name, "from", from, "lost", lost); }

        @Override
        void print(Map<String, Object> r) {
            if (json) {
                out().println(Json.write(r));
                return;
            }
            Map<String, Object> v = map(r.get("vdisk"));
            out().println("took over vDisk " + v.get("name") + " of " + from + " (" + bytes(v.get("size")) + ", " + v.get("shards")
                    + " shards): " + r.get("batches") + " batches from " + list(r.get("sources")) + " (" + r.get("duplicates")
                    + " copies dropped), " + r.get("data_blocks") + " blocks of data and " + r.get("zero_blocks") + " of zeroes written");
        }
    }
}
