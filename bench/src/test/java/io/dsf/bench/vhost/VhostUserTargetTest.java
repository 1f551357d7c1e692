package io.dsf.bench.vhost;

import io.dsf.bench.BenchConfig;
import io.dsf.bench.BenchException;
import io.dsf.bench.BenchResult;
import io.dsf.bench.LoadGenerator;
import io.dsf.bench.RwMode;
import io.dsf.bench.Target;
import io.dsf.bench.Targets;
import io.dsf.frodo.blk.VhostUserBlkServer;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The vhost-user targets against an in-process Frodo on a memory vDisk: verified random
 * read/write through virtio-blk and virtio-scsi on two request queues, reads that come back with
 * the data written, and the limits (jobs beyond the queues offered, the ?null option).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VhostUserTargetTest {
    @TempDir Path dir;
    private final StringWriter errText = new StringWriter();
    private final PrintWriter err = new PrintWriter(errText, true);

    private static BenchConfig.Builder quick(String target) {
        return BenchConfig.builder(target).runtimeNanos(600_000_000L).progressNanos(0).iodepth(8).rw(RwMode.RANDRW)
                .verify(true).size(16L << 20).jobs(2);
    }

    @Test
    void verifiedRandomReadWriteOverVirtioBlk() throws Exception {
        try (MemoryVDisk disk = new MemoryVDisk("bench-blk", 64L << 20, false, true);
             VhostUserBlkServer s = VhostUserBlkServer.start(dir.resolve("b.sock"), disk, VhostOptions.defaults().withQueues(2))) {
            BenchResult r = LoadGenerator.run(quick("vhost-user-blk:" + s.socket()).build(), err);
            assertEquals(0, r.errors(), errText::toString);
            assertTrue(r.reads() > 0 && r.writes() > 0, "both reads and writes");
            assertTrue(r.latP50Us() > 0 && r.latP50Us() <= r.latP99Us());
            assertTrue(disk.writes.get() >= r.writes(), "writes reached the vDisk");
            long[] per = s.queueRequests();
            assertTrue(per[0] > 0 && per[1] > 0, "both request queues carried I/O");
            assertTrue(r.toJson().contains("\"verify\":true"));
        }
    }

    @Test
    void verifiedRandomReadWriteOverVirtioScsi() throws Exception {
        try (MemoryVDisk disk = new MemoryVDisk("bench-scsi", 64L << 20);
             VhostUserScsiServer s = VhostUserScsiServer.start(dir.resolve("s.sock"), disk, VhostOptions.defaults().withQueues(2)
                     .withThreading(VhostOptions.Threading.SHARED))) {
            BenchResult r = LoadGenerator.run(quick("vhost-user-scsi:" + s.socket()).build(), err);
            assertEquals(0, r.errors(), errText::toString);
            assertTrue(r.reads() > 0 && r.writes() > 0);
            long[] per = s.queueRequests();
            assertTrue(per[2] > 0 && per[3] > 0, "both request queues (2 and 3) carried I/O");
        }
    }

    @Test
    void moreJobsThanQueuesIsAClearFailureAndNullTargetsReadZeros() throws Exception {
        try (MemoryVDisk disk = new MemoryVDisk("bench-one", 64L << 20);
             VhostUserBlkServer s = VhostUserBlkServer.start(dir.resolve("o.sock"), disk, VhostOptions.defaults().withQueues(1))) {
            BenchException e = assertThrows(BenchException.class,
                    () -> LoadGenerator.run(quick("vhost-user-blk:" + s.socket()).jobs(2).build(), err));
            assertTrue(e.getMessage().contains("request queues"), e.getMessage());
        }
        try (VhostUserBlkServer s = VhostUserBlkServer.start(dir.resolve("n.sock"), new NullVDisk("n", 1L << 30),
                VhostOptions.defaults().withQueues(1))) {
            try (Target t = Targets.open("vhost-user-blk:" + s.socket() + "?null=1&mem=32m&indirect=0")) {
                assertFalse(t.retainsWrites());
                BenchResult r = LoadGenerator.run(quick(t.spec()).jobs(1).build(), t, err);
                assertEquals(0, r.errors(), "every read of a null back-end is zeros: " + errText);
                assertTrue(errText.toString().contains("discards writes"));
            }
        }
    }
}
