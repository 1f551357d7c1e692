package io.dsf.bench.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.blockstore.store.StoreChannel;
import io.dsf.blockstore.store.StoreCompletionHandler;
import io.dsf.blockstore.store.StoreObject;
import io.dsf.blockstore.store.StoreStatus;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The software cost of one 4 KiB request through a {@link StoreChannel}: unit lookup, checksum of
 * the slice (computed on write, verified on read), submission, completion and, for writes, the
 * checksum record in the channel's ring (drained by the journal thread). On {@code mem:} so reads
 * verify real data. Scores are per request; {@code -prof gc} must show ~0 B/op.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class StoreChannelBenchmark implements StoreCompletionHandler {
    private static final int BS = 4096;
    private static final long OBJECT = 64L << 20;

    @Param({"write", "read"})
    public String op;

    private BlockDevice device;
    private BlockStore store;
    private StoreChannel channel;
    private StoreObject object;
    private MemorySegment buffer;
    private boolean read;
    private long offset;
    private long completed;

    @Setup(Level.Trial)
    public void setUp() {
        device = BlockDevices.open("mem:128m?bs=4096");
        store = BlockStore.format(device, FormatOptions.DEFAULTS.withJournalBytes(8 << 20));
        object = store.create(0, OBJECT, Map.of());
        channel = store.openChannel(4, BS, 4, this);
        buffer = channel.buffers().buffer(channel.buffers().acquire());
        for (long off = 0; off < OBJECT; off += 64 * BS) { // every slice written: reads verify, writes overwrite armed units
            for (int i = 0; i < 64; i++) one(false, off + (long) i * BS);
        }
        read = op.equals("read");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.close();
        store.close();
        device.close();
        if (completed == 0) throw new IllegalStateException("no completion seen");
    }

    @Override
    public void onComplete(long tag, int status) {
        if (status != 0) throw new IllegalStateException("request failed: " + StoreStatus.describe(status));
        completed++;
    }

    private void one(boolean rd, long off) {
        long want = completed + 1;
        int st;
        while ((st = rd ? channel.read(object, off, buffer, BS, off) : channel.write(object, off, buffer, BS, off)) == StoreStatus.BACK_PRESSURE.code())
            channel.await(4, 1_000_000);
        if (st != 0) throw new IllegalStateException("refused: " + StoreStatus.describe(st));
        while (completed < want) channel.await(4, 1_000_000_000L);
    }

    @Benchmark
    public long request() {
        long off = offset;
        offset = off + BS == OBJECT ? 0 : off + BS;
        one(read, off);
        return completed;
    }
}
