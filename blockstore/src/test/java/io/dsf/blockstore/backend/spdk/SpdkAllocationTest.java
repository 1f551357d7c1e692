package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The submit/complete path allocates nothing per I/O: read, write, flush and trim through the
 * SPDK bindings and the completion upcall, measured with the thread's allocation counter once warm.
 */
@Timeout(120)
class SpdkAllocationTest {
    @TempDir
    Path dir;

    @BeforeEach
    void fresh() {
        SpdkEmulatorSupport.freshNamespaces(dir, "16M");
    }

    static final class Counter implements CompletionHandler {
        long done;
        int errors;

        @Override
        public void onComplete(long userData, int status) {
            done++;
            if (status != 0) errors++;
        }
    }

    private static void cycle(DeviceQueue q, MemorySegment buf, Counter c, int rounds) {
        for (int i = 0; i < rounds; i++) {
            long off = (i & 1023) * 4096L;
            q.write(off, buf, 4096, i);
            q.read(off, buf, 4096, i);
            if ((i & 255) == 0) {
                q.flush(i);
                q.trim(off, 4096, i);
            }
            while (q.inFlight() > 0) q.poll(16);
        }
    }

    @Test
    void steadyStateIoAllocatesNothing() {
        var bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter");
        var mx = (com.sun.management.ThreadMXBean) bean;
        try (BlockDevice d = BlockDevices.open("spdk:" + SpdkEmulatorSupport.TRID)) {
            MemorySegment buf = d.allocateDma(4096);
            Counter c = new Counter();
            try (DeviceQueue q = d.openQueue(8, c)) {
                cycle(q, buf, c, 20_000); // warm up: interpreter and JIT allocations happen here
                long tid = Thread.currentThread().threadId();
                long before = mx.getThreadAllocatedBytes(tid);
                cycle(q, buf, c, 10_000);
                long allocated = mx.getThreadAllocatedBytes(tid) - before;
                assertEquals(0, c.errors);
                System.out.println("spdk: " + allocated + " bytes allocated by ~20k measured I/Os");
                assertTrue(allocated < 64 * 1024, "allocated " + allocated + " bytes for ~20k I/Os");
            }
        }
    }
}
