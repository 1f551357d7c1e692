package io.dsf.node.cli;

import io.dsf.blockstore.store.BlockStoreTool;
import io.dsf.blockstore.store.FormatOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.function.ToIntFunction;

/**
 * {@code dsf blockstore format|info|check DEVICE-URI}: the BlockStore tools. {@code info} and
 * {@code check} never write; {@code check} exits non-zero on any problem (one bad superblock copy
 * included). Control plane only.
 */
@Command(name = "blockstore", mixinStandardHelpOptions = true,
        description = "BlockStore tools on a device URI (uring:PATH, spdk:TRID, file:PATH, mem:SIZE, ...).",
        subcommands = {BlockStoreCommand.Format.class, BlockStoreCommand.Info.class, BlockStoreCommand.Check.class},
        footer = {"", "Exit codes: 0 ok, 1 problems found (or the operation failed), 2 bad arguments or device."})
public final class BlockStoreCommand implements Runnable {
    /** Runs a tool printing to a stream and copies its report to the command's output writer. */
    static int report(CommandSpec spec, ToIntFunction<PrintStream> tool) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            rc = tool.applyAsInt(ps);
        }
        spec.commandLine().getOut().print(buf.toString(StandardCharsets.UTF_8));
        spec.commandLine().getOut().flush();
        return rc;
    }

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "name a tool: format, info or check");
    }

    @Command(name = "format", mixinStandardHelpOptions = true,
            description = "Formats DEVICE-URI as an empty BlockStore. Refuses a device that already holds one unless --force.")
    static final class Format implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DEVICE-URI") String device;
        @Option(names = "--unit-size", paramLabel = "SIZE", converter = SizeConverter.class,
                description = "Allocation unit, 1M to 4M (default: 1M).") Long unitSize;
        @Option(names = "--slice-size", paramLabel = "SIZE", converter = SizeConverter.class,
                description = "Checksum slice and write alignment (default: 4k).") Long sliceSize;
        @Option(names = "--journal-size", paramLabel = "SIZE", converter = SizeConverter.class,
                description = "Metadata journal ring (default: sized from the device).") Long journalSize;
        @Option(names = "--max-objects", paramLabel = "N", description = "Object table capacity (default: sized from the device).")
        Integer maxObjects;
        @Option(names = "--force", description = "Format even if the device already holds a BlockStore (its data is lost).")
        boolean force;

        @Override
        public Integer call() {
            if (!force) {
                ByteArrayOutputStream probe = new ByteArrayOutputStream();
                int rc = BlockStoreTool.info(device, new PrintStream(probe, true, StandardCharsets.UTF_8));
                if (rc == BlockStoreTool.OK) {
                    spec.commandLine().getErr().println("dsf blockstore format: " + device
                            + " already holds a BlockStore; add --force to destroy it");
                    spec.commandLine().getErr().flush();
                    return BlockStoreTool.USAGE;
                }
            }
            FormatOptions o = FormatOptions.DEFAULTS;
            if (unitSize != null) o = o.withUnitSize(Math.toIntExact(unitSize));
            if (sliceSize != null) o = o.withSliceSize(Math.toIntExact(sliceSize));
            if (journalSize != null) o = o.withJournalBytes(journalSize);
            if (maxObjects != null) o = o.withMaxObjects(maxObjects);
            FormatOptions opts = o;
            return report(spec, out -> BlockStoreTool.format(device, opts, out));
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Prints the superblock, layout and usage. Never writes.")
    static final class Info implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DEVICE-URI") String device;

        @Override
        public Integer call() { return report(spec, out -> BlockStoreTool.info(device, out)); }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Verifies every structure and every checksum; reports each problem; exits 1 on any. Never writes.")
    static final class Check implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DEVICE-URI") String device;

        @Override
        public Integer call() { return report(spec, out -> BlockStoreTool.check(device, out)); }
    }
}
