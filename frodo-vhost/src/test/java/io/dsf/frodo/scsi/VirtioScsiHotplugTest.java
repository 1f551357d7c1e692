package io.dsf.frodo.scsi;

import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.frodo.vhostuser.VhostUserProtocol;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The virtio-scsi event queue with the test driver: LUN hot-plug events (transport reset, RESCAN on
 * attach, REMOVED on detach) in the driver's buffers, EVENTS_MISSED when no buffer was free, nothing
 * when the driver did not negotiate VIRTIO_SCSI_F_HOTPLUG, and buffers that cannot hold an event
 * returned unused.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VirtioScsiHotplugTest {
    @TempDir Path dir;
    MemoryVDisk lun0 = new MemoryVDisk("lun0", 8L << 20), lun1 = new MemoryVDisk("lun1", 4L << 20);
    VhostUserScsiServer server;
    VhostUserDriver drv;
    DriverQueue evt, rq;

    void start(long dropFeatures) throws Exception {
        server = VhostUserScsiServer.start(dir.resolve("s.sock"), lun0, VhostOptions.defaults().withQueues(1));
        drv = VhostUserDriver.connect(server.socket());
        long acked = drv.negotiate(dropFeatures);
        assertEquals((dropFeatures & VirtioScsiDevice.F_HOTPLUG) == 0, (acked & VirtioScsiDevice.F_HOTPLUG) != 0, "hot-plug offered");
        drv.createGuestMemory(4L << 20);
        drv.startQueue(0, 16, true);
        evt = drv.startQueue(1, 8, true);
        rq = drv.startQueue(2, 16, true);
        drv.getU64(VhostUserProtocol.GET_FEATURES); // a round trip: every message before it was applied
    }

    @AfterEach
    void tearDown() {
        if (drv != null) drv.close();
        if (server != null) server.close();
        lun0.close();
        lun1.close();
    }

    /** Offers an event buffer of {@code len} bytes; returns its guest address. */
    long offerEventBuffer(int len) {
        long b = drv.alloc(len, 8);
        drv.at(b, len).fill((byte) 0x5a);
        evt.offer(evt.chain(new long[] {b}, new int[] {len}, new boolean[] {true}));
        evt.kick();
        return b;
    }

    static void await(BooleanSupplier c, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting until " + what);
            LockSupport.parkNanos(200_000);
        }
    }

    /** Takes the next used event buffer and checks its length; returns the event at {@code buf}. */
    MemorySegment takeEvent(long buf) {
        assertEquals(1, evt.awaitUsed(1, 10_000), "an event buffer came back");
        long used = evt.takeUsed();
        assertEquals(16, (int) used, "used length of an event");
        return drv.at(buf, 16);
    }

    int inquiryStatus(int lun) {
        long req = drv.alloc(64, 16), resp = drv.alloc(128, 16), data = drv.alloc(64, 16);
        MemorySegment r = drv.at(req, 51);
        r.fill((byte) 0);
        r.set(JAVA_BYTE, 0, (byte) 1);
        r.set(JAVA_BYTE, 3, (byte) lun);
        r.set(JAVA_BYTE, 19, (byte) 0x00); // TEST UNIT READY
        rq.offer(rq.chain(new long[] {req, resp}, new int[] {51, 108}, new boolean[] {false, true}));
        rq.kick();
        assertEquals(1, rq.awaitUsed(1, 10_000));
        rq.takeUsed();
        assertEquals(0, drv.at(resp, 108).get(JAVA_BYTE, 11), "response OK");
        return Byte.toUnsignedInt(drv.at(resp, 108).get(JAVA_BYTE, 10)) << 16 | Byte.toUnsignedInt(drv.at(resp, 108).get(JAVA_BYTE, 12 + 12));
    }

    @Test
    void attachAndDetachReachTheDriverAsTransportResetEvents() throws Exception {
        start(0);
        assertTrue(server.device().hotplugNegotiated());
        long b1 = offerEventBuffer(16), b2 = offerEventBuffer(16);
        await(() -> server.device().eventBuffersHeld() == 2, "both event buffers are held");
        assertEquals(0, evt.awaitUsed(1, 0), "no event yet");

        assertEquals(VirtioScsiDevice.HotplugReport.DELIVERED, server.attachLun(1, lun1));
        MemorySegment e = takeEvent(b1);
        assertEquals(EventQueue.T_TRANSPORT_RESET, e.get(JAVA_INT_UNALIGNED, 0));
        assertArrayEquals(new byte[] {1, 0, 0, 1, 0, 0, 0, 0}, e.asSlice(4, 8).toArray(JAVA_BYTE), "target 0, LUN 1");
        assertEquals(EventQueue.EVT_RESET_RESCAN, e.get(JAVA_INT_UNALIGNED, 12));
        // the new LUN answers (after the unit attention that says the LUN inventory changed)
        int first = inquiryStatus(1);
        assertTrue(first == 0 || first == (2 << 16 | 0x3f), "GOOD or REPORTED LUNS DATA HAS CHANGED: " + Integer.toHexString(first));
        assertEquals(0, inquiryStatus(1) >>> 16, "LUN 1 is ready");

        assertEquals(VirtioScsiDevice.HotplugReport.DELIVERED, server.detachLun(1));
        e = takeEvent(b2);
        assertEquals(EventQueue.T_TRANSPORT_RESET, e.get(JAVA_INT_UNALIGNED, 0));
        assertEquals(1, e.get(JAVA_BYTE, 7));
        assertEquals(EventQueue.EVT_RESET_REMOVED, e.get(JAVA_INT_UNALIGNED, 12));
        assertEquals(0x25, inquiryStatus(1) & 0xff, "LUN 1 is gone: LOGICAL UNIT NOT SUPPORTED");

        // no buffer left: the event is missed, and the next buffer says so at once
        assertEquals(VirtioScsiDevice.HotplugReport.MISSED, server.attachLun(300, lun1));
        long b3 = offerEventBuffer(16);
        e = takeEvent(b3);
        assertEquals(EventQueue.T_EVENTS_MISSED, e.get(JAVA_INT_UNALIGNED, 0), "VIRTIO_SCSI_T_EVENTS_MISSED | NO_EVENT");
        assertArrayEquals(new long[] {2, 1}, server.device().eventCounts());
        // the flag is cleared: the next buffer is held again and carries the next event (flat addressing for LUN 300)
        long b4 = offerEventBuffer(16);
        await(() -> server.device().eventBuffersHeld() == 1, "the buffer is held");
        assertEquals(VirtioScsiDevice.HotplugReport.DELIVERED, server.detachLun(300));
        e = takeEvent(b4);
        assertArrayEquals(new byte[] {1, 0, 0x41, 0x2c, 0, 0, 0, 0}, e.asSlice(4, 8).toArray(JAVA_BYTE), "LUN 300, flat space addressing");
        assertThrows(IllegalArgumentException.class, () -> server.detachLun(300), "nothing attached there any more");
    }

    @Test
    void withoutHotplugNegotiatedNoEventIsSent() throws Exception {
        start(VirtioScsiDevice.F_HOTPLUG);
        assertFalse(server.device().hotplugNegotiated());
        offerEventBuffer(16);
        await(() -> server.device().eventBuffersHeld() == 1, "the event buffer is held");
        assertEquals(VirtioScsiDevice.HotplugReport.NOT_NEGOTIATED, server.attachLun(1, lun1));
        assertEquals(0, evt.awaitUsed(1, 0), "the buffer stays with the device");
        // the driver still learns through the unit attention on its next command
        assertEquals(2 << 16 | 0x3f, inquiryStatus(0), "REPORTED LUNS DATA HAS CHANGED");
        assertEquals(1, drv.getVringBase(1), "stopping the event queue does not wait");
        assertEquals(1, evt.awaitUsed(1, 10_000), "held buffer returned at stop");
        assertEquals(0, (int) evt.takeUsed(), "returned empty");
    }

    @Test
    void buffersThatCannotHoldAnEventAreReturnedUnused() throws Exception {
        start(0);
        offerEventBuffer(8);
        assertEquals(1, evt.awaitUsed(1, 10_000));
        assertEquals(0, (int) evt.takeUsed(), "an 8-byte buffer is returned with nothing written");
        long r = drv.alloc(16, 8), w = drv.alloc(16, 8); // a device-readable part: not an event buffer
        evt.offer(evt.chain(new long[] {r, w}, new int[] {16, 16}, new boolean[] {false, true}));
        evt.kick();
        assertEquals(1, evt.awaitUsed(1, 10_000));
        assertEquals(0, (int) evt.takeUsed());
        assertEquals(0, server.device().eventBuffersHeld());
        assertEquals(VirtioScsiDevice.HotplugReport.MISSED, server.attachLun(1, lun1), "no usable buffer");
    }
}
