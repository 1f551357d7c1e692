package io.dsf.bench;

import java.util.Objects;

/**
 * One load-generator run, already parsed and checked for values that are wrong on their own
 * (checks against the device, such as block-size alignment, happen once it is open). Immutable.
 *
 * @param target           target spec, e.g. {@code device:mem:1g} (see {@link Targets})
 * @param rw               I/O pattern
 * @param blockSize        bytes per I/O
 * @param iodepth          I/Os kept in flight per job
 * @param runtimeNanos     measured time (after the ramp)
 * @param rampNanos        warm-up time whose I/Os are not counted
 * @param idle             what a job does while no completion is ready
 * @param verify           stamp every written block and check every read (see {@link VerifyBlockDescriptor})
 * @param size             bytes of the device to use from offset 0; 0 means the default (whole device, capped)
 * @param rwmixread        percentage of reads in {@code randrw}
 * @param seed             seed of the offset and read/write choices (job {@code j} uses {@code seed + j})
 * @param jobs             threads, each with its own queue, buffers and slice of the region
 * @param prefill          allow the automatic sequential fill before read workloads
 * @param progressNanos    interval of progress lines on stderr; 0 for none
 * @param maxMismatchReports how many verify mismatches and I/O errors are printed in detail
 * @param flushEachWrite   follow every write with a flush and count the write done when the flush
 *                         is (its latency includes the flush): a durable write, what a vDisk
 *                         acknowledges, on a device with a volatile cache (a file in the page cache)
 */
public record BenchConfig(String target, RwMode rw, int blockSize, int iodepth, long runtimeNanos, long rampNanos,
                          IdleMode idle, boolean verify, long size, int rwmixread, long seed, int jobs,
                          boolean prefill, long progressNanos, int maxMismatchReports, boolean flushEachWrite) {

    /** Largest accepted I/O size. */
    public static final int MAX_BLOCK_SIZE = 64 << 20;
    /** Largest accepted queue depth per job. */
    public static final int MAX_IODEPTH = 4096;
    /** Most jobs (threads) accepted. */
    public static final int MAX_JOBS = 256;

    public BenchConfig {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(rw, "rw");
        Objects.requireNonNull(idle, "idle");
        if (target.isBlank()) throw new IllegalArgumentException("--target is empty");
        if (blockSize < 512 || blockSize > MAX_BLOCK_SIZE || blockSize % 512 != 0)
            throw new IllegalArgumentException("--bs must be a multiple of 512 between 512 and 64M: " + blockSize);
        if (iodepth < 1 || iodepth > MAX_IODEPTH)
            throw new IllegalArgumentException("--iodepth must be between 1 and " + MAX_IODEPTH + ": " + iodepth);
        if (runtimeNanos <= 0) throw new IllegalArgumentException("--runtime must be positive");
        if (rampNanos < 0) throw new IllegalArgumentException("--ramp must not be negative");
        if (size < 0) throw new IllegalArgumentException("--size must not be negative");
        if (size != 0 && size % blockSize != 0)
            throw new IllegalArgumentException("--size " + size + " is not a multiple of --bs " + blockSize);
        if (rwmixread < 0 || rwmixread > 100)
            throw new IllegalArgumentException("--rwmixread must be between 0 and 100: " + rwmixread);
        if (jobs < 1 || jobs > MAX_JOBS) throw new IllegalArgumentException("--jobs must be between 1 and " + MAX_JOBS + ": " + jobs);
        if (progressNanos < 0) throw new IllegalArgumentException("progress interval must not be negative");
        if (maxMismatchReports < 0) throw new IllegalArgumentException("mismatch report count must not be negative");
    }

    /** Share of reads in percent: 100 for read workloads, 0 for write workloads, else {@link #rwmixread}. */
    public int readPercent() {
        if (!rw.hasWrites()) return 100;
        if (!rw.hasReads()) return 0;
        return rwmixread;
    }

    public static Builder builder(String target) { return new Builder(target); }

    /** Fills in defaults: randread, 4 KiB, depth 1, 10 s, no ramp, block, one job. Not thread safe. */
    public static final class Builder {
        private final String target;
        private RwMode rw = RwMode.RANDREAD;
        private int blockSize = 4096;
        private int iodepth = 1;
        private long runtimeNanos = 10_000_000_000L;
        private long rampNanos;
        private IdleMode idle = IdleMode.BLOCK;
        private boolean verify;
        private long size;
        private int rwmixread = 50;
        private long seed = 1;
        private int jobs = 1;
        private boolean prefill = true;
        private long progressNanos = 1_000_000_000L;
        private int maxMismatchReports = 10;
        private boolean flushEachWrite;

        private Builder(String target) { this.target = target; }

        public Builder rw(RwMode v) { rw = v; return this; }
        public Builder blockSize(int v) { blockSize = v; return this; }
        public Builder iodepth(int v) { iodepth = v; return this; }
        public Builder runtimeNanos(long v) { runtimeNanos = v; return this; }
        public Builder rampNanos(long v) { rampNanos = v; return this; }
        public Builder idle(IdleMode v) { idle = v; return this; }
        public Builder verify(boolean v) { verify = v; return this; }
        public Builder size(long v) { size = v; return this; }
        public Builder rwmixread(int v) { rwmixread = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder jobs(int v) { jobs = v; return this; }
        public Builder prefill(boolean v) { prefill = v; return this; }
        public Builder progressNanos(long v) { progressNanos = v; return this; }
        public Builder maxMismatchReports(int v) { maxMismatchReports = v; return this; }
        public Builder flushEachWrite(boolean v) { flushEachWrite = v; return this; }

        public BenchConfig build() {
            return new BenchConfig(target, rw, blockSize, iodepth, runtimeNanos, rampNanos, idle, verify, size,
                    rwmixread, seed, jobs, prefill, progressNanos, maxMismatchReports, flushEachWrite);
        }
    }
}
