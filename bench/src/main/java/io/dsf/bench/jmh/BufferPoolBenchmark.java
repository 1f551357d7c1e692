package io.dsf.bench.jmh;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * Cost of {@link BufferPool#acquire()} + {@link BufferPool#release(int)}: one buffer at a time, and
 * 32 taken then returned (as a queue at depth 32 would). Must not allocate ({@code -prof gc}).
 * State is per benchmark thread (a pool is single-owner).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class BufferPoolBenchmark {
    private BlockDevice device;
    private BufferPool pool;
    private final int[] ids = new int[32];

    @Setup(Level.Trial)
    public void setUp() {
        device = BlockDevices.open("null:64m");
        pool = BufferPool.allocate(device, 4096, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        device.close();
    }

    @Benchmark
    public int acquireRelease() {
        int id = pool.acquire();
        pool.release(id);
        return id;
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public void acquire32Release32(Blackhole bh) {
        for (int i = 0; i < 32; i++) ids[i] = pool.acquire();
        for (int i = 31; i >= 0; i--) pool.release(ids[i]);
        bh.consume(ids[0]);
    }
}
