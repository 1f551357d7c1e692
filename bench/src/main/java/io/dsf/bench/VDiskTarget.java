package io.dsf.bench;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code vdisk:URI}: a vDisk served in-process by Stargate on a new BlockStore over the device
 * {@code URI}; the job threads submit into the shards' rings and take completions back from a
 * per-queue ring the shard threads publish into (client and server on different threads).
 * Control plane only; each queue is owned by its job thread.
 */
public final class VDiskTarget implements Target {
    /** Shards for the vDisk ({@code --shards}); 0 means Stargate's default. */
    public static volatile int shards = 0;
    /** Whether a device already holding a BlockStore may be reformatted ({@code --force}). */
    public static volatile boolean force = false;
    /** Idle strategy of the shards ({@code --idle} maps onto it). */
    public static volatile String idle = "backoff";

    private final String spec;
    private final BlockDevice raw;
    private final BlockStore store;
    private final Stargate stargate;
    private final VDisk vdisk;
    private final Device device;
    /**
     * Snapshots to put in the vDisk's chain after the prefill ({@code -Ddsf.bench.snapshots=N} or
     * {@code ?snapshots=N}), or with {@link #rewriteOnly} the pieces to rewrite the same way without
     * taking them ({@code ?rewrites=N}: the depth-0 side of a depth comparison); 0 once done.
     */
    private int snapshots;
    private final boolean rewriteOnly;

    private VDiskTarget(String spec, BlockDevice raw, BlockStore store, Stargate sg, VDisk vdisk, int snapshots, boolean rewriteOnly) {
        this.snapshots = snapshots;
        this.rewriteOnly = rewriteOnly;
        if (snapshots > 0) {
            System.err.println("vdisk: the " + (rewriteOnly ? "rewrites of " + snapshots + " pieces are" : "chain of " + snapshots + " snapshots is")
                    + " built after the prefill (read workloads prefill)");
        }
        this.spec = spec;
        this.raw = raw;
        this.store = store;
        this.stargate = sg;
        this.vdisk = vdisk;
        this.device = new Device();
    }

    public static VDiskTarget open(String uri) {
        String spec = "vdisk:" + uri;
        if (uri.isBlank()) throw BenchException.usage("target 'vdisk:' needs a device URI (" + BlockDevices.SCHEMES + ")");
        // snapshots=N and rewrites=N in the query are the target's (one process may compare vDisks of
        // two depths); the rest is the device's
        String rest = uri;
        int snapshots = Integer.getInteger("dsf.bench.snapshots", 0);
        boolean rewriteOnly = false, chainGiven = false;
        int q = uri.indexOf('?');
        if (q >= 0) {
            StringBuilder kept = new StringBuilder();
            for (String kv : uri.substring(q + 1).split("&")) {
                boolean snap = kv.startsWith("snapshots="), rw = kv.startsWith("rewrites=");
                if (snap || rw) {
                    String key = kv.substring(0, kv.indexOf('='));
                    if (chainGiven) throw BenchException.usage("--target " + spec + " gives snapshots= or rewrites= twice: one of them, once");
                    chainGiven = true;
                    try {
                        snapshots = Integer.parseInt(kv.substring(key.length() + 1));
                    } catch (NumberFormatException e) {
                        snapshots = -1;
                    }
                    if (snapshots < 0 || snapshots > 1000)
                        throw BenchException.usage("bad " + key + "= in --target " + spec + ": want 0..1000");
                    rewriteOnly = rw;
                    continue;
                }
                if (!kv.isEmpty()) kept.append(kept.isEmpty() ? "?" : "&").append(kv);
            }
            rest = uri.substring(0, q) + kept;
        }
        BlockDevice dev;
        try {
            dev = BlockDevices.open(rest);
        } catch (IllegalArgumentException e) {
            throw BenchException.usage("bad device URI in --target " + spec + ": " + e.getMessage());
        }
        try {
            String scheme = DeviceTarget.innermostScheme(dev.uri());
            if (!scheme.equals("mem") && !scheme.equals("null") && !force) {
                boolean holds;
                try (BlockStore existing = BlockStore.open(dev)) {
                    holds = existing != null;
                } catch (RuntimeException notAStore) {
                    holds = false;
                }
                if (holds) throw BenchException.usage(rest + " already holds a BlockStore; add --force to reformat it for the benchmark");
            }
            BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
            long cap = dev.geometry().capacity();
            int n = shards > 0 ? shards : StargateOptions.defaults().shards();
            long seg = Math.max(4L << 20, Math.min(64L << 20, (cap / 64 / n) >> 20 << 20));
            long perShard = Math.max(2 * seg, (cap / 8 / n) / seg * seg);
            StargateOptions o = StargateOptions.defaults().withShards(n).withOplog(seg, perShard)
                    .withIndexBudget(Math.max(1 << 16, perShard * n / 4096)).withIdle(idle);
            Stargate sg = Stargate.open(dev, store, o);
            long size = (cap / 2) >> 20 << 20;
            VDisk v = sg.create("bench", size);
            return new VDiskTarget(spec, dev, store, sg, v, snapshots, rewriteOnly);
        } catch (RuntimeException e) {
            dev.close();
            throw e;
        }
    }

