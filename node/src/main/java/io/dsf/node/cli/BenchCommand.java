package io.dsf.node.cli;

import io.dsf.bench.BenchConfig;
import io.dsf.bench.BenchException;
import io.dsf.bench.BenchResult;
import io.dsf.bench.IdleMode;
import io.dsf.bench.LoadGenerator;
import io.dsf.bench.RwMode;
import io.dsf.bench.Targets;
import io.dsf.node.Main;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/**
 * {@code dsf bench}: the fio-like load generator (see {@link LoadGenerator}). Progress and
 * diagnostics go to stderr; the summary to stdout, and with {@code --json} the last line of
 * stdout is one JSON object (DESIGN.md, "the command-line contract"). Control plane only.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "fio-like load generator: IOPS, MB/s and latency percentiles of a target.",
            "Closed loop at a fixed queue depth; latency is submit-to-completion per I/O (HdrHistogram, "
                + "no coordinated-omission correction). Progress every second on stderr; summary on stdout."},
        footer = {"",
            "Targets: device:URI, URI one of uring:PATH, spdk:TRID, file:PATH[?size=SIZE], mem:SIZE, null:SIZE, "
                + "faulty:MODE:URI, delay:USEC:URI; vdisk:URI (a vDisk on a new BlockStore on that device); "
                + "vhost-user-blk:SOCKET and vhost-user-scsi:SOCKET[?mem=SIZE&null=1&indirect=0&lun=N] (a vhost-user "
                + "back-end driven as a guest would: each job owns one request virtqueue and polls its used ring).",
            "",
            "Examples:",
            "  dsf bench --target device:mem:1g --rw randrw --iodepth 32 --runtime 10 --verify",
            "  dsf bench --target device:uring:/data/f?size=1g --rw randread --iodepth 1 --idle spin --json",
            "  dsf bench --target vhost-user-blk:var/node/vdisk0.blk.sock --rw randread --iodepth 32 --jobs 2 --idle spin --json",
            "  dsf bench --target-name qsd --target vhost-user-blk:qsd.sock?null=1 --vs frodo=vhost-user-scsi:frodo.sock?null=1 \\",
            "            --rw randread --iodepth 32 --rounds 20",
            "",
            "With --vs NAME=T (repeatable) the run is interleaved: one connection to each target, driven in turn a slice "
                + "at a time (--slice-ms at --iodepth, then one at --latency-iodepth), order rotated every round; per target one "
                + "JSON object on stdout with its IOPS and its per-round IOPS ratio to --target, and p50/p99 latency and their "
                + "ratios (4 KiB random reads or writes). Slices a fraction of a second apart see the same machine; runs one after the "
                + "other may not (on a VM the host moves the vCPUs).",
            "",
            "Exit codes: 0 ok, 1 target failure, 2 bad arguments, 3 finished with I/O or verify errors."})
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** The embedded default: io_uring with O_DIRECT on a 1 GiB file under ./var (created on first use). */
    static final String DEFAULT_TARGET = "device:uring:var/bench.img?size=1g";

    @Option(names = "--target", paramLabel = "T", defaultValue = DEFAULT_TARGET,
            description = "What to drive: device:URI, vdisk:URI, vhost-user-blk:SOCKET, vhost-user-scsi:SOCKET (later iscsi://) "
                    + "(default: ${DEFAULT-VALUE}).")
    String target;

    @Option(names = "--rw", paramLabel = "MODE", defaultValue = "randread", converter = RwConverter.class,
            description = "read, write, randread, randwrite or randrw (default: ${DEFAULT-VALUE}).")
    RwMode rw;

    @Option(names = "--bs", paramLabel = "SIZE", defaultValue = "4k", converter = SizeConverter.class,
            description = "Bytes per I/O, a multiple of the device block size (default: ${DEFAULT-VALUE}).")
    long bs;

    @Option(names = "--iodepth", paramLabel = "N", defaultValue = "1",
            description = "I/Os kept in flight per job (default: ${DEFAULT-VALUE}).")
    int iodepth;

    @Option(names = "--runtime", paramLabel = "S", defaultValue = "10", converter = DurationConverter.class,
            description = "Measured time after the ramp: seconds, or 500ms / 2m (default: ${DEFAULT-VALUE}).")
    long runtimeNanos;

    @Option(names = "--ramp", paramLabel = "S", defaultValue = "0", converter = DurationConverter.class,
            description = "Warm-up before measuring; its I/Os are not counted (default: ${DEFAULT-VALUE}).")
    long rampNanos;

    @Option(names = "--idle", paramLabel = "spin|backoff|block", defaultValue = "block", converter = IdleConverter.class,
            description = "While no completion is ready: spin, back off (spin, yield, park) or block in the queue (default: ${DEFAULT-VALUE}).")
    IdleMode idle;

    @Option(names = "--json", description = "Print one JSON object as the last line of stdout.")
    boolean json;

    @Option(names = "--verify", description = "Stamp every written block (address, generation, CRC32C) and check every read;"
            + " never-written blocks must read as zeros. Mismatches count as errors and are printed.")
    boolean verify;

    @Option(names = "--flush-each-write", description = "Follow every write with a flush; the write counts as done, and its latency"
            + " ends, when the flush completes (a durable write, as a vDisk acknowledges it; fio's fsync=1 with the sync in the latency).")
    boolean flushEachWrite;

    @Option(names = "--size", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Bytes of the device to use from offset 0 (default: whole device, at most 64GiB; with --verify at most 16Mi blocks).")
    long size;

    @Option(names = "--rwmixread", paramLabel = "PCT", defaultValue = "50",
            description = "Percentage of reads for randrw (default: ${DEFAULT-VALUE}).")
    int rwmixread;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of offsets and read/write choices (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"--jobs", "--queues"}, paramLabel = "N", defaultValue = "1",
            description = "Threads, each with its own queue (for vhost-user targets: its own request virtqueue), buffers and "
                    + "slice of the region (default: ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--no-prefill", description = "Do not fill a never-written region before a read workload.")
    boolean noPrefill;

    @Option(names = "--progress-interval", paramLabel = "S", defaultValue = "1", converter = DurationConverter.class,
            description = "Interval of progress lines on stderr; 0 turns them off (default: ${DEFAULT-VALUE}).")
    long progressNanos;

    @Option(names = "--print-errors", paramLabel = "N", defaultValue = "10",
            description = "How many I/O errors and verify mismatches are printed in detail (default: ${DEFAULT-VALUE}).")
    int printErrors;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "0",
            description = "vdisk: targets: shards (threads) of the vDisk; 0 = one per core, at most 8 (default: ${DEFAULT-VALUE}).")
    int shards;

    @Option(names = "--force", description = "vdisk: targets: reformat a device that already holds a BlockStore.")
    boolean force;

    @Option(names = "--vs", paramLabel = "NAME=T",
            description = "Compare --target with T, interleaved (repeatable; see below).")
    java.util.List<String> vs = new java.util.ArrayList<>();

    @Option(names = "--target-name", paramLabel = "NAME", defaultValue = "target",
            description = "With --vs: the name of --target in the output (default: ${DEFAULT-VALUE}).")
    String targetName;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "20",
            description = "With --vs: rounds, each a slice of every target (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--slice-ms", paramLabel = "MS", defaultValue = "250",
            description = "With --vs: milliseconds per slice (default: ${DEFAULT-VALUE}).")
    long sliceMs;

    @Option(names = "--latency-iodepth", paramLabel = "N", defaultValue = "1",
            description = "With --vs: depth of the latency slices (default: ${DEFAULT-VALUE}).")
    int latencyIodepth;

    @Override
    public Integer call() {
        if (shards < 0 || shards > 64) throw new ParameterException(spec.commandLine(), "--shards must be 0..64: " + shards);
        io.dsf.bench.VDiskTarget.shards = shards;
        io.dsf.bench.VDiskTarget.force = force;
        io.dsf.bench.VDiskTarget.idle = idle.name().toLowerCase(java.util.Locale.ROOT).equals("spin") ? "spin" : "backoff";
        if (!vs.isEmpty()) return interleaved();
        BenchConfig cfg = config();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BenchResult r;
        try {
            r = LoadGenerator.run(cfg, err);
        } catch (BenchException e) {
            if (e.usage()) throw new ParameterException(spec.commandLine(), e.getMessage());
            err.println("dsf bench: " + e.getMessage());
            if (System.getenv("DSF_DEBUG") != null && e.getCause() != null) e.getCause().printStackTrace(err);
            err.flush();
            return Main.EXIT_FAILURE;
        }
        out.println(r.summary());
        if (r.errors() > 0) err.println("dsf bench: " + r.errors() + " I/O errors or verify mismatches");
        if (json) out.println(r.toJson());
        out.flush();
        err.flush();
        return r.errors() > 0 ? Main.EXIT_ERRORS : 0;
    }

    /** The {@code --vs} mode: {@link io.dsf.bench.vhost.InterleavedCompare} over --target and every --vs target. */
    private Integer interleaved() {
        if (rw != RwMode.RANDREAD && rw != RwMode.RANDWRITE)
            throw new ParameterException(spec.commandLine(), "--vs compares random reads or random writes only (--rw randread|randwrite)");
        if (bs != 4096) throw new ParameterException(spec.commandLine(), "--vs runs 4 KiB I/O only (--bs 4k)");
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("--target", targetName + "=" + target, "--ref", targetName,
                "--rw", rw == RwMode.RANDWRITE ? "randwrite" : "randread"));
        for (String v : vs) { a.add("--target"); a.add(v); }
        a.addAll(java.util.List.of("--rounds", Integer.toString(rounds), "--slice-ms", Long.toString(sliceMs),
                "--depth", Integer.toString(iodepth), "--latency-depth", Integer.toString(latencyIodepth),
                "--jobs", Integer.toString(jobs), "--seed", Long.toString(seed),
                "--warmup-ms", Long.toString(rampNanos > 0 ? rampNanos / 1_000_000 : 3000)));
        if (size > 0) { a.add("--size"); a.add(Long.toString(size)); }
        java.io.PrintStream out = new java.io.PrintStream(new WriterStream(spec.commandLine().getOut()), true, java.nio.charset.StandardCharsets.UTF_8);
        java.io.PrintStream err = new java.io.PrintStream(new WriterStream(spec.commandLine().getErr()), true, java.nio.charset.StandardCharsets.UTF_8);
        try {
            io.dsf.bench.vhost.InterleavedCompare.run(a.toArray(String[]::new), out, err);
            return 0;
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (Exception e) {
            err.println("dsf bench: " + e.getMessage());
            return Main.EXIT_FAILURE;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Bytes (UTF-8) into a picocli writer. Control plane only. */
    private static final class WriterStream extends java.io.OutputStream {
        private final PrintWriter w;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        WriterStream(PrintWriter w) { this.w = w; }

        @Override public void write(int b) { line.write(b); if (b == '\n') flush(); }

        @Override public void flush() {
            w.print(line.toString(java.nio.charset.StandardCharsets.UTF_8));
            line.reset();
            w.flush();
        }
    }

    /** Builds the engine's config; a value it rejects is a usage error (exit 2). */
    BenchConfig config() {
        if (bs > Integer.MAX_VALUE) throw new ParameterException(spec.commandLine(), "--bs too large: " + bs);
        if (!target.contains(":")) {
            throw new ParameterException(spec.commandLine(), "--target '" + target + "' needs a kind, KIND:SPEC (kinds: "
                    + Targets.kinds() + "; e.g. device:mem:1g)");
        }
        try {
            return BenchConfig.builder(target).rw(rw).blockSize((int) bs).iodepth(iodepth).runtimeNanos(runtimeNanos)
                    .rampNanos(rampNanos).idle(idle).verify(verify).size(size).rwmixread(rwmixread).seed(seed).jobs(jobs)
                    .prefill(!noPrefill).progressNanos(progressNanos).maxMismatchReports(Math.max(0, printErrors))
                    .flushEachWrite(flushEachWrite).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** {@code --rw} values. Thread safe. */
    static final class RwConverter implements ITypeConverter<RwMode> {
        @Override
        public RwMode convert(String value) {
            try {
                return RwMode.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code --idle} values. Thread safe. */
    static final class IdleConverter implements ITypeConverter<IdleMode> {
        @Override
        public IdleMode convert(String value) {
            try {
                return IdleMode.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
