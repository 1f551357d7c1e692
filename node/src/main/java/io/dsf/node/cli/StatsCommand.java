package io.dsf.node.cli;

import io.dsf.node.Main;
import io.dsf.node.admin.AdminException;
import io.dsf.node.admin.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dsf stats [--json] [NAME]}: per-vDisk statistics of a running node since the previous
 * {@code stats} call for that vDisk (IOPS, MB/s, latency percentiles, OpLog fill, cache hits,
 * errors) and the requests each vhost-user queue took. Control plane: runs on the caller's thread.
 */
@Command(name = "stats", mixinStandardHelpOptions = true,
        description = {"Per-vDisk statistics of a running node: IOPS, MB/s, latency p50/p99/p999, OpLog fill, cache hits, errors.",
                "Each call covers the time since the previous 'stats' for that vDisk; also requests per vhost-user queue."})
public final class StatsCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin NodeOption node;

    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "One vDisk (default: all).")
    String name;

    @Option(names = "--json", description = "One line of JSON: an array of per-vDisk objects of numbers (Stargate's keys, plus scsi_qN_requests / blk_qN_requests).")
    boolean json;

    @Override
    public Integer call() {
        Map<String, Object> reply;
        try {
            reply = node.call(VdiskCommand.req("stats", "name", name));
        } catch (AdminException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("dsf stats: " + e.getMessage());
            err.flush();
            return Main.EXIT_FAILURE;
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Object> stats = VdiskCommand.list(reply.get("stats"));
        if (json) {
            out.println(Json.write(stats));
        } else {
            List<Object> text = VdiskCommand.list(reply.get("text"));
            for (int i = 0; i < text.size(); i++) {
                out.println(text.get(i));
                if (i < stats.size()) {
                    String q = queues(VdiskCommand.map(stats.get(i)));
                    if (!q.isEmpty()) out.println("  requests per queue:" + q);
                }
            }
        }
        out.flush();
        return 0;
    }

    private static String queues(Map<String, Object> s) {
        StringBuilder b = new StringBuilder();
        for (String kind : new String[] {"scsi", "blk"}) {
            StringBuilder k = new StringBuilder();
            for (int q = 0; s.containsKey(kind + "_q" + q + "_requests"); q++) k.append(q == 0 ? "" : " ").append(s.get(kind + "_q" + q + "_requests"));
            if (k.length() > 0) b.append(' ').append(kind.equals("scsi") ? "vhost-user-scsi" : "vhost-user-blk").append(" [").append(k).append(']');
        }
        return b.toString();
    }
}
