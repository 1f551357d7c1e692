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
 * {@code dsf replicas [--json] [--blocks]}: the replica OpLog segments a running node holds for
 * other nodes (owner, vDisk id, shard, segment), each scanned for valid batches, then each owner
 * stream's image (what drains made of earlier segments: the drained sequence ranges, blocks and
 * vBlocks held, bytes not drained yet); with {@code --blocks}, every batch's offset and CRC32C and
 * every 4 KiB block it carries with the block's CRC32C, and every image data block with its CRC32C
 * and sequence (for comparing replicas with what an owner acknowledged). Control plane: runs on the
 * caller's thread.
 */
@Command(name = "replicas", mixinStandardHelpOptions = true,
        description = {"The replica OpLog segments a running node holds for other nodes, scanned for valid batches,",
                "then each owner stream's image (drained sequence ranges, blocks held, bytes not drained yet).",
                "--blocks adds every batch and every 4 KiB block it carries with its CRC32C, and the image's blocks."})
public final class ReplicasCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin NodeOption node;

    @Option(names = "--json", description = "One line of JSON: an array of segment objects.")
    boolean json;

    @Option(names = "--blocks", description = "List every batch and block with its CRC32C.")
    boolean blocks;

    @Override
    public Integer call() {
        Map<String, Object> r;
        try {
            r = node.call(VdiskCommand.req("replicas", "blocks", blocks ? Boolean.TRUE : null));
        } catch (AdminException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("dsf replicas: " + e.getMessage());
            err.flush();
            return Main.EXIT_FAILURE;
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Object> segs = VdiskCommand.list(r.get("replicas"));
        if (json) {
            out.println(Json.write(segs));
        } else {
            for (Object o : segs) {
                Map<String, Object> s = VdiskCommand.map(o);
                if ("image".equals(s.get("kind"))) {
                    StringBuilder rs = new StringBuilder();
                    for (Object pr : VdiskCommand.list(s.get("drained_ranges"))) {
                        List<Object> p = VdiskCommand.list(pr);
                        rs.append(rs.isEmpty() ? "" : ",").append(p.get(0)).append(p.get(0).equals(p.get(1)) ? "" : ".." + p.get(1));
                    }
                    out.println("owner " + s.get("owner") + " vdisk " + s.get("vdisk") + " shard " + s.get("shard") + " image: "
                            + s.get("image_blocks") + " blocks in " + s.get("image_vblocks") + " vBlocks, drained seqs "
                            + (rs.isEmpty() ? "none" : rs) + ", " + s.get("undrained_bytes") + " bytes not drained yet");
                    for (Object bo : VdiskCommand.list(s.get("batch_list"))) {
                        StringBuilder l = new StringBuilder("  image blocks:");
                        for (Object pair : VdiskCommand.list(VdiskCommand.map(bo).get("blocks"))) {
                            List<Object> p = VdiskCommand.list(pair);
                            l.append(' ').append(p.get(0)).append('=').append(Long.toHexString((Long) p.get(1))).append('@').append(p.get(2));
                        }
                        out.println(l);
                    }
                    continue;
                }
                out.println("owner " + s.get("owner") + " vdisk " + s.get("vdisk") + " shard " + s.get("shard") + " segment " + s.get("segment")
                        + ": " + s.get("batches") + " batches, " + s.get("blocks") + " blocks (" + s.get("bytes") + " bytes allocated)");
                for (Object bo : VdiskCommand.list(s.get("batch_list"))) {
                    Map<String, Object> b = VdiskCommand.map(bo);
                    StringBuilder l = new StringBuilder("  batch at " + b.get("offset") + ", " + b.get("bytes") + " bytes, crc "
                            + Long.toHexString((Long) b.get("crc")) + ":");
                    for (Object pair : VdiskCommand.list(b.get("blocks"))) {
                        List<Object> p = VdiskCommand.list(pair);
                        l.append(' ').append(p.get(0)).append('=').append(Long.toHexString((Long) p.get(1)));
                    }
                    out.println(l);
                }
            }
            if (segs.isEmpty()) out.println("no replica segments or images");
        }
        out.flush();
        return 0;
    }
}
