package io.dsf.node.cli;

import io.dsf.node.Main;
import io.dsf.node.admin.AdminException;
import io.dsf.node.admin.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dsf status [--json]}: a running node's replication state: its id, RF, transport and
 * replica address; each peer as the shards last saw it (connected / failed, last error); each
 * replicating vDisk shard's current peers; the replica segments it holds for other nodes.
 * Control plane: runs on the caller's thread.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Replication state of a running node: node id, RF, transport, peers (connected/failed, last error),",
                "each vDisk shard's current replica peers, and the replica segments held for other nodes."})
public final class StatusCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin NodeOption node;

    @Option(names = "--json", description = "One line of JSON: the admin socket's 'status' reply.")
    boolean json;

    @Override
    public Integer call() {
        Map<String, Object> r;
        try {
            r = node.call(VdiskCommand.req("status"));
        } catch (AdminException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("dsf status: " + e.getMessage());
            err.flush();
            return Main.EXIT_FAILURE;
        }
        r.remove("ok");
        r.remove("id");
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(r));
            out.flush();
            return 0;
        }
        Object id = r.get("node");
        out.println(id == null ? "node alone (no --node-id/--listen): rf 1, no replication"
                : "node " + id + "  rf " + r.get("rf") + "  transport " + r.get("transport") + "  replicas on " + r.get("listen") + "  domain " + r.get("domain"));
        for (Object o : VdiskCommand.list(r.get("peers"))) {
            Map<String, Object> p = VdiskCommand.map(o);
            Object err = p.get("last_error");
            out.println("peer " + p.get("id") + " " + p.get("address") + " (" + p.get("domain") + ") " + p.get("state") + "  holds "
                    + p.get("batches_held") + " batches  failures " + p.get("failures")
                    + (err == null ? "" : "  last error: " + err));
        }
        for (Object o : VdiskCommand.list(r.get("vdisks"))) {
            Map<String, Object> v = VdiskCommand.map(o);
            StringBuilder b = new StringBuilder("vdisk " + v.get("name") + " (id " + v.get("id") + "):");
            for (Object so : VdiskCommand.list(v.get("shards"))) {
                Map<String, Object> s = VdiskCommand.map(so);
                List<Object> peers = VdiskCommand.list(s.get("peers"));
                b.append("  shard ").append(s.get("shard")).append(" -> ").append(peers.isEmpty() ? "(none)" : String.join(",", peers.stream().map(String::valueOf).toList()))
                        .append(" (apart by ").append(s.get("domain_level")).append(")");
            }
            out.println(b);
        }
        Map<String, Object> held = VdiskCommand.map(r.get("held"));
        StringBuilder h = new StringBuilder("held for others: " + held.get("segments") + " segments, " + VdiskCommand.bytes(held.get("bytes")));
        for (Map.Entry<String, Object> e : VdiskCommand.map(held.get("owners")).entrySet()) {
            Map<String, Object> x = VdiskCommand.map(e.getValue());
            h.append("  ").append(e.getKey()).append(": ").append(x.get("segments")).append(" segments");
        }
        out.println(h);
        Map<String, Object> rr = r.get("rereplication") == null ? null : VdiskCommand.map(r.get("rereplication"));
        if (!Long.valueOf(0).equals(r.get("shards_below_rf")))
            out.println("RF not met: " + r.get("shards_below_rf") + " shards have data on a failed peer ("
                    + (rr != null && rr.get("running") != null ? "re-replicating " + rr.get("running") + ": " + rr.get("vblocks_done") + "/"
                    + rr.get("vblocks_total") + " vBlocks" : "re-replication starts after the grace period") + ")");
        if (rr != null)
            out.println("re-replication: " + rr.get("passes_done") + " passes done (" + rr.get("checkpoints") + " checkpoints), "
                    + rr.get("passes_failed") + " failed, " + rr.get("blocks_rewritten") + " blocks written again; history on replicas "
                    + VdiskCommand.bytes(rr.get("history_bytes"))
                    + (VdiskCommand.map(rr.get("announcements_pending")).isEmpty() ? "" : "; bases to announce: " + rr.get("announcements_pending")));
        out.println("batches acked " + r.get("batches_acked") + ", failed " + r.get("batches_failed") + ", failovers " + r.get("failovers")
                + ", trims sent " + r.get("trims_sent") + "; as replica: batches stored " + r.get("replica_batches_stored") + ", rejected "
                + r.get("replica_batches_rejected") + ", segments trimmed " + r.get("replica_segments_trimmed"));
        out.println("reads repaired from replicas " + r.get("reads_repaired") + " (" + r.get("blocks_rewritten") + " blocks written back), "
                + "unrepairable " + r.get("reads_unrepairable"));
        out.flush();
        return 0;
    }
}