    /**
     * Gives the vDisk a chain of {@code n} snapshots ({@code -Ddsf.bench.snapshots=N}, for the
     * snapshot-depth benchmark), over the prefilled contents: before snapshot {@code i} the 1 MiB
     * piece {@code i} is read and written back unchanged, so every level of the chain holds an
     * extent of its own, the vDisk shares the rest with all of them, and what it reads is the
     * prefill's data (a run with {@code --verify} still checks it). Both sides of a depth
     * comparison read the same prefilled data; only the chain differs. With {@link #rewriteOnly} the
     * same pieces are read and rewritten and no snapshot is taken (the rewrites then land in place):
     * the depth-0 side with the same write history.
     */
    private void snapshotChain(int n) {
        MemorySegment buf = raw.allocateDma(1 << 20);
        stargate.registerMemory(buf);
        long pieces = vdisk.size() >> 20;
        for (int i = 0; i < n; i++) {
            long off = (i % pieces) << 20;
            java.util.concurrent.CompletableFuture<Integer> r = new java.util.concurrent.CompletableFuture<>();
            int st = vdisk.read(off, buf, 1 << 20, i, (t, s) -> r.complete(s));
            if (st != VDiskStatus.OK || r.join() != VDiskStatus.OK) throw new IllegalStateException("snapshot chain: read failed");
            java.util.concurrent.CompletableFuture<Integer> w = new java.util.concurrent.CompletableFuture<>();
            st = vdisk.write(off, buf, 1 << 20, i, (t, s) -> w.complete(s));
            if (st != VDiskStatus.OK || w.join() != VDiskStatus.OK) throw new IllegalStateException("snapshot chain: write failed");
            if (!rewriteOnly) stargate.snapshot(vdisk.name(), vdisk.name() + "-s" + i);
        }
        stargate.drain(vdisk.name());
        System.err.println(rewriteOnly ? "vdisk: " + n + " 1 MiB pieces rewritten, no snapshot taken"
                : "vdisk: " + n + " snapshots in the chain of '" + vdisk.name() + "', each holding a rewritten 1 MiB piece");
    }

    @Override public String spec() { return spec; }
    @Override public BlockDevice device() { return device; }
    @Override public String serverPlacement() { return "server=" + ((io.dsf.stargate.core.VDiskController) vdisk).shardCount() + " shard threads"; }
    @Override public boolean retainsWrites() { return !DeviceTarget.innermostScheme(raw.uri()).equals("null"); }
    @Override public boolean prefillUseful() { return true; }

    public Stargate stargate() { return stargate; }

    /** Drains the OpLog the prefill filled, so reads measure the Extent Store path, not the drain. */
    @Override
    public void settle() {
        long t0 = System.nanoTime();
        stargate.drain(vdisk.name());
        System.err.printf("vdisk: OpLog drained after the prefill in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        if (snapshots > 0) {
            int n = snapshots;
            snapshots = 0;
            snapshotChain(n);
        }
    }

    @Override
    public void close() {
        if (snapshots > 0) { // settle() never ran: the run did not prefill
            System.err.println("vdisk: no snapshot chain was built: -Ddsf.bench.snapshots takes effect after the prefill of a read workload");
        }
        if (Boolean.getBoolean("dsf.bench.counters")) { // the vDisk's own counters, for finding where a run's time went
            System.err.println("vdisk counters: " + ((io.dsf.stargate.core.VDiskController) vdisk).counters());
            System.err.println("store: " + store.stats());
        }
        stargate.close();
        store.close();
        raw.close();
    }

    /** The vDisk as a BlockDevice for the load generator. */
    private final class Device implements BlockDevice {
        @Override public String uri() { return spec; }

        @Override
        public Geometry geometry() {
            return new Geometry(vdisk.size(), vdisk.blockSize(), 4096, vdisk.maxTransfer(), true, true, false);
        }

