package io.dsf.frodo.driver;

import io.dsf.frodo.scsi.VhostUserScsiServer;
import io.dsf.frodo.vhostuser.VhostOptions;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A hostile virtio-scsi driver: truncated request headers, bidirectional requests, transfer lengths
 * larger than the buffers, LBAs at the top of the 64-bit range, and a seeded fuzz of CDBs and LUN
 * fields in every data direction; bad control-queue requests. Every request completes (no hang),
 * with a well-formed response (virtio-scsi response code, SCSI status, sense data in fixed or
 * descriptor format), never writes guest memory outside its writable buffers (a canary after the
 * data buffer stays intact), and the server keeps serving. CDBs go through the scsi device as a
 * guest sends them; the SCSI target behind it is stargate's.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ScsiBadInputTest {
    static final int REQ = 51, RESP = 108, DATA = 8192, CANARY_LEN = 64 << 10;
    static final Set<Integer> STATUSES = Set.of(0x00, 0x02, 0x08, 0x18, 0x28, 0x40);

    @TempDir Path dir;
    MemoryVDisk disk;
    VhostUserScsiServer server;
    VhostUserDriver drv;
    DriverQueue ctl, evt, rq;
    long req, resp, data, canary;

    @BeforeEach
    void setUp() throws Exception {
        disk = new MemoryVDisk("bad-scsi", 16L << 20);
        server = VhostUserScsiServer.start(dir.resolve("s.sock"), disk, VhostOptions.defaults().withQueues(1));
        drv = VhostUserDriver.connect(server.socket());
        drv.negotiate(0);
        drv.createGuestMemory(4L << 20);
        ctl = drv.startQueue(0, 16, true);
        evt = drv.startQueue(1, 16, true);
        rq = drv.startQueue(2, 64, true);
        req = drv.alloc(64, 64);
        resp = drv.alloc(128, 64);
        data = drv.alloc(DATA, 4096);
        canary = drv.alloc(CANARY_LEN, 4096); // right after the data buffer
        drv.at(canary, CANARY_LEN).fill((byte) 0xa5);
    }

    @AfterEach
    void tearDown() {
        if (drv != null) drv.close();
        if (server != null) server.close();
        disk.close();
    }

    void assertCanaryIntact() {
        MemorySegment c = drv.at(canary, CANARY_LEN);
        for (long i = 0; i < CANARY_LEN; i += 8) assertEquals(0xa5a5a5a5a5a5a5a5L, c.get(JAVA_LONG_UNALIGNED, i), "canary at +" + i);
    }

    void request(int lunHi, int lunLo, byte[] cdb) {
        MemorySegment r = drv.at(req, REQ);
        r.fill((byte) 0);
        r.set(JAVA_BYTE, 0, (byte) 1);
        r.set(JAVA_BYTE, 2, (byte) lunHi);
        r.set(JAVA_BYTE, 3, (byte) lunLo);
        MemorySegment.copy(cdb, 0, r, JAVA_BYTE, 19, Math.min(cdb.length, 32));
        drv.at(resp, RESP).fill((byte) 0x55);
    }

    /** Sends the chain, waits, returns the used length (checked against what the chain could take). */
    int send(DriverQueue q, long[] a, int[] l, boolean[] w) {
        int head = q.chain(a, l, w);
        q.offer(head);
        q.kick();
        assertEquals(1, q.awaitUsed(1, 10_000), "the request completes");
        long u = q.takeUsed();
        assertEquals(head, (int) (u >>> 32));
        int len = (int) u;
        long writable = 0;
        for (int i = 0; i < a.length; i++) if (w[i]) writable += l[i];
        assertTrue(len >= 0 && len <= writable, "used length " + len + " within the " + writable + " writable bytes");
        return len;
    }

    static int response(MemorySegment r) { return Byte.toUnsignedInt(r.get(JAVA_BYTE, 11)); }
    static int status(MemorySegment r) { return Byte.toUnsignedInt(r.get(JAVA_BYTE, 10)); }

    /** A response the guest's driver can parse: known response code; GOOD or a status with well-formed sense. */
    void assertWellFormed(String what) {
        MemorySegment r = drv.at(resp, RESP);
        int response = response(r);
        assertTrue(response == 0 || response == 3 || response == 9, what + ": response code " + response);
        if (response != 0) return;
        int st = status(r);
        assertTrue(STATUSES.contains(st), what + ": SCSI status 0x" + Integer.toHexString(st));
        int senseLen = r.get(JAVA_INT_UNALIGNED, 0);
        assertTrue(senseLen >= 0 && senseLen <= 96, what + ": sense length " + senseLen);
        if (st == 0x02) {
            assertTrue(senseLen >= 8, what + ": CHECK CONDITION carries sense data");
            int code = r.get(JAVA_BYTE, 12) & 0x7f;
            assertTrue(code >= 0x70 && code <= 0x73, what + ": sense response code 0x" + Integer.toHexString(code));
        }
    }

    void inquiryStillWorks() {
        request(0x40, 0, new byte[] {0x12, 0, 0, 0, 36, 0});
        assertEquals(RESP + 36, send(rq, new long[] {req, resp, data}, new int[] {REQ, RESP, 36}, new boolean[] {false, true, true}));
        assertEquals(0, status(drv.at(resp, RESP)));
    }

    @Test
    void malformedRequestsAndTransfersLargerThanTheBuffers() {
        // request header of 40 bytes: no room to read a CDB, returned unused
        request(0x40, 0, new byte[] {0x12, 0, 0, 0, 36, 0});
        assertEquals(0, send(rq, new long[] {req, resp}, new int[] {40, RESP}, new boolean[] {false, true}));
        // data-out and data-in in one request
        request(0x40, 0, new byte[] {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0});
        send(rq, new long[] {req, data, resp, data + 4096}, new int[] {REQ, 4096, RESP, 4096}, new boolean[] {false, false, true, true});
        assertEquals(9, response(drv.at(resp, RESP)), "bidirectional: VIRTIO_SCSI_S_FAILURE");
        // READ(10) of 64 blocks into an 8 KiB buffer: nothing lands past the buffer
        request(0x40, 0, new byte[] {0x28, 0, 0, 0, 0, 0, 0, 0, 64, 0});
        int len = send(rq, new long[] {req, resp, data}, new int[] {REQ, RESP, DATA}, new boolean[] {false, true, true});
        assertWellFormed("READ(10) longer than its buffer");
        assertTrue(len <= RESP + DATA);
        // READ(16) at the last 64-bit LBA, and one whose LBA + length overflows
        request(0x40, 0, new byte[] {(byte) 0x88, 0, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 1, 0, 0});
        send(rq, new long[] {req, resp, data}, new int[] {REQ, RESP, 4096}, new boolean[] {false, true, true});
        assertEquals(2, status(drv.at(resp, RESP)), "LBA 2^64-1");
        assertEquals(5, drv.at(resp, RESP).get(JAVA_BYTE, 12 + 2) & 0xf, "ILLEGAL REQUEST");
        request(0x40, 0, new byte[] {(byte) 0x88, 0, 0x7f, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 2, 0, 0});
        send(rq, new long[] {req, resp, data}, new int[] {REQ, RESP, DATA}, new boolean[] {false, true, true});
        assertEquals(2, status(drv.at(resp, RESP)), "LBA + length past 2^63");
        // WRITE(10) whose only data buffer is device-writable (a data-in buffer for a write)
        request(0x40, 0, new byte[] {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0});
        send(rq, new long[] {req, resp, data}, new int[] {REQ, RESP, 4096}, new boolean[] {false, true, true});
        assertWellFormed("WRITE(10) with a data-in buffer");
        assertNotEquals(0, status(drv.at(resp, RESP)), "a write without data-out does not succeed");
        assertEquals(0, disk.writes.get(), "nothing written");
        // a LUN field in another format (not 1, target, flat LUN, 0...)
        request(0x40, 0, new byte[] {0});
        drv.at(req, REQ).set(JAVA_BYTE, 4, (byte) 1);
        send(rq, new long[] {req, resp}, new int[] {REQ, RESP}, new boolean[] {false, true});
        assertEquals(3, response(drv.at(resp, RESP)), "multi-level LUN: BAD_TARGET");
        inquiryStillWorks();
        assertCanaryIntact();
    }

    @Test
    void fuzzedCdbsAlwaysCompleteWithWellFormedResponses() {
        Random rnd = new Random(20261121);
        int[] opcodes = {0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42, 0x55, 0x5a,
            0x88, 0x8a, 0x8f, 0x91, 0x93, 0x9e, 0xa0, 0xa3, 0xa8, 0xaa, 0x04, 0x48, 0x4d, 0x5e, 0x5f, 0x7f, 0x83, 0x84};
        int n = Boolean.getBoolean("dsf.long") ? 200_000 : 10_000;
        for (int i = 0; i < n; i++) {
            byte[] cdb = new byte[16 + rnd.nextInt(17)];
            cdb[0] = (byte) (rnd.nextInt(4) == 0 ? rnd.nextInt(256) : opcodes[rnd.nextInt(opcodes.length)]);
            for (int k = 1; k < cdb.length; k++) {
                int pick = rnd.nextInt(10);
                cdb[k] = (byte) (pick < 6 ? 0 : pick < 8 ? rnd.nextInt(4) : rnd.nextInt(256));
            }
            boolean otherLun = rnd.nextInt(20) == 0;
            request(otherLun ? rnd.nextInt(256) : 0x40, otherLun ? rnd.nextInt(256) : 0, cdb);
            int dir = rnd.nextInt(3);
            int len = 512 * (1 + rnd.nextInt(DATA / 512));
            String what = "CDB #" + i + " " + java.util.HexFormat.of().formatHex(cdb) + " dir " + dir + " len " + len;
            switch (dir) {
                case 0 -> send(rq, new long[] {req, resp}, new int[] {REQ, RESP}, new boolean[] {false, true});
                case 1 -> send(rq, new long[] {req, resp, data}, new int[] {REQ, RESP, len}, new boolean[] {false, true, true});
                default -> {
                    for (int k = 0; k < len; k += 8) drv.at(data, DATA).set(JAVA_LONG_UNALIGNED, k, rnd.nextLong());
                    send(rq, new long[] {req, data, resp}, new int[] {REQ, len, RESP}, new boolean[] {false, false, true});
                }
            }
            assertWellFormed(what);
        }
        assertEquals(n + 0L, server.queueRequests()[2], "every fuzzed command was taken");
        inquiryStillWorks();
        assertCanaryIntact();
    }

    @Test
    void badControlRequests() {
        long tmf = drv.alloc(64, 8), out = drv.alloc(8, 8);
        MemorySegment t = drv.at(tmf, 64);
        // shorter than the type field
        assertEquals(0, send(ctl, new long[] {tmf, out}, new int[] {2, 1}, new boolean[] {false, true}));
        // unknown type
        t.fill((byte) 0);
        t.set(JAVA_INT_UNALIGNED, 0, 9);
        drv.at(out, 8).fill((byte) 0x55);
        assertEquals(1, send(ctl, new long[] {tmf, out}, new int[] {24, 1}, new boolean[] {false, true}));
        assertEquals(9, drv.at(out, 1).get(JAVA_BYTE, 0), "VIRTIO_SCSI_S_FAILURE");
        // a TMF cut short
        t.set(JAVA_INT_UNALIGNED, 0, 0);
        assertEquals(0, send(ctl, new long[] {tmf, out}, new int[] {12, 1}, new boolean[] {false, true}));
        // TMF for another target, and an unknown TMF subtype
        t.set(JAVA_INT_UNALIGNED, 4, 5);
        t.set(JAVA_BYTE, 8, (byte) 1);
        t.set(JAVA_BYTE, 9, (byte) 3);
        send(ctl, new long[] {tmf, out}, new int[] {24, 1}, new boolean[] {false, true});
        assertEquals(3, drv.at(out, 1).get(JAVA_BYTE, 0), "BAD_TARGET");
        t.set(JAVA_BYTE, 9, (byte) 0);
        t.set(JAVA_BYTE, 10, (byte) 0x40);
        t.set(JAVA_INT_UNALIGNED, 4, 99);
        send(ctl, new long[] {tmf, out}, new int[] {24, 1}, new boolean[] {false, true});
        assertEquals(11, drv.at(out, 1).get(JAVA_BYTE, 0), "FUNCTION_REJECTED");
        // an AN query with no room for its answer
        t.set(JAVA_INT_UNALIGNED, 0, 1);
        assertEquals(0, send(ctl, new long[] {tmf, out}, new int[] {16, 2}, new boolean[] {false, true}));
        inquiryStillWorks();
        assertCanaryIntact();
    }
}
