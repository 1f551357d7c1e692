package io.dsf.stargate.scsi;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** INQUIRY: standard data, every VPD page, unknown LUNs and allocation length truncation, byte by byte against SPC-4/SBC-3. */
class InquiryTest {
    private ScsiRig rig;
    private ScriptedVDisk disk, ro;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig();
        disk = new ScriptedVDisk("vm-17/disk-0", 64L << 20);
        ro = new ScriptedVDisk("base-image", 16L << 20, 1 << 20, true);
        rig.attach(0, disk);
        rig.attach(3, ro);
    }

    @AfterEach
    void tearDown() { rig.close(); }

    @Test
    void standardInquiryLayout() {
        ScsiRig.Result r = rig.in(0, inquiry(false, 0, 255), 255);
        assertTrue(r.good(), r::toString);
        assertEquals(96, r.transferred());
        assertEquals(255 - 96, r.residual());
        assertEquals(0x00, r.u8(0), "PQ 0, direct access block device");
        assertEquals(0x00, r.u8(1), "not removable");
        assertEquals(0x06, r.u8(2), "SPC-4");
        assertEquals(0x12, r.u8(3), "HISUP, response data format 2");
        assertEquals(91, r.u8(4), "additional length");
        assertEquals(0x00, r.u8(5));
        assertEquals(0x00, r.u8(6));
        assertEquals(0x02, r.u8(7), "CMDQUE");
        assertEquals("DSF     ", r.ascii(8, 16));
        assertEquals("VDISK           ", r.ascii(16, 32));
        assertEquals("0001", r.ascii(32, 36));
        assertEquals(0x00A0, r.u16(58), "SAM-5");
        assertEquals(0x0460, r.u16(60), "SPC-4");
        assertEquals(0x04C0, r.u16(62), "SBC-3");
        assertEquals(0x5A, r.u8(96), "nothing written past the data");
    }

    @Test
    void allocationLengthTruncatesAndBufferLimits() {
        ScsiRig.Result r = rig.in(0, inquiry(false, 0, 36), 255);
        assertTrue(r.good());
        assertEquals(36, r.transferred());
        assertEquals(0x5A, r.u8(36), "bytes past the allocation length untouched");
        assertEquals(91, r.u8(4), "additional length still tells the full size");

        ScsiRig.Result small = rig.in(0, inquiry(false, 0, 255), 5);
        assertTrue(small.good());
        assertEquals(5, small.transferred());
        assertEquals(0, small.residual());

        ScsiRig.Result zero = rig.in(0, inquiry(false, 0, 0), 64);
        assertTrue(zero.good());
        assertEquals(0, zero.transferred());
        assertEquals(64, zero.residual());
    }

    @Test
    void scatteredDataInAcrossOddSegments() {
        var a = rig.buffer(7, (byte) 0);
        var b = rig.buffer(1, (byte) 0);
        var c = rig.buffer(100, (byte) 0);
        ScsiRig.Result r = rig.exec(0, inquiry(false, 0, 96), ScsiTask.DATA_IN, a, b, c);
        assertTrue(r.good());
        assertEquals(96, r.transferred());
        assertEquals(12, r.residual());
        assertEquals("DSF     ", r.ascii(8, 16));
        assertEquals(0x02, r.u8(7), "byte 7 landed in the one-byte segment");
    }

    @Test
    void unknownLunGetsPeripheralQualifier3() {
        ScsiRig.Result r = rig.in(9, inquiry(false, 0, 96), 96);
        assertTrue(r.good());
        assertEquals(0x7F, r.u8(0), "PQ 011b, type 1Fh");
        ScsiRig.Result vpd = rig.in(9, inquiry(true, 0x00, 64), 64);
        assertCheck(vpd, ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED);
        ScsiRig.Result lunMinus = rig.in(-1, inquiry(false, 0, 96), 96);
        assertEquals(0x7F, lunMinus.u8(0));
    }

    @Test
    void pageCodeWithoutEvpdIsInvalid() {
        assertInvalidField(rig.in(0, inquiry(false, 0x80, 96), 96), 2, -1);
    }

    @Test
    void obsoleteCmdDtBitIsInvalid() {
        byte[] c = inquiry(false, 0, 96);
        c[1] = 0x02;
        assertInvalidField(rig.in(0, c, 96), 1, 1);
    }

    @Test
    void naca() {
        byte[] c = inquiry(false, 0, 96);
        c[5] = 0x04;
        assertInvalidField(rig.in(0, c, 96), 5, 2);
    }

    @Test
    void supportedVpdPages() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0x00, 255), 255);
        assertTrue(r.good());
        assertEquals(10, r.transferred());
        assertArrayEquals(new byte[] {0, 0, 0, 6, 0x00, (byte) 0x80, (byte) 0x83, (byte) 0xB0, (byte) 0xB1, (byte) 0xB2},
                Arrays.copyOf(r.dataIn(), 10));
    }

    @Test
    void unitSerialNumberStablePerName() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0x80, 255), 255);
        assertTrue(r.good());
        assertEquals(0x80, r.u8(1));
        int len = r.u16(2);
        assertEquals(16, len);
        String serial = r.ascii(4, 4 + len);
        assertTrue(serial.matches("[0-9a-f]{16}"), serial);
        // same name elsewhere: same serial; another name: another serial
        try (ScsiRig other = new ScsiRig()) {
            other.attach(5, new ScriptedVDisk("vm-17/disk-0", 4096 * 16));
            other.attach(6, new ScriptedVDisk("vm-17/disk-1", 4096 * 16));
            assertEquals(serial, other.in(5, inquiry(true, 0x80, 255), 255).ascii(4, 20));
            assertNotEquals(serial, other.in(6, inquiry(true, 0x80, 255), 255).ascii(4, 20));
        }
    }

    @Test
    void deviceIdentificationDesignators() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0x83, 512), 512);
        assertTrue(r.good());
        assertEquals(0x83, r.u8(1));
        int pageLength = r.u16(2);
        assertEquals(pageLength + 4, r.transferred());
        // NAA designator
        assertEquals(0x01, r.u8(4), "binary code set");
        assertEquals(0x03, r.u8(5), "association LU, type NAA");
        assertEquals(8, r.u8(7));
        assertEquals(0x3, r.u8(8) >>> 4, "NAA 3h: locally assigned");
        long naa = r.u64(8);
        assertEquals(rig.target.lun(0).naaDesignator(), naa);
        // T10 vendor ID designator
        int p = 16;
        assertEquals(0x02, r.u8(p), "ASCII code set");
        assertEquals(0x01, r.u8(p + 1), "association LU, type T10 vendor ID");
        int n = r.u8(p + 3);
        String id = r.ascii(p + 4, p + 4 + n);
        assertTrue(id.startsWith("DSF     "), id);
        assertTrue(id.endsWith(":vm-17/disk-0"), id);
        assertEquals(pageLength, 12 + 4 + n);
        try (ScsiRig other = new ScsiRig()) {
            other.attach(0, new ScriptedVDisk("vm-17/disk-0", 4096 * 16));
            assertEquals(naa, other.in(0, inquiry(true, 0x83, 512), 512).u64(8), "stable per vDisk name");
        }
    }

    @Test
    void blockLimits() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0xB0, 255), 255);
        assertTrue(r.good());
        assertEquals(64, r.transferred());
        ScsiTargetConfig cfg = ScsiTargetConfig.defaults();
        assertEquals(0xB0, r.u8(1));
        assertEquals(0x3C, r.u16(2));
        assertEquals(0x01, r.u8(4), "WSNZ");
        assertEquals(1, r.u16(6), "optimal transfer length granularity");
        assertEquals(cfg.maxTransferBlocks(), r.u32(8), "maximum transfer length");
        assertEquals((1 << 20) / 4096, r.u32(12), "optimal transfer length = one vDisk request");
        assertEquals(cfg.maxUnmapBlocks(), r.u32(20));
        assertEquals(cfg.maxUnmapDescriptors(), r.u32(24));
        assertEquals(1, r.u32(28), "optimal unmap granularity");
        assertEquals(0x8000_0000L, r.u32(32), "UGAVALID, alignment 0");
        assertEquals(cfg.maxWriteSameBlocks(), r.u64(36));
        ScsiRig.Result rr = rig.in(3, inquiry(true, 0xB0, 255), 255);
        assertEquals(0, rr.u32(20), "read-only LUN: no unmap");
        assertEquals(0, rr.u32(24));
    }

    @Test
    void blockDeviceCharacteristics() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0xB1, 255), 255);
        assertTrue(r.good());
        assertEquals(64, r.transferred());
        assertEquals(0xB1, r.u8(1));
        assertEquals(0x3C, r.u16(2));
        assertEquals(1, r.u16(4), "non-rotating medium");
    }

    @Test
    void logicalBlockProvisioning() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0xB2, 255), 255);
        assertTrue(r.good());
        assertEquals(8, r.transferred());
        assertEquals(0xB2, r.u8(1));
        assertEquals(4, r.u16(2));
        assertEquals(0x80, r.u8(5) & 0x80, "LBPU");
        assertEquals(0x40, r.u8(5) & 0x40, "LBPWS");
        assertEquals(0x20, r.u8(5) & 0x20, "LBPWS10");
        assertEquals(0x04, r.u8(5) & 0x1C, "LBPRZ 001b");
        assertEquals(0x02, r.u8(6) & 0x07, "thin provisioned");
        assertEquals(0x04, rig.in(3, inquiry(true, 0xB2, 255), 255).u8(5), "read-only: no unmap methods");
    }

    @Test
    void unknownVpdPage() {
        assertInvalidField(rig.in(0, inquiry(true, 0x89, 255), 255), 2, -1);
    }

    @Test
    void vpdTruncation() {
        ScsiRig.Result r = rig.in(0, inquiry(true, 0xB0, 4), 255);
        assertTrue(r.good());
        assertEquals(4, r.transferred());
        assertEquals(0x3C, r.u16(2));
        assertEquals(0x5A, r.u8(4));
    }

    @Test
    void inquiryWithoutDataInBufferMovesNothing() {
        // a data-out buffer is never written: INQUIRY completes with nothing transferred
        ScsiRig.Result r = rig.out(0, inquiry(false, 0, 96), new byte[96]);
        assertTrue(r.good());
        assertEquals(0, r.transferred());
    }
}
