package io.dsf.blockstore.store;

import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.check.StoreChecker;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.Superblock;
import io.dsf.blockstore.store.meta.MetaImage;
import io.dsf.blockstore.store.meta.Problem;
import io.dsf.blockstore.store.meta.StoreLoader;

import java.io.PrintStream;
import java.util.List;

/**
 * The {@code dsf blockstore format|info|check DEVICE-URI} tools, without a command line: each takes
 * a device URI and a stream for its report and returns the exit code. {@code info} and
 * {@code check} never write to the device: they only read, and repair is left to
 * {@link BlockStore#open}. Exit codes: 0 fine, 1 problems found (check) or no store (info),
 * 2 the device could not be opened or the arguments are wrong. Thread safe (stateless).
 */
public final class BlockStoreTool {
    public static final int OK = 0, PROBLEMS = 1, USAGE = 2;
    private static final int MAX_LISTED = 1000;

    private BlockStoreTool() {}

    /** Formats with default options. */
    public static int format(String deviceUri, PrintStream out) { return format(deviceUri, FormatOptions.DEFAULTS, out); }

    /** Formats the device, destroying what it holds, and prints the new layout. */
    public static int format(String deviceUri, FormatOptions options, PrintStream out) {
        BlockDevice dev;
        try {
            dev = BlockDevices.open(deviceUri);
        } catch (RuntimeException e) {
            out.println("cannot open " + deviceUri + ": " + e.getMessage());
            return USAGE;
        }
        try (dev) {
            try (BlockStore s = BlockStore.format(dev, options)) {
                out.println("formatted " + deviceUri + ": store " + s.uuid());
                printLayout(out, s.layout());
                return OK;
            } catch (IllegalArgumentException e) {
                out.println("cannot format " + deviceUri + ": " + e.getMessage());
                return USAGE;
            } catch (RuntimeException e) {
                out.println("format of " + deviceUri + " failed: " + e.getMessage());
                return PROBLEMS;
            }
        }
    }

    /** Prints the superblock, layout and usage. Never writes. */
    public static int info(String deviceUri, PrintStream out) {
        BlockDevice dev;
        try {
            dev = BlockDevices.open(deviceUri);
        } catch (RuntimeException e) {
            out.println("cannot open " + deviceUri + ": " + e.getMessage());
            return USAGE;
        }
        try (dev) {
            StoreLoader.Result r = StoreLoader.load(dev);
            if (r.superblock == null) {
                out.println(deviceUri + ": no BlockStore");
                for (Problem p : r.problems) out.println("  " + p);
                return PROBLEMS;
            }
            Superblock sb = r.superblock;
            out.println("store            " + sb.uuid());
            out.println("device           " + deviceUri + " (" + Sizes.format(dev.geometry().capacity()) + ")");
            out.println("format version   " + Superblock.VERSION + (sb.flags() != 0 ? " flags " + sb.flags() : ""));
            printLayout(out, sb.layout());
            out.println("checkpoint       generation " + sb.generation() + ", journal replay from seq " + sb.replaySeq()
                    + " (ring page " + sb.layout().ringIndex(sb.replaySeq()) + ")");
            out.println("superblock seq   " + sb.writeSeq());
            if (r.image != null) {
                MetaImage img = r.image;
                int objects = 0;
                long bytes = 0;
                for (int s = 0; s < img.layout.maxObjects; s++) if (img.objHandle[s] != 0) { objects++; bytes += img.objSize[s]; }
                int used = img.allocatedUnits();
                out.println("journal          " + r.journalEnd);
                out.println("objects          " + objects + " (" + Sizes.format(bytes) + " provisioned)");
                out.println("units            " + used + " used, " + (sb.layout().unitCount - used) + " free of " + sb.layout().unitCount);
            }
            if (!r.problems.isEmpty()) {
                out.println("problems         " + r.problems.size() + " (run check)");
                for (Problem p : r.problems) out.println("  " + p);
            }
            return OK;
        } catch (RuntimeException e) {
            out.println("info of " + deviceUri + " failed: " + e);
            return PROBLEMS;
        }
    }

    /** Verifies every structure and every checksum; exit 0 only when nothing at all is wrong. Never writes. */
    public static int check(String deviceUri, PrintStream out) {
        BlockDevice dev;
        try {
            dev = BlockDevices.open(deviceUri);
        } catch (RuntimeException e) {
            out.println("cannot open " + deviceUri + ": " + e.getMessage());
            return USAGE;
        }
        try (dev) {
            StoreChecker.Report rep = StoreChecker.check(dev);
            List<Problem> ps = rep.problems();
            StoreLoader.Result r = rep.load();
            if (r.superblock != null) {
                out.println("store " + r.superblock.uuid() + " on " + deviceUri + ": checkpoint " + r.superblock.generation()
                        + "; journal " + r.journalEnd);
            }
            out.println("verified " + rep.slicesVerified() + " data slices in " + rep.unitsRead() + " units");
            if (rep.lostSlices() > 0) out.println(rep.lostSlices() + " slices recorded lost (torn by a crash while being overwritten without a sync;"
                    + " reads fail with a checksum error until they are written again)");
            int listed = 0;
            for (Problem p : ps) {
                if (listed++ == MAX_LISTED) {
                    out.println("... and " + (ps.size() - MAX_LISTED) + " more problems");
                    break;
                }
                out.println(p);
            }
            out.println(ps.isEmpty() ? "clean" : ps.size() + " problem" + (ps.size() == 1 ? "" : "s") + " found");
            return ps.isEmpty() ? OK : PROBLEMS;
        } catch (RuntimeException e) {
            out.println("check of " + deviceUri + " failed: " + e);
            return PROBLEMS;
        }
    }

    private static void printLayout(PrintStream out, Layout l) {
        out.println("layout           unit " + Sizes.format(l.unitSize) + ", slice " + Sizes.format(l.sliceSize) + ", "
                + l.unitCount + " units from @" + l.firstUnitOffset);
        out.println("journal ring     " + l.ringPages + " pages @" + l.journalOffset);
        out.println("metadata         " + l.metaPages + " pages x 2 slots @" + l.metaOffset + " (objects " + l.objectPages
                + ", units " + l.unitPages + ", checksums " + l.crcPages + ", bitmap " + l.bitmapPages + ", generations " + l.genPages
                + "; max objects " + l.maxObjects + ")");
    }
}
