package io.dsf.stargate.scsi;

import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The zero-copy path allocates nothing per command: measured with the JVM's per-thread allocation counter. */
class AllocationTest {
    /** Completes every request inline with OK and touches nothing: only the target's own allocations remain. */
    static final class InlineVDisk implements VDisk {
        @Override public String name() { return "inline"; }
        @Override public long size() { return 1L << 30; }
        @Override public int blockSize() { return 4096; }
        @Override public int maxTransfer() { return 1 << 20; }
        @Override public boolean readOnly() { return false; }
        @Override public int read(long o, MemorySegment b, int l, long tag, IoCallback cb) { cb.onComplete(tag, VDiskStatus.OK); return VDiskStatus.OK; }
        @Override public int write(long o, MemorySegment b, int l, long tag, IoCallback cb) { cb.onComplete(tag, VDiskStatus.OK); return VDiskStatus.OK; }
        @Override public int flush(long tag, IoCallback cb) { cb.onComplete(tag, VDiskStatus.OK); return VDiskStatus.OK; }
        @Override public int unmap(long o, long l, long tag, IoCallback cb) { cb.onComplete(tag, VDiskStatus.OK); return VDiskStatus.OK; }
        @Override public int writeZeroes(long o, long l, long tag, IoCallback cb) { cb.onComplete(tag, VDiskStatus.OK); return VDiskStatus.OK; }
    }

    @Test
    void zeroCopyCommandsDoNotAllocate() {
        var mx = ManagementFactory.getThreadMXBean();
        assumeTrue(mx instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported(),
                "per-thread allocation accounting not available in this JVM");
        com.sun.management.ThreadMXBean tmx = (com.sun.management.ThreadMXBean) mx;
        try (ScsiTarget target = new ScsiTarget(); Arena arena = Arena.ofConfined()) {
            target.attach(0, new InlineVDisk());
            ScsiNexus nexus = target.openNexus("alloc");
            ScsiTask task = nexus.newTask(16);
            int[] done = {0};
            task.callback(t -> done[0]++);
            MemorySegment[] segs = new MemorySegment[8];
            for (int i = 0; i < 8; i++) segs[i] = arena.allocate(4096, 4096);
            byte[] read = Cdbs.rw10(false, 16, 8), write = Cdbs.rw16(true, 64, 8), tur = Cdbs.testUnitReady();
            Runnable one = () -> {
                task.reset().lun(0).cdb(read, 0, 10).direction(ScsiTask.DATA_IN);
                for (MemorySegment s : segs) task.addSegment(s, 4096);
                nexus.execute(task);
                task.reset().lun(0).cdb(write, 0, 16).direction(ScsiTask.DATA_OUT);
                for (MemorySegment s : segs) task.addSegment(s, 4096);
                nexus.execute(task);
                task.reset().lun(0).cdb(tur, 0, 6);
                nexus.execute(task);
            };
            for (int i = 0; i < 100_000; i++) one.run();
            assertEquals(ScsiStatus.GOOD, task.status());
            long tid = Thread.currentThread().threadId();
            int n = 100_000;
            long before = tmx.getThreadAllocatedBytes(tid);
            for (int i = 0; i < n; i++) one.run();
            long bytes = tmx.getThreadAllocatedBytes(tid) - before;
            assertEquals(600_000, done[0], "every command completed");
            System.out.printf("allocation: %d bytes for %d commands (%.3f per command)%n", bytes, 3 * n, bytes / (3.0 * n));
            assertTrue(bytes < 3L * n / 10, "allocated " + bytes + " bytes for " + 3 * n + " commands");
        }
    }
}
