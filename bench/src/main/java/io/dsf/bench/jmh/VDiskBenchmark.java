package io.dsf.bench.jmh;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The cost of one 4 KiB random I/O through Stargate at iodepth 32, one shard spinning, against
 * the same I/O on the raw device it runs on ({@code raw*}, the peer: a device queue on the
 * benchmark thread). Each invocation submits 32 I/Os and waits for the 32 completions; scores are
 * per I/O. {@code vdisk*} is the whole path: the submitter publishes into the shard's Disruptor
 * ring, the shard thread runs the OpLog (writes: copy, CRC32C, a group-committed batch and sync,
 * the drain in the background) or the read path (OpLog index, Unified Cache, extent read with
 * checksum verification) and calls back. On a 2-core machine the shard and the benchmark thread
 * take both cores, so the ratio also carries the thread hand-offs; the device is {@code mem:}
 * ({@code -p device=null:2g} shows the software path alone).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class VDiskBenchmark implements IoCallback, CompletionHandler {
    private static final int BS = 4096, QD = 32;
    private static final long REGION = 256L << 20;

    /** The device under both sides (each side gets its own instance). */
    @Param("mem:2g")
    public String device;

    private BlockDevice vdev, rawDev;
    private BlockStore store;
    private Stargate stargate;
    private VDisk vdisk;
    private DeviceQueue rawQueue;
    private MemorySegment[] buffers;
    private final AtomicInteger done = new AtomicInteger();
    private int rawDone;
    private final SplittableRandom rnd = new SplittableRandom(11);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        vdev = BlockDevices.open(device);
        store = BlockStore.format(vdev, FormatOptions.DEFAULTS);
        stargate = Stargate.open(vdev, store, StargateOptions.defaults().withShards(1).withIdle("spin"));
        vdisk = stargate.create("jmh", REGION);
        rawDev = BlockDevices.open(device);
        rawQueue = rawDev.openQueue(QD, this);
        BufferPool pool = BufferPool.allocate(rawDev, BS, QD).registerWith(rawQueue);
        stargate.registerMemory(pool.region()); // vDisk reads go straight into the buffers too
        buffers = new MemorySegment[QD];
        for (int i = 0; i < QD; i++) {
            buffers[i] = pool.buffer(pool.acquire());
            buffers[i].fill((byte) (i + 1));
        }
        // lay the region out on both sides, so reads find data (the vDisk's goes to its extents)
        MemorySegment mb = rawDev.allocateDma(1 << 20);
        mb.fill((byte) 7);
        for (long off = 0; off < REGION; off += 1 << 20) {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            if (vdisk.write(off, mb, 1 << 20, 0, (t, s) -> f.complete(s)) != VDiskStatus.OK || f.get() != VDiskStatus.OK)
                throw new IllegalStateException("vDisk layout write failed");
            if (rawQueue.write(off, mb, 1 << 20, 2000) != DeviceQueue.ACCEPTED) throw new IllegalStateException("raw layout write refused");
            rawQueue.submit();
            while (rawDone == 0) rawQueue.poll(1);
            rawDone = 0;
        }
        stargate.drain("jmh");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.println("\n" + stargate.stats("jmh").format());
        stargate.close();
        store.close();
        vdev.close();
        rawQueue.close();
        rawDev.close();
    }

    @Override
    public void onComplete(long tag, int status) {
        if (status != 0) throw new IllegalStateException("I/O failed: " + status);
        if (tag >= 1000) rawDone++;
        else done.incrementAndGet();
    }

    private long offset() {
        return (long) rnd.nextInt((int) (REGION / BS)) * BS;
    }

    private int vdiskBatch(boolean write) {
        done.set(0);
        for (int i = 0; i < QD; i++) {
            int st = write ? vdisk.write(offset(), buffers[i], BS, i, this) : vdisk.read(offset(), buffers[i], BS, i, this);
            if (st != VDiskStatus.OK) throw new IllegalStateException("submission refused: " + st);
        }
        while (done.get() < QD) Thread.onSpinWait();
        return done.get();
    }

    private int rawBatch(boolean write) {
        rawDone = 0;
        for (int i = 0; i < QD; i++) {
            int st = write ? rawQueue.write(offset(), buffers[i], BS, 1000 + i) : rawQueue.read(offset(), buffers[i], BS, 1000 + i);
            if (st != DeviceQueue.ACCEPTED) throw new IllegalStateException("submission refused: " + st);
        }
        rawQueue.submit();
        while (rawDone < QD) rawQueue.poll(QD);
        return rawDone;
    }

    @Benchmark
    @OperationsPerInvocation(QD)
    public int vdiskRandWrite() { return vdiskBatch(true); }

    @Benchmark
    @OperationsPerInvocation(QD)
    public int vdiskRandRead() { return vdiskBatch(false); }

    @Benchmark
    @OperationsPerInvocation(QD)
    public int rawRandWrite() { return rawBatch(true); }

    @Benchmark
    @OperationsPerInvocation(QD)
    public int rawRandRead() { return rawBatch(false); }

    /**
     * Not a JMH benchmark: the shard thread's CPU time per I/O, a measure that a busy machine
     * disturbs far less than throughput (a shard that waits parks: idle {@code block}). Usage:
     * {@code VDiskBenchmark cpu DEVICE randwrite|randread IOS}. One shard on a 1 GiB vDisk with the
     * CLI bench's OpLog sizing; 4 KiB random I/O at iodepth 32 over the whole vDisk. Writes count
     * from the first write until the OpLog is drained (the drain is part of a write's cost); reads
     * run after a sequential prefill and a drain (writes too with {@code -Ddsf.cpu.prefillWrites=true}:
     * overwrites of vBlocks that have their extents, instead of a thin vDisk's first writes). The buffers are registered with the node
     * ({@code Stargate.registerMemory}) unless {@code -Ddsf.cpu.register=false}. Prints one JSON line.
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 4 || !args[0].equals("cpu")) {
            System.err.println("usage: VDiskBenchmark cpu DEVICE randwrite|randread IOS");
            System.exit(2);
        }
        String device = args[1];
        boolean write = args[2].equals("randwrite");
        long ios = Long.parseLong(args[3]);
        BlockDevice dev = BlockDevices.open(device);
        BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
        long cap = dev.geometry().capacity();
        long seg = Long.getLong("dsf.cpu.segmentMiB", Math.max(4L << 20, Math.min(64L << 20, (cap / 64) >> 20 << 20)) >> 20) << 20;
        long perShard = Math.max(2 * seg, (cap / 8) / seg * seg);
        StargateOptions o = StargateOptions.defaults().withShards(1).withOplog(seg, perShard)
                .withIndexBudget(Math.max(1 << 16, perShard / 4096)).withIdle(System.getProperty("dsf.cpu.idle", "block"));
        String drainStart = System.getProperty("dsf.cpu.drainStart");
        if (drainStart != null) o = o.withDrainStart(Double.parseDouble(drainStart));
        Stargate sg = Stargate.open(dev, store, o);
        long size = (cap / 2) >> 20 << 20;
        VDisk v = sg.create("cpu", size);
        MemorySegment mem = dev.allocateDma((long) QD * BS);
        if (Boolean.parseBoolean(System.getProperty("dsf.cpu.register", "true"))) registerMemory(sg, mem);
        MemorySegment[] bufs = new MemorySegment[QD];
        for (int i = 0; i < QD; i++) {
            bufs[i] = mem.asSlice((long) i * BS, BS);
            bufs[i].fill((byte) (i + 1));
        }
        if (!write || Boolean.getBoolean("dsf.cpu.prefillWrites")) { // writes over a written vDisk: overwrites in place
            MemorySegment mb = dev.allocateDma(1 << 20);
            mb.fill((byte) 7);
            for (long off = 0; off < size; off += 1 << 20) {
                CompletableFuture<Integer> f = new CompletableFuture<>();
                if (v.write(off, mb, 1 << 20, 0, (t, st) -> f.complete(st)) != VDiskStatus.OK || f.get() != VDiskStatus.OK)
                    throw new IllegalStateException("prefill write failed");
            }
            sg.drain("cpu");
        }
        Thread shard = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("stargate-cpu-shard0")).findFirst().orElseThrow();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        SplittableRandom rnd = new SplittableRandom(17);
        AtomicInteger inflight = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        IoCallback cb = (tag, st) -> {
            if (st != VDiskStatus.OK) failed.incrementAndGet();
            inflight.decrementAndGet();
        };
        long blocks = size / BS;
        long[] phase = {ios / 4, ios}; // warm-up, then measured
        long cpu0 = 0, t0 = 0, cpu1, t1;
        for (int p = 0; p < 2; p++) {
            if (p == 1) {
                cpu0 = mx.getThreadCpuTime(shard.threadId());
                t0 = System.nanoTime();
            }
            long submitted = 0;
            int slot = 0;
            while (submitted < phase[p]) {
                if (inflight.get() >= QD) {
                    Thread.onSpinWait();
                    continue;
                }
                long off = rnd.nextLong(blocks) * BS;
                MemorySegment buf = bufs[slot];
                slot = (slot + 1) % QD;
                inflight.incrementAndGet();
                int st = write ? v.write(off, buf, BS, 0, cb) : v.read(off, buf, BS, 0, cb);
                if (st != VDiskStatus.OK) throw new IllegalStateException("submission refused: " + st);
                submitted++;
            }
            while (inflight.get() > 0) Thread.onSpinWait();
        }
        if (write) sg.drain("cpu");
        cpu1 = mx.getThreadCpuTime(shard.threadId());
        t1 = System.nanoTime();
        if (failed.get() != 0) throw new IllegalStateException(failed.get() + " I/Os failed");
        System.err.println("counters: " + sg.controller("cpu").counters());
        System.out.printf("{\"rw\":\"%s\",\"device\":\"%s\",\"ios\":%d,\"shard_cpu_ns_per_io\":%.1f,\"wall_iops\":%.0f}%n",
                args[2], device, ios, (cpu1 - cpu0) / (double) ios, ios * 1e9 / (t1 - t0));
        sg.close();
        store.close();
        dev.close();
    }

    /**
     * Declares the I/O buffers to Stargate (reads then go straight into them), when the Stargate on the
     * class path has {@code registerMemory}: the cpu harness also runs over older builds, to compare.
     */
    private static void registerMemory(Stargate sg, MemorySegment mem) throws Exception {
        java.lang.reflect.Method m;
        try {
            m = Stargate.class.getMethod("registerMemory", MemorySegment.class);
        } catch (NoSuchMethodException e) {
            System.err.println("this Stargate has no registerMemory: reads go through bounce buffers");
            return;
        }
        m.invoke(sg, mem);
    }
}