        @Override public DeviceQueue openQueue(int depth, CompletionHandler handler) { return new Queue(depth, handler); }

        /** The device's DMA memory, declared to Stargate so reads go straight into the job's buffers. */
        @Override
        public MemorySegment allocateDma(long size) {
            MemorySegment m = raw.allocateDma(size);
            stargate.registerMemory(m);
            return m;
        }

        @Override public void close() { }
    }

    /** One job thread's queue: completions come back through a bounded MPSC ring of (userData, status). */
    private final class Queue implements DeviceQueue, IoCallback {
        private final int depth, mask;
        private final CompletionHandler handler;
        private final long[] data;
        private final int[] status;
        private final AtomicLongArray seq;
        private final AtomicLong tail = new AtomicLong();
        private long head;
        private int inFlight;
        private final Thread owner = Thread.currentThread();
        private volatile boolean waiting;

        Queue(int depth, CompletionHandler handler) {
            int cap = Integer.highestOneBit(Math.max(2, depth) * 2 - 1);
            this.depth = depth;
            this.mask = cap - 1;
            this.handler = handler;
            this.data = new long[cap];
            this.status = new int[cap];
            this.seq = new AtomicLongArray(cap);
            for (int i = 0; i < cap; i++) seq.set(i, i);
        }

        @Override
        public void onComplete(long tag, int st) { // on a shard thread
            long t = tail.getAndIncrement();
            int i = (int) (t & mask);
            while (seq.get(i) != t) Thread.onSpinWait(); // the slot is free once its previous round was consumed
            data[i] = tag;
            status[i] = st;
            seq.set(i, t + 1);
            if (waiting) LockSupport.unpark(owner);
        }

        private static int map(int st) {
            return switch (st) {
                case VDiskStatus.OK -> 0;
                case VDiskStatus.INVALID -> IoError.UNALIGNED.code();
                case VDiskStatus.OUT_OF_RANGE -> IoError.OUT_OF_RANGE.code();
                case VDiskStatus.NO_SPACE -> IoError.NO_SPACE.code();
                case VDiskStatus.CLOSED -> IoError.CLOSED.code();
                case VDiskStatus.BUSY -> IoError.QUEUE_FULL.code();
                default -> IoError.IO_ERROR.code();
            };
        }

        private int accepted(int st) {
            if (st != VDiskStatus.OK) return map(st);
            inFlight++;
            return ACCEPTED;
        }

        @Override
        public int read(long offset, MemorySegment buffer, int length, long userData) {
            if (inFlight >= depth) return IoError.QUEUE_FULL.code();
            return accepted(vdisk.read(offset, buffer, length, userData, this));
        }

        @Override
        public int write(long offset, MemorySegment buffer, int length, long userData) {
            if (inFlight >= depth) return IoError.QUEUE_FULL.code();
            return accepted(vdisk.write(offset, buffer, length, userData, this));
        }

        @Override
        public int flush(long userData) {
            if (inFlight >= depth) return IoError.QUEUE_FULL.code();
            return accepted(vdisk.flush(userData, this));
        }

        @Override
        public int trim(long offset, long length, long userData) {
            if (inFlight >= depth) return IoError.QUEUE_FULL.code();
            return accepted(vdisk.unmap(offset, length, userData, this));
        }

        @Override public int submit() { return 0; }

        @Override
        public int poll(int max) {
            int n = 0;
            while (n < max) {
                int i = (int) (head & mask);
                if (seq.get(i) != head + 1) break;
                long ud = data[i];
                int st = status[i];
                seq.set(i, head + mask + 1);
                head++;
                inFlight--;
                n++;
                handler.onComplete(ud, map(st));
            }
            return n;
        }

        @Override
        public int await(int max, long timeoutNanos) {
            int n = poll(max);
            if (n > 0 || inFlight == 0) return n;
            long deadline = System.nanoTime() + timeoutNanos;
            for (int spins = 0; ; spins++) {
                n = poll(max);
                if (n > 0) return n;
                long left = deadline - System.nanoTime();
                if (left <= 0) return 0;
                if (spins < 200) {
                    Thread.onSpinWait();
                } else {
                    waiting = true;
                    if (seq.get((int) (head & mask)) != head + 1) LockSupport.parkNanos(Math.min(left, 1_000_000));
                    waiting = false;
                }
            }
        }

        @Override public int inFlight() { return inFlight; }
        @Override public int depth() { return depth; }
        @Override public BlockDevice device() { return device; }

        @Override
        public void close() {
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (inFlight > 0 && System.nanoTime() < deadline) await(inFlight, 10_000_000);
        }
    }
}
