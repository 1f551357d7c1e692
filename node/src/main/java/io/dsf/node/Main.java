package io.dsf.node;

import io.dsf.node.cli.BenchCommand;
import io.dsf.node.cli.BlockStoreCommand;
import io.dsf.node.cli.StatsCommand;
import io.dsf.node.cli.ReplicasCommand;
import io.dsf.node.cli.StatusCommand;
import io.dsf.node.cli.UpCommand;
import io.dsf.node.cli.VdiskCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;

/**
 * The {@code dsf} command line: one picocli subcommand class per verb in {@code io.dsf.node.cli}
 * ({@code up}, {@code vdisk}, {@code stats}, {@code bench}, {@code blockstore}; {@code status} comes
 * with the cluster), listed in {@link Command#subcommands()} below. Exit codes: 0 success,
 * 1 failure of the target or node, 2 bad arguments (usage), 3 a run that finished with I/O or
 * verify errors. Control plane only: {@link #execute} runs on the caller's thread.
 */
@Command(name = "dsf",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        versionProvider = Main.Version.class,
        description = "dsf: Distributed Storage Fabric (kernel-bypass storage data plane).",
        subcommands = {UpCommand.class, VdiskCommand.class, StatsCommand.class, StatusCommand.class, ReplicasCommand.class, BenchCommand.class, BlockStoreCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 failure, 2 bad arguments, 3 finished with I/O or verify errors."})
public final class Main implements Runnable {
    /** Exit code of a failure of the target or node (device cannot be opened, I/O stuck). */
    public static final int EXIT_FAILURE = 1;
    /** Exit code of bad arguments (picocli's usage code). */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;
    /** Exit code of a run that finished but saw I/O errors or verify mismatches. */
    public static final int EXIT_ERRORS = 3;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command (try: dsf bench --help)");
    }

    public static void main(String[] args) {
        Charset cs = Charset.defaultCharset();
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), cs), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), cs), true);
        int code = execute(args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Parses and runs {@code args}, writing to {@code out} / {@code err}; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            cmd.getErr().println("dsf " + cmd.getCommandName() + ": error: " + ex);
            if (System.getenv("DSF_DEBUG") != null) ex.printStackTrace(cmd.getErr());
            cmd.getErr().flush();
            return EXIT_FAILURE;
        });
        cl.setParameterExceptionHandler((ex, badArgs) -> {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter e = cmd.getErr();
            e.println(cmd.getCommandSpec().qualifiedName() + ": " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, e);
            if (cmd.getCommandSpec().parent() == null) cmd.usage(e);
            else e.println("try: " + cmd.getCommandSpec().qualifiedName() + " --help");
            e.flush();
            return EXIT_USAGE;
        });
        return cl.execute(args);
    }

    /** Version from the jar manifest, "dev" when run from classes. Thread safe. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"dsf " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
