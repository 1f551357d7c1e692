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
}
