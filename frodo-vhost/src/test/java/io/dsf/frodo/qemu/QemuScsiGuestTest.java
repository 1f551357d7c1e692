package io.dsf.frodo.qemu;

import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A real Linux guest on {@code vhost-user-scsi-pci,num_queues=2} (control, event and two request
 * queues on the same engine as blk), LUN 0 served by stargate's SCSI target over a
 * {@link MemoryVDisk}: the disk is found through the SCSI scan and carries O_DIRECT pattern I/O from
 * both vCPUs, verified in the guest and on the vDisk.
 */
class QemuScsiGuestTest {
    @BeforeAll
    static void build() throws Exception {
        String missing = TestGuest.missingTools();
        if (missing != null) System.out.println("QemuScsiGuestTest skipped: " + missing);
        Assumptions.assumeTrue(missing == null, missing);
        QemuBlkGuestTest.build();
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void guestFindsTheLunAndItsDataVerifies(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("scsi.sock");
        List<String> devices = List.of("-chardev", "socket,id=c0,path=" + sock,
                "-device", "vhost-user-scsi-pci,chardev=c0,num_queues=2");
        try (MemoryVDisk disk = new MemoryVDisk("scsi-disk", QemuBlkGuestTest.DISK, false, true);
             VhostUserScsiServer server = VhostUserScsiServer.start(sock, disk, VhostOptions.defaults().withQueues(2));
             QemuGuest q = QemuGuest.boot(QemuBlkGuestTest.guest, dir,
                     TestGuest.workload(QemuBlkGuestTest.script(1, "sda"), Map.of("pattern.bin", QemuBlkGuestTest.pattern)), 2, devices)) {
            boolean exited = q.awaitExit(200);
            String res = q.results();
            assertTrue(exited && res != null, "guest finished its workload\n" + q.diagnostics());
            QemuBlkGuestTest.verifyGuestAndDisk(res, QemuBlkGuestTest.parse(res), disk, 1);
            long[] perQueue = server.queueRequests();
            assertTrue(perQueue[2] > 0 && perQueue[3] > 0, "both request queues carried commands: " + java.util.Arrays.toString(perQueue));
            System.out.println("QemuScsiGuestTest: requests per queue " + java.util.Arrays.toString(perQueue));
        }
    }
}
