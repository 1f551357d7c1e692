package io.dsf.bench.jmh;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.frodo.blk.VirtioBlkDevice;
import io.dsf.frodo.scsi.VirtioScsiDevice;
import io.dsf.frodo.virtq.GuestMemory;
import io.dsf.frodo.virtq.IdleMode;
import io.dsf.frodo.virtq.QueueRunner;
import io.dsf.frodo.virtq.SplitVirtqueue;
import io.dsf.frodo.virtq.VirtqueueWorker;
import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import io.dsf.stargate.scsi.ScsiTarget;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The server-side cost of one 4 KiB request through a Frodo request virtqueue, virtio-blk against
 * virtio-scsi (stargate's SCSI target behind it), on one thread: the benchmark plays the driver on
 * a ring in a memfd (each request an indirect table of three descriptors, as Linux builds them:
 * blk header / data / status, scsi request / response / data-in or request / data-out / response,
 * READ(16) and WRITE(16)), makes 32 heads available with one index store, and steps the queue's
 * duty cycle once: fetch, walk, device, vDisk, completion, used ring. The vDisk completes inline
 * without touching the data, so the score is the front-end's own cost per request (the ring work
 * both protocols share plus each device's). Scores are per request; must not allocate
 * ({@code -prof gc}). The worker is stepped through its package-private test hooks
 * ({@code configure}, {@code onAttach}, {@code cycle}, reached with a private lookup), so no queue
 * thread runs. Owned by the benchmark thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class VirtioRequestBenchmark {
    static final int SIZE = 128, BATCH = 32;
    static final long GPA = 0x100000, UVA = 0x7000_0000_0000L, BYTES = 4L << 20;
    static final long DESC = 0, AVAIL = 0x1000, USED = 0x2000, TABLES = 0x4000, HEADERS = 0x8000, DATA = 0x100000;
    static final int SCSI_REQ = 51, SCSI_RESP = 108;

    private static final MethodHandle CONFIGURE, ON_ATTACH, CYCLE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.privateLookupIn(VirtqueueWorker.class, MethodHandles.lookup());
            CONFIGURE = l.findVirtual(VirtqueueWorker.class, "configure", MethodType.methodType(void.class,
                    GuestMemory.class, int.class, long.class, long.class, long.class, int.class, boolean.class,
                    boolean.class, int.class, int.class, io.dsf.frodo.virtq.InflightQueue.class, QueueRunner.class));
            ON_ATTACH = l.findVirtual(VirtqueueWorker.class, "onAttach", MethodType.methodType(void.class, MemorySegment.class));
            CYCLE = l.findVirtual(VirtqueueWorker.class, "cycle", MethodType.methodType(int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@code blk}: virtio-blk; {@code scsi}: virtio-scsi into stargate's SCSI target. */
    @Param({"blk", "scsi"})
    public String proto;

    /** {@code read} (READ(16) / VIRTIO_BLK_T_IN) or {@code write}. */
    @Param({"read", "write"})
    public String rw;

    private Arena arena;
    private int memfd;
    private MemorySegment drv;
    private GuestMemory mem;
    private QueueRunner runner;
    private VirtqueueWorker worker;
    private ScsiTarget target;
    private int availIdx;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        arena = Arena.ofShared();
        memfd = Errno.check(Libc.memfd_create(arena.allocateFrom("virtio-request-bench"), Libc.MFD_CLOEXEC), "memfd");
        Errno.check(Libc.ftruncate(memfd, BYTES), "ftruncate");
        MemorySegment m = Libc.mmap(MemorySegment.NULL, BYTES, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, memfd, 0);
        long a = m.address();
        drv = m.reinterpret(BYTES, arena, s -> Libc.munmap(MemorySegment.ofAddress(a), BYTES));
        mem = GuestMemory.map(new long[] {GPA}, new long[] {BYTES}, new long[] {UVA}, new long[] {0}, new int[] {memfd});
        boolean scsi = proto.equals("scsi"), read = rw.equals("read");
        VDisk disk = new InlineVDisk(1L << 30);
        io.dsf.frodo.virtq.VirtqueueHandler handler;
        if (scsi) {
            target = new ScsiTarget();
            target.attach(0, disk);
            handler = new VirtioScsiDevice(target, "bench", 1).newHandler(VirtioScsiDevice.FIRST_REQUEST_QUEUE);
        } else {
            handler = new VirtioBlkDevice(disk, 1).newHandler(0);
        }
        for (int h = 0; h < SIZE; h++) buildRequest(h, scsi, read);
        runner = new QueueRunner("bench", IdleMode.BLOCK); // its thread never starts: this thread steps the worker
        worker = new VirtqueueWorker("bench", scsi ? VirtioScsiDevice.FIRST_REQUEST_QUEUE : 0, handler);
        CONFIGURE.invoke(worker, mem, SIZE, UVA + DESC, UVA + AVAIL, UVA + USED, 0, true, true, -1, -1,
                (io.dsf.frodo.virtq.InflightQueue) null, runner);
        ON_ATTACH.invoke(worker, Errno.segment());
        // one checked batch: every request must succeed, or the benchmark measures an error path
        for (int h = 0; h < SIZE; h++) statusArea(h, scsi).fill((byte) 0x5A);
        batch();
        for (int i = 0; i < BATCH; i++) {
            int h = (availIdx - BATCH + i) & (SIZE - 1);
            MemorySegment s = statusArea(h, scsi);
            boolean ok = scsi ? s.get(JAVA_INT_UNALIGNED, 0) == 0 && s.get(JAVA_BYTE, 10) == 0 && s.get(JAVA_BYTE, 11) == 0
                    : s.get(JAVA_BYTE, 0) == 0;
            if (!ok) throw new IllegalStateException(proto + " " + rw + " request " + h + " failed");
        }
    }

    /** The head descriptor of slot {@code h} points at its indirect table of three descriptors. */
    private void buildRequest(int h, boolean scsi, boolean read) {
        long table = TABLES + 64L * h, hdr = HEADERS + 256L * h, data = DATA + 4096L * h;
        desc(DESC + 16L * h, GPA + table, 48, SplitVirtqueue.VIRTQ_DESC_F_INDIRECT, 0);
        int w = SplitVirtqueue.VIRTQ_DESC_F_WRITE, n = SplitVirtqueue.VIRTQ_DESC_F_NEXT;
        if (scsi) {
            long req = hdr, resp = hdr + 64;
            drv.asSlice(req, SCSI_REQ).fill((byte) 0);
            drv.set(JAVA_BYTE, req, (byte) 1); // LUN 0 of target 0, single level
            drv.set(JAVA_LONG_UNALIGNED, req + 8, h);
            long cdb = req + 19;
            drv.set(JAVA_BYTE, cdb, (byte) (read ? 0x88 : 0x8A));
            drv.set(JAVA_LONG_UNALIGNED, cdb + 2, Long.reverseBytes(h)); // LBA, big-endian
            drv.set(JAVA_INT_UNALIGNED, cdb + 10, Integer.reverseBytes(1)); // one block
            if (read) {
                desc(table, GPA + req, SCSI_REQ, n, 1);
                desc(table + 16, GPA + resp, SCSI_RESP, w | n, 2);
                desc(table + 32, GPA + data, 4096, w, 0);
            } else {
                desc(table, GPA + req, SCSI_REQ, n, 1);
                desc(table + 16, GPA + data, 4096, n, 2);
                desc(table + 32, GPA + resp, SCSI_RESP, w, 0);
            }
        } else {
            drv.set(JAVA_INT_UNALIGNED, hdr, read ? VirtioBlkDevice.T_IN : VirtioBlkDevice.T_OUT);
            drv.set(JAVA_INT_UNALIGNED, hdr + 4, 0);
            drv.set(JAVA_LONG_UNALIGNED, hdr + 8, 8L * h);
            desc(table, GPA + hdr, 16, n, 1);
            desc(table + 16, GPA + data, 4096, (read ? w : 0) | n, 2);
            desc(table + 32, GPA + hdr + 64, 1, w, 0);
        }
    }

    private MemorySegment statusArea(int h, boolean scsi) {
        return drv.asSlice(HEADERS + 256L * h + 64, scsi ? SCSI_RESP : 1);
    }

    private void desc(long at, long addr, int len, int flags, int next) {
        drv.set(JAVA_LONG_UNALIGNED, at, addr);
        drv.set(JAVA_INT_UNALIGNED, at + 8, len);
        drv.set(JAVA_SHORT_UNALIGNED, at + 12, (short) flags);
        drv.set(JAVA_SHORT_UNALIGNED, at + 14, (short) next);
    }

    /** 32 requests made available with one index store, one duty cycle, the used index checked. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int batch() throws Throwable {
        int idx = availIdx;
        for (int i = 0; i < BATCH; i++) {
            int e = (idx + i) & 0xffff;
            drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 4 + 2L * (e & (SIZE - 1)), (short) (e & (SIZE - 1)));
        }
        idx = (idx + BATCH) & 0xffff;
        availIdx = idx;
        drv.set(JAVA_SHORT_UNALIGNED, AVAIL + 2, (short) idx);
        int work = (int) CYCLE.invokeExact(worker);
        if (Short.toUnsignedInt(drv.get(JAVA_SHORT_UNALIGNED, USED + 2)) != idx)
            throw new IllegalStateException("a request did not complete in the cycle");
        return work;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        // the worker stays attached to a runner that never ran: nothing to stop; its ring goes with the memory
        mem.close();
        Libc.close(memfd);
        if (target != null) target.close();
        arena.close();
    }

    /**
     * The same measurement without JMH, on thread CPU time instead of wall time, for a machine shared
     * with other work (time spent descheduled does not count): both protocols set up in this JVM,
     * warmed up, then measured in alternating rounds; prints per-protocol medians (min-max) of
     * ns/request and the median of the per-round ratio scsi/blk.
     * <pre>java ... io.dsf.bench.jmh.VirtioRequestBenchmark [rw=read|write] [rounds=21] [ms=200]</pre>
     */
    public static void main(String[] args) throws Throwable {
        String rw = "read";
        int rounds = 21, ms = 200;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "rw" -> rw = kv[1];
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "ms" -> ms = Integer.parseInt(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a + " (rw=, rounds=, ms=)");
            }
        }
        String[] protos = {"blk", "scsi"};
        VirtioRequestBenchmark[] b = new VirtioRequestBenchmark[2];
        for (int i = 0; i < 2; i++) {
            b[i] = new VirtioRequestBenchmark();
            b[i].proto = protos[i];
            b[i].rw = rw;
            b[i].setUp();
        }
        CpuTimeRounds.Result res = CpuTimeRounds.run(i -> {
            try {
                b[i].batch();
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }, BATCH, rounds, ms);
        for (int i = 0; i < 2; i++) System.out.printf("%s %s: %s ns/request (thread CPU time, median (min-max) of %d rounds)%n", protos[i], rw, res.summary(i), rounds);
        System.out.printf("scsi/blk %s: %s%n", rw, res.ratioSummary());
        for (VirtioRequestBenchmark x : b) x.tearDown();
    }

    /** A vDisk that completes every request inline and never touches the buffer. Thread safe (stateless). */
    static final class InlineVDisk implements VDisk {
        private final long size;

        InlineVDisk(long size) { this.size = size; }

        @Override public String name() { return "inline"; }
        @Override public long size() { return size; }
        @Override public int blockSize() { return 4096; }
        @Override public int maxTransfer() { return 1 << 20; }
        @Override public boolean readOnly() { return false; }

        private int done(long offset, long length, long tag, IoCallback cb) {
            if (length <= 0 || ((offset | length) & 4095) != 0 || offset < 0 || offset > size - length) return VDiskStatus.INVALID;
            cb.onComplete(tag, VDiskStatus.OK);
            return VDiskStatus.OK;
        }

        @Override public int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb) { return done(offset, length, tag, cb); }
        @Override public int write(long offset, MemorySegment buf, int length, long tag, IoCallback cb) { return done(offset, length, tag, cb); }
        @Override public int flush(long tag, IoCallback cb) { cb.onComplete(tag, VDiskStatus.OK); return VDiskStatus.OK; }
        @Override public int unmap(long offset, long length, long tag, IoCallback cb) { return done(offset, length, tag, cb); }
        @Override public int writeZeroes(long offset, long length, long tag, IoCallback cb) { return done(offset, length, tag, cb); }
    }
}
