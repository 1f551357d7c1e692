package io.dsf.frodo.qemu;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.store.BlockStore;
import io.dsf.blockstore.store.FormatOptions;
import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.core.Stargate;
import io.dsf.stargate.core.StargateOptions;
import io.dsf.stargate.scsi.ScsiTarget;
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
 * End to end on the real engine: a Linux guest on {@code vhost-user-scsi-pci,num_queues=2} whose
 * LUN 0 is a Stargate vDisk on a BlockStore over a {@code file:} device, through stargate's SCSI
 * target. The guest's O_DIRECT pattern I/O from both vCPUs verifies in the guest, on the vDisk, and
 * again after the store and Stargate are closed and reopened (the data is durable).
 */
class QemuStargateGuestTest {
    static final StargateOptions OPTIONS = StargateOptions.defaults().withShards(2).withOplog(4L << 20, 16L << 20).withIdle("backoff");

    @BeforeAll
    static void build() throws Exception {
        String missing = TestGuest.missingTools();
        if (missing != null) System.out.println("QemuStargateGuestTest skipped: " + missing);
        Assumptions.assumeTrue(missing == null, missing);
        QemuBlkGuestTest.build();
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void guestDataOnAStargateVDiskVerifiesAndSurvivesReopen(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("scsi.sock");
        String uri = "file:" + dir.resolve("dev.img") + "?size=512m";
        List<String> devices = List.of("-chardev", "socket,id=c0,path=" + sock,
                "-device", "vhost-user-scsi-pci,chardev=c0,num_queues=2");
        String res;
        BlockDevice dev = BlockDevices.open(uri);
        try (BlockStore store = BlockStore.format(dev, FormatOptions.DEFAULTS);
             Stargate sg = Stargate.open(dev, store, OPTIONS);
             ScsiTarget target = new ScsiTarget()) {
            VDisk disk = sg.create("guest-disk", QemuBlkGuestTest.DISK);
            target.attach(0, disk);
            try (VhostUserScsiServer server = VhostUserScsiServer.start(sock, target, VhostOptions.defaults().withQueues(2));
                 QemuGuest q = QemuGuest.boot(QemuBlkGuestTest.guest, dir,
                         TestGuest.workload(QemuBlkGuestTest.script(1, "sda"), Map.of("pattern.bin", QemuBlkGuestTest.pattern)), 2, devices)) {
                boolean exited = q.awaitExit(200);
                res = q.results();
                assertTrue(exited && res != null, "guest finished its workload\n" + q.diagnostics());
                long[] perQueue = server.queueRequests();
                assertTrue(perQueue[2] > 0 && perQueue[3] > 0, "both request queues carried commands: " + java.util.Arrays.toString(perQueue));
                System.out.println("QemuStargateGuestTest: requests per queue " + java.util.Arrays.toString(perQueue));
            }
            QemuBlkGuestTest.verifyGuestAndDisk(res, QemuBlkGuestTest.parse(res), disk, 1);
        } finally {
            dev.close();
        }
        BlockDevice again = BlockDevices.open(uri);
        try (BlockStore store = BlockStore.open(again); Stargate sg = Stargate.open(again, store, OPTIONS)) {
            VDisk disk = sg.vdisk("guest-disk");
            assertNotNull(disk, "the vDisk is in the catalog after reopening");
            QemuBlkGuestTest.verifyGuestAndDisk(res, QemuBlkGuestTest.parse(res), disk, 1);
        } finally {
            again.close();
        }
    }
}
