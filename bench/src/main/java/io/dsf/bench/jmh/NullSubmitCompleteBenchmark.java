package io.dsf.bench.jmh;

import io.dsf.blockstore.io.BufferPool;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
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
import java.util.concurrent.TimeUnit;

/**
 * The software cost of one I/O through the SPI on {@code null:}: submit (validation, admission),
 * {@code submit()}, {@code poll()} and the completion callback, in batches of 1 and 32 requests
 * per poll. Scores are per I/O. Must not allocate ({@code -prof gc}). The queue is opened in the
 * trial set-up, which JMH runs on the benchmark thread: the thread owns its queue.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class NullSubmitCompleteBenchmark implements CompletionHandler {
    private static final int BS = 4096;

    /** {@code write} (discarded) or {@code read} (zero-fills the buffer, as null: promises). */
    @Param({"write", "read"})
    public String op;

    private BlockDevice device;
    private DeviceQueue queue;
    private MemorySegment[] buffers;
    private boolean read;
    private long completed;
    private long offset;

    @Setup(Level.Trial)
    public void setUp() {
        device = BlockDevices.open("null:1g");
        queue = device.openQueue(32, this);
        BufferPool pool = BufferPool.allocate(device, BS, 32).registerWith(queue);
        buffers = new MemorySegment[32];
        for (int i = 0; i < 32; i++) buffers[i] = pool.buffer(pool.acquire());
        read = op.equals("read");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        queue.close();
        device.close();
        if (completed == 0) throw new IllegalStateException("no completion seen");
    }

    @Override
    public void onComplete(long userData, int status) {
        if (status != 0) throw new IllegalStateException("null: I/O failed: " + status);
        completed++;
    }

    private void submitOne(int slot) {
        long off = offset;
        offset = off + BS == (1L << 30) ? 0 : off + BS;
        int st = read ? queue.read(off, buffers[slot], BS, slot) : queue.write(off, buffers[slot], BS, slot);
        if (st != DeviceQueue.ACCEPTED) throw new IllegalStateException("submission refused: " + st);
    }

    @Benchmark
    public int batch1() {
        submitOne(0);
        queue.submit();
        return queue.poll(32);
    }

    @Benchmark
    @OperationsPerInvocation(32)
    public int batch32() {
        for (int i = 0; i < 32; i++) submitOne(i);
        queue.submit();
        return queue.poll(32);
    }
}
