package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The child side of {@link CrashTest}: opens (or formats) a store and runs a random workload —
 * create, resize, delete, batches of async writes, channel and store syncs — until it is killed.
 * Before each operation it prints (and flushes) what it is about to do, and after each sync
 * returns it prints the acknowledgement:
 * <pre>
 *   READY                    store open
 *   C id size                create
 *   R id size                resize
 *   D id                     delete
 *   W id offset slices ver   write (slice content derived from id, slice offset and ver)
 *   SB n / SA n              sync n begins / was acknowledged
 * </pre>
 * Runs in its own JVM; single threaded.
 */
public final class CrashWorkload {
    static final FormatOptions OPTS = FormatOptions.DEFAULTS.withUnitSize(64 << 10).withJournalBytes(256 << 10).withMaxObjects(128);
    static final int SLICE = 4096;

    private CrashWorkload() {}

    /** Fills one slice with the content of version {@code ver} of slice {@code off} of object {@code id}. */
    static void content(MemorySegment b, long pos, long id, long off, long ver) {
        b.set(ValueLayout.JAVA_LONG_UNALIGNED, pos, id);
        b.set(ValueLayout.JAVA_LONG_UNALIGNED, pos + 8, off);
        b.set(ValueLayout.JAVA_LONG_UNALIGNED, pos + 16, ver);
        long x = id * 0x9E3779B97F4A7C15L ^ off * 0xC2B2AE3D27D4EB4FL ^ ver * 0x165667B19E3779F9L;
        for (int i = 24; i < SLICE; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b.set(ValueLayout.JAVA_LONG_UNALIGNED, pos + i, x);
        }
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        long seed = Long.parseLong(args[1]);
        long cycle = Long.parseLong(args[2]);
        boolean format = args[3].equals("format");
        long runMillis = Long.parseLong(args[4]);
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true); // one write(2) per line
        SplittableRandom r = new SplittableRandom(seed);
        BlockDevice dev = BlockDevices.open(uri);
        BlockStore s = format ? BlockStore.format(dev, OPTS) : BlockStore.open(dev);
        List<StoreObject> objs = new ArrayList<>(s.objects());
        int[] pending = {0};
        int[] failed = {0};
        StoreChannel ch = s.openChannel(8, 64 << 10, 8, (t, st) -> {
            pending[0]--;
            if (st != 0) failed[0] = st;
        });
        MemorySegment[] bufs = new MemorySegment[8];
        for (int i = 0; i < 8; i++) bufs[i] = ch.buffers().buffer(ch.buffers().acquire());
        out.println("READY");
        long nextId = cycle * 1_000_000L + 1;
        long ver = cycle * 1_000_000L + 1;
        long syncN = 0;
        long deadline = System.nanoTime() + runMillis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            int p = r.nextInt(100);
            if ((p < 8 && objs.size() < 40) || objs.isEmpty()) {
                long id = nextId++;
                long size = (long) r.nextInt(1, 9) * (64 << 10) - (r.nextBoolean() ? 0 : (long) r.nextInt(0, 15) * SLICE);
                out.println("C " + id + " " + size);
                objs.add(s.create(id, size, Map.of("c", new byte[]{(byte) cycle})));
            } else if (p < 12) {
                StoreObject o = objs.get(r.nextInt(objs.size()));
                long size = (long) r.nextInt(0, 9) * (64 << 10) + (long) r.nextInt(0, 16) * SLICE;
                out.println("R " + o.id() + " " + size);
                s.resize(o, size);
            } else if (p < 15) {
                StoreObject o = objs.remove(r.nextInt(objs.size()));
                out.println("D " + o.id());
                s.delete(o);
            } else if (p < 27) {
                long n = ++syncN;
                out.println("SB " + n);
                if (r.nextBoolean()) s.sync();
                else ch.syncBlocking();
                out.println("SA " + n);
            } else {
                // a batch of async writes to distinct objects
                int batch = r.nextInt(1, 5);
                List<StoreObject> used = new ArrayList<>();
                for (int k = 0; k < batch; k++) {
                    StoreObject o = objs.get(r.nextInt(objs.size()));
                    if (used.contains(o) || o.size() == 0) continue;
                    used.add(o);
                    long slices = o.size() / SLICE;
                    int n = (int) Math.min(slices, r.nextInt(1, 5));
                    long off = r.nextLong(0, slices - n + 1) * SLICE;
                    long v = ver++;
                    MemorySegment b = bufs[k];
                    for (int i = 0; i < n; i++) content(b, (long) i * SLICE, o.id(), off + (long) i * SLICE, v);
                    out.println("W " + o.id() + " " + off + " " + n + " " + v);
                    int st = ch.write(o, off, b, n * SLICE, v);
                    if (st != 0) throw new IllegalStateException("write refused: " + StoreStatus.describe(st));
                    pending[0]++;
                }
                while (pending[0] > 0) ch.await(8, 1_000_000_000L);
                if (failed[0] != 0) throw new IllegalStateException("write failed: " + StoreStatus.describe(failed[0]));
            }
        }
        out.println("DONE");
        Runtime.getRuntime().halt(0); // no close: what a crash leaves
    }
}
