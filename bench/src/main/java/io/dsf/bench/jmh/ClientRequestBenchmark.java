package io.dsf.bench.jmh;

import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.RequestQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserProtocol;
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
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static io.dsf.frodo.vhostuser.VhostUserProtocol.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The client-side cost of one 4 KiB read through the bench's vhost-user driver
 * ({@link RequestQueue}, what {@code vhost-user-blk:} and {@code vhost-user-scsi:} targets issue
 * with), virtio-blk against virtio-scsi READ(16), on one thread: 32 requests staged and published,
 * then taken back with polls of at most 8 completions as {@code VhostUserTarget} polls. The queue is
 * set up against a real Frodo server (negotiation, memory table, ring addresses), then the ring is
 * disabled there and this thread plays the device: it answers each available head with a used entry
 * and a good status (blk: the status byte; scsi: status and response bytes), the same few stores for
 * both. Scores are per request and include that device play. Owned by the benchmark thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class ClientRequestBenchmark {
    static final int DEPTH = 32, POLL_BATCH = 8, SLOT = 256, STATUS = 128;
    private static final VarHandle SHORT = java.lang.foreign.ValueLayout.JAVA_SHORT.varHandle();

    /** {@code blk}: virtio-blk requests; {@code scsi}: virtio-scsi READ(16). */
    @Param({"blk", "scsi"})
    public String proto;

    private Path dir;
    private AutoCloseable server;
    private VhostUserDriver driver;
    private RequestQueue rq;
    private MemorySegment desc, avail, used;
    private long guestBase;
    private MemorySegment guest;
    private int mask, lastAvail, usedIdx;
    private boolean scsi;
    private final long[] bufGpa = new long[DEPTH];
    private long completed, errors;
    private final RequestQueue.Completion done = (tag, status) -> {
        completed++;
        if (status != 0) errors++;
    };

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        scsi = proto.equals("scsi");
        dir = Files.createTempDirectory("client-request-bench");
        Path sock = dir.resolve(proto + ".sock");
        VirtioRequestBenchmark.InlineVDisk disk = new VirtioRequestBenchmark.InlineVDisk(1L << 30);
        VhostOptions opts = VhostOptions.defaults().withQueues(1);
        server = scsi ? VhostUserScsiServer.start(sock, disk, opts) : VhostUserBlkServer.start(sock, disk, opts);
        driver = VhostUserDriver.connect(sock);
        driver.negotiate(VIRTIO_F_VERSION_1 | VIRTIO_RING_F_EVENT_IDX | VIRTIO_RING_F_INDIRECT_DESC | VHOST_USER_F_PROTOCOL_FEATURES,
                0, PROTOCOL_F_MQ);
        guest = driver.createGuestMemory(16L << 20);
        guestBase = VhostUserDriver.GPA_BASE;
        int vring = scsi ? 2 : 0;
        rq = RequestQueue.start(driver, scsi ? RequestQueue.Kind.SCSI : RequestQueue.Kind.BLK, vring, DEPTH, 4096, 0, true);
        if (!rq.indirect()) throw new IllegalStateException("the server did not offer indirect descriptors");
        driver.setState(VhostUserProtocol.SET_VRING_ENABLE, vring, 0); // the server lets go of the ring: this thread is the device
        driver.getVringBase(vring);
        var f = RequestQueue.class.getDeclaredField("q");
        f.setAccessible(true);
        DriverQueue q = (DriverQueue) f.get(rq);
        desc = driver.at(q.descGpa, 16L * q.size);
        avail = driver.at(q.availGpa, 6L + 2L * q.size);
        used = driver.at(q.usedGpa, 6L + 8L * q.size);
        mask = q.size - 1;
        usedIdx = Short.toUnsignedInt(used.get(JAVA_SHORT_UNALIGNED, 2));
        lastAvail = usedIdx;
        for (int i = 0; i < DEPTH; i++) bufGpa[i] = driver.alloc(4096, 4096);
        batch();
        if (completed != DEPTH || errors != 0) throw new IllegalStateException(proto + ": " + completed + " completed, " + errors + " failed");
    }

    /** The device: each new available head gets a good status and a used entry; one release store of the used index. */
    private void device() {
        int now = Short.toUnsignedInt((short) SHORT.getAcquire(avail, 2L));
        for (int a = lastAvail; a != now; a = (a + 1) & 0xffff) {
            int head = Short.toUnsignedInt(avail.get(JAVA_SHORT_UNALIGNED, 4L + 2L * (a & mask)));
            long table = desc.get(JAVA_LONG_UNALIGNED, 16L * head); // the slot's indirect table, at the slot's start
            long status = table - guestBase + STATUS;
            if (scsi) guest.set(JAVA_SHORT_UNALIGNED, status + 10, (short) 0); // status GOOD, response OK
            else guest.set(JAVA_BYTE, status, (byte) 0);
            long u = 4L + 8L * (usedIdx & mask);
            used.set(JAVA_INT_UNALIGNED, u, head);
            used.set(JAVA_INT_UNALIGNED, u + 4, scsi ? 108 + 4096 : 4097);
            usedIdx = (usedIdx + 1) & 0xffff;
        }
        lastAvail = now;
        SHORT.setRelease(used, 2L, (short) usedIdx);
    }

    /** 32 reads staged and published, answered, then polled back 8 at a time. */
    @Benchmark
    @OperationsPerInvocation(DEPTH)
    public long batch() {
        for (int i = 0; i < DEPTH; i++) {
            int rc = rq.read(4096L * (i * 7919 & 0xffff), bufGpa[i], 4096, i);
            if (rc != RequestQueue.OK) throw new IllegalStateException("read staged with " + rc);
        }
        rq.submit();
        device();
        long before = completed;
        while (completed - before < DEPTH) rq.poll(POLL_BATCH, done);
        return completed;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        rq.close();
        driver.close();
        server.close();
        Files.deleteIfExists(dir.resolve(proto + ".sock"));
        Files.deleteIfExists(dir);
    }

    /**
     * The same measurement on thread CPU time, both protocols in this JVM, alternating rounds; prints
     * medians (min-max) of ns/request and the median per-round ratio scsi/blk.
     * <pre>java ... io.dsf.bench.jmh.ClientRequestBenchmark [rounds=21] [ms=100]</pre>
     */
    public static void main(String[] args) throws Exception {
        int rounds = 21, ms = 100;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "rounds" -> rounds = Integer.parseInt(kv[1]);
                case "ms" -> ms = Integer.parseInt(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a + " (rounds=, ms=)");
            }
        }
        String[] protos = {"blk", "scsi"};
        ClientRequestBenchmark[] b = new ClientRequestBenchmark[2];
        for (int i = 0; i < 2; i++) {
            b[i] = new ClientRequestBenchmark();
            b[i].proto = protos[i];
            b[i].setUp();
        }
        CpuTimeRounds.Result res = CpuTimeRounds.run(i -> b[i].batch(), DEPTH, rounds, ms);
        for (int i = 0; i < 2; i++) {
            if (b[i].errors != 0) throw new IllegalStateException(protos[i] + ": " + b[i].errors + " requests failed");
            System.out.printf("%s read (client): %s ns/request (thread CPU time, median (min-max) of %d rounds)%n", protos[i], res.summary(i), rounds);
        }
        System.out.printf("scsi/blk read (client): %s%n", res.ratioSummary());
        for (ClientRequestBenchmark x : b) x.tearDown();
    }
}
