package io.dsf.frodo.scsi;

import io.dsf.frodo.driver.DriverQueue;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/** virtio-scsi queues through the socket with the test driver: commands, bad input, control and event queues. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VhostUserScsiTest {
    @TempDir Path dir;
    MemoryVDisk disk;
    GatedVDisk gated;
    VhostUserScsiServer server;
    VhostUserDriver drv;
    DriverQueue ctl, evt, rq;
    long req, resp, data;

    @BeforeEach
    void setUp() throws Exception {
        disk = new MemoryVDisk("scsi-test", 16L << 20);
        gated = new GatedVDisk(disk);
        server = VhostUserScsiServer.start(dir.resolve("s.sock"), gated, VhostOptions.defaults().withQueues(1));
        drv = VhostUserDriver.connect(server.socket());
        drv.negotiate(0);
        drv.createGuestMemory(4L << 20);
        ctl = drv.startQueue(0, 16, true);
        evt = drv.startQueue(1, 16, true);
        rq = drv.startQueue(2, 64, true);
        req = drv.alloc(64, 16);
        resp = drv.alloc(128, 16);
        data = drv.alloc(64 << 10, 4096);
    }

    @AfterEach
    void tearDown() {
        drv.close();
        server.close();
        disk.close();
    }

    /** Sends one command; returns the response segment; {@code dataLen > 0} adds a data buffer in the given direction. */
    MemorySegment command(int lun, int[] cdb, int dataLen, boolean dataIn) {
        MemorySegment r = drv.at(req, 51);
        r.fill((byte) 0);
        r.set(JAVA_BYTE, 0, (byte) 1);
        r.set(JAVA_BYTE, 2, (byte) (0x40 | (lun >> 8)));
        r.set(JAVA_BYTE, 3, (byte) lun);
        for (int i = 0; i < cdb.length; i++) r.set(JAVA_BYTE, 19 + i, (byte) cdb[i]);
        drv.at(resp, 108).fill((byte) 0x55);
        int head;
        if (dataLen == 0) head = rq.chain(new long[] {req, resp}, new int[] {51, 108}, new boolean[] {false, true});
        else if (dataIn) head = rq.chain(new long[] {req, resp, data}, new int[] {51, 108, dataLen}, new boolean[] {false, true, true});
        else head = rq.chain(new long[] {req, data, resp}, new int[] {51, dataLen, 108}, new boolean[] {false, false, true});
        rq.offer(head);
        rq.kick();
        assertEquals(1, rq.awaitUsed(1, 10_000));
        lastUsed = rq.takeUsed();
        return drv.at(resp, 108);
    }

    long lastUsed;

    static int status(MemorySegment r) { return Byte.toUnsignedInt(r.get(JAVA_BYTE, 10)); }
    static int response(MemorySegment r) { return Byte.toUnsignedInt(r.get(JAVA_BYTE, 11)); }
    static int senseKey(MemorySegment r) { return r.get(JAVA_BYTE, 12 + 2); }
    static int asc(MemorySegment r) { return Byte.toUnsignedInt(r.get(JAVA_BYTE, 12 + 12)); }

    @Test
    void inquiryCapacityWriteRead() {
        MemorySegment r = command(0, new int[] {0x12, 0, 0, 0, 36, 0}, 36, true);
        assertEquals(0, response(r));
        assertEquals(0, status(r));
        assertEquals(108 + 36, (int) lastUsed);
        byte[] vendor = drv.at(data + 8, 8).toArray(JAVA_BYTE);
        assertEquals("DSF     ", new String(vendor, java.nio.charset.StandardCharsets.US_ASCII));
        r = command(0, new int[] {0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, 32, true);
        assertEquals(0, status(r));
        assertEquals((16L << 20) / 4096 - 1, drv.at(data, 8).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0));
        drv.at(data, 8192).fill((byte) 0x3c);
        r = command(0, new int[] {0x2a, 0, 0, 0, 0, 5, 0, 0, 2, 0}, 8192, false); // WRITE(10) LBA 5, 2 blocks
        assertEquals(0, status(r));
        assertEquals(1, disk.writes.get());
        drv.at(data, 8192).fill((byte) 0);
        r = command(0, new int[] {0x28, 0, 0, 0, 0, 5, 0, 0, 2, 0}, 8192, true);
        assertEquals(0, status(r));
        assertEquals(0x3c, drv.at(data, 8192).get(JAVA_BYTE, 8191));
    }

    /**
     * The request header read in place and the response written in place (each in one descriptor)
     * against the gathered copies (each split over two descriptors): the same 108 response bytes,
     * used length and data, for GOOD reads and writes and for a CHECK CONDITION.
     */
    @Test
    void splitHeadersAnswerLikeWholeOnes() {
        int[][] cdbs = {
            {0x2a, 0, 0, 0, 0, 7, 0, 0, 1, 0},                      // WRITE(10) LBA 7: GOOD
            {0x88, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0},    // READ(16) LBA 7: GOOD
            {0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0},                   // READ(10) past the end: CHECK CONDITION
            {0x28, 0x04, 0, 0, 0, 7, 0, 0, 1, 0},                   // READ(10) with a reserved bit: CHECK CONDITION
        };
        int[] expectedStatus = {0, 0, 2, 2};
        for (int c = 0; c < cdbs.length; c++) {
            int[] cdb = cdbs[c];
            boolean write = cdb[0] == 0x2a;
            byte[][] answers = new byte[2][];
            long[] used = new long[2];
            for (int split = 0; split < 2; split++) {
                MemorySegment r = drv.at(req, 51);
                r.fill((byte) 0);
                r.set(JAVA_BYTE, 0, (byte) 1);
                r.set(JAVA_BYTE, 2, (byte) 0x40);
                r.set(JAVA_BYTE, 8, (byte) 0x77); // the tag
                for (int i = 0; i < cdb.length; i++) r.set(JAVA_BYTE, 19 + i, (byte) cdb[i]);
                drv.at(resp, 108).fill((byte) 0x55);
                drv.at(data, 4096).fill((byte) (write ? 0x6b : 0x11));
                int head;
                if (split == 0) {
                    head = write ? rq.chain(new long[] {req, data, resp}, new int[] {51, 4096, 108}, new boolean[] {false, false, true})
                            : rq.chain(new long[] {req, resp, data}, new int[] {51, 108, 4096}, new boolean[] {false, true, true});
                } else { // 20 + 31 bytes of request, 50 + 58 bytes of response
                    head = write ? rq.chain(new long[] {req, req + 20, data, resp, resp + 50}, new int[] {20, 31, 4096, 50, 58},
                                    new boolean[] {false, false, false, true, true})
                            : rq.chain(new long[] {req, req + 20, resp, resp + 50, data}, new int[] {20, 31, 50, 58, 4096},
                                    new boolean[] {false, false, true, true, true});
                }
                rq.offer(head);
                rq.kick();
                assertEquals(1, rq.awaitUsed(1, 10_000));
                used[split] = (int) rq.takeUsed();
                answers[split] = drv.at(resp, 108).toArray(JAVA_BYTE);
                if (!write && answers[split][10] == 0) assertEquals(0x6b, drv.at(data, 4096).get(JAVA_BYTE, 4095), "read back what was written");
            }
            String what = "CDB opcode 0x" + Integer.toHexString(cdb[0]);
            assertArrayEquals(answers[0], answers[1], what + ": the same response");
            assertEquals(used[0], used[1], what + ": the same used length");
            assertEquals(expectedStatus[c], answers[0][10], what + ": status");
            assertEquals(0, answers[0][11], what + ": response VIRTIO_SCSI_S_OK");
            int senseLen = MemorySegment.ofArray(answers[0]).get(JAVA_INT_UNALIGNED, 0);
            for (int i = 12 + senseLen; i < 108; i++) assertEquals(0, answers[0][i], what + ": sense area byte " + i + " cleared");
        }
    }

    @Test
    void badCommandsGetSenseAndTouchNothing() {
        MemorySegment r = command(3, new int[] {0}, 0, false);
        assertEquals(0, response(r));
        assertEquals(2, status(r));
        assertEquals(0x25, asc(r), "LUN 3: logical unit not supported");
        MemorySegment q0 = drv.at(req, 51);
        q0.fill((byte) 0);
        q0.set(JAVA_BYTE, 0, (byte) 1);
        q0.set(JAVA_BYTE, 1, (byte) 2); // target 2
        int h0 = rq.chain(new long[] {req, resp}, new int[] {51, 108}, new boolean[] {false, true});
        rq.offer(h0);
        rq.kick();
        assertEquals(1, rq.awaitUsed(1, 10_000));
        rq.takeUsed();
        assertEquals(3, response(drv.at(resp, 108)), "BAD_TARGET for target 2");
        r = command(0, new int[] {0xff}, 0, false);
        assertEquals(2, status(r));
        assertEquals(5, senseKey(r));
        assertEquals(0x20, asc(r), "invalid command operation code");
        r = command(0, new int[] {0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0}, 4096, true); // LBA 4096: past the end
        assertEquals(2, status(r));
        assertEquals(0x21, asc(r), "LBA out of range");
        r = command(0, new int[] {0x2a, 0, 0, 0, 0, 0, 0, 0, 2, 0}, 4096, false); // 2 blocks from a 1-block buffer
        assertEquals(2, status(r));
        assertEquals(0x24, asc(r), "invalid field: data-out shorter than the transfer");
        assertEquals(0, disk.writes.get());
        r = command(0, new int[] {0x28, 0, 0, 0, 0, 0, 0x80, 0, 1, 0}, 4096, true); // RDPROTECT bits set
        assertEquals(2, status(r));
        assertEquals(0x24, asc(r), "invalid field in CDB");
        assertEquals(0, disk.reads.get());
        // a response buffer too small to answer in: returned unused
        MemorySegment q = drv.at(req, 51);
        q.set(JAVA_BYTE, 0, (byte) 1);
        int head = rq.chain(new long[] {req, resp}, new int[] {51, 8}, new boolean[] {false, true});
        rq.offer(head);
        rq.kick();
        assertEquals(1, rq.awaitUsed(1, 10_000));
        assertEquals((long) head << 32, rq.takeUsed());
    }

    @Test
    void controlAndEventQueues() throws Exception {
        long tmf = drv.alloc(24, 8), out = drv.alloc(8, 8);
        MemorySegment t = drv.at(tmf, 24);
        t.fill((byte) 0);
        t.set(JAVA_INT_UNALIGNED, 0, 0);      // TMF
        t.set(JAVA_INT_UNALIGNED, 4, 5);      // logical unit reset
        t.set(JAVA_BYTE, 8, (byte) 1);
        t.set(JAVA_BYTE, 10, (byte) 0x40);
        ctl.offer(ctl.chain(new long[] {tmf, out}, new int[] {24, 1}, new boolean[] {false, true}));
        ctl.kick();
        assertEquals(1, ctl.awaitUsed(1, 10_000));
        ctl.takeUsed();
        assertEquals(0, drv.at(out, 1).get(JAVA_BYTE, 0), "FUNCTION_COMPLETE");
        // the reset raised a unit attention: the next command reports it once
        MemorySegment r = command(0, new int[] {0}, 0, false);
        assertEquals(2, status(r));
        assertEquals(6, senseKey(r), "UNIT ATTENTION");
        assertEquals(0x29, asc(r));
        assertEquals(0, status(command(0, new int[] {0}, 0, false)));
        // an event buffer is held (no events yet) and handed back when the queue stops
        long ev = drv.alloc(16, 8);
        evt.offer(evt.chain(new long[] {ev}, new int[] {16}, new boolean[] {true}));
        evt.kick();
        assertEquals(0, evt.awaitUsed(1, 200), "held until there is an event");
        assertEquals(1, drv.getVringBase(1), "stopping does not wait for events");
        assertEquals(1, evt.awaitUsed(1, 1000), "returned empty at stop");
    }

    @Test
    void abortTaskWaitsForTheHeldWriteAndReportsAborted() {
        long tmf = drv.alloc(24, 8), out = drv.alloc(8, 8);
        gated.hold = true;
        MemorySegment r = drv.at(req, 51);
        r.fill((byte) 0);
        r.set(JAVA_BYTE, 0, (byte) 1);
        r.set(JAVA_BYTE, 2, (byte) 0x40);
        r.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8, 77L); // command id
        int[] cdb = {0x2a, 0, 0, 0, 0, 9, 0, 0, 1, 0};
        for (int i = 0; i < cdb.length; i++) r.set(JAVA_BYTE, 19 + i, (byte) cdb[i]);
        drv.at(resp, 108).fill((byte) 0x55);
        rq.offer(rq.chain(new long[] {req, data, resp}, new int[] {51, 4096, 108}, new boolean[] {false, false, true}));
        rq.kick();
        assertEquals(0, rq.awaitUsed(1, 300), "the write is held in the vDisk");
        MemorySegment t = drv.at(tmf, 24);
        t.fill((byte) 0);
        t.set(JAVA_INT_UNALIGNED, 4, 0);      // ABORT TASK
        t.set(JAVA_BYTE, 8, (byte) 1);
        t.set(JAVA_BYTE, 10, (byte) 0x40);
        t.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 16, 77L);
        drv.at(out, 1).fill((byte) 0x55);
        ctl.offer(ctl.chain(new long[] {tmf, out}, new int[] {24, 1}, new boolean[] {false, true}));
        ctl.kick();
        assertEquals(0, ctl.awaitUsed(1, 300), "the abort waits for the submitted vDisk request");
        gated.release();
        assertEquals(1, ctl.awaitUsed(1, 10_000));
        ctl.takeUsed();
        assertEquals(0, drv.at(out, 1).get(JAVA_BYTE, 0), "FUNCTION_COMPLETE");
        assertEquals(1, rq.awaitUsed(1, 10_000), "the aborted command was completed before the function");
        rq.takeUsed();
        MemorySegment s = drv.at(resp, 108);
        assertEquals(2, response(s), "VIRTIO_SCSI_S_ABORTED");
        assertEquals(0x40, status(s), "TASK ABORTED");
    }

    /** Passes requests to a vDisk; while {@code hold} is set, writes wait until {@link #release}. */
    static final class GatedVDisk implements io.dsf.stargate.api.VDisk {
        final io.dsf.stargate.api.VDisk d;
        volatile boolean hold;
        final java.util.concurrent.ConcurrentLinkedQueue<Runnable> held = new java.util.concurrent.ConcurrentLinkedQueue<>();

        GatedVDisk(io.dsf.stargate.api.VDisk d) { this.d = d; }

        void release() {
            hold = false;
            Runnable r;
            while ((r = held.poll()) != null) r.run();
        }

        @Override public String name() { return d.name(); }
        @Override public long size() { return d.size(); }
        @Override public int blockSize() { return d.blockSize(); }
        @Override public int maxTransfer() { return d.maxTransfer(); }
        @Override public boolean readOnly() { return d.readOnly(); }
        @Override public int read(long o, MemorySegment b, int l, long tag, io.dsf.stargate.api.IoCallback cb) { return d.read(o, b, l, tag, cb); }
        @Override public int write(long o, MemorySegment b, int l, long tag, io.dsf.stargate.api.IoCallback cb) {
            if (!hold) return d.write(o, b, l, tag, cb);
            held.add(() -> d.write(o, b, l, tag, cb));
            return io.dsf.stargate.api.VDiskStatus.OK;
        }
        @Override public int flush(long tag, io.dsf.stargate.api.IoCallback cb) { return d.flush(tag, cb); }
        @Override public int unmap(long o, long l, long tag, io.dsf.stargate.api.IoCallback cb) { return d.unmap(o, l, tag, cb); }
        @Override public int writeZeroes(long o, long l, long tag, io.dsf.stargate.api.IoCallback cb) { return d.writeZeroes(o, l, tag, cb); }
    }
}
