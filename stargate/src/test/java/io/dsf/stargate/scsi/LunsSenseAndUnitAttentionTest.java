package io.dsf.stargate.scsi;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** REPORT LUNS, REQUEST SENSE, unknown LUNs, unit attentions and the LUN address encoding. */
class LunsSenseAndUnitAttentionTest {
    private ScsiRig rig;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig();
        rig.attach(0, new ScriptedVDisk("d0", 1 << 20));
        rig.attach(255, new ScriptedVDisk("d255", 1 << 20));
        rig.attach(256, new ScriptedVDisk("d256", 1 << 20));
        rig.attach(16383, new ScriptedVDisk("d16383", 1 << 20));
    }

    @AfterEach
    void tearDown() { rig.close(); }

    @Test
    void reportLunsAddressing() {
        ScsiRig.Result r = rig.in(0, reportLuns(0, 4096), 4096);
        assertTrue(r.good(), r::toString);
        assertEquals(8 + 32, r.transferred());
        assertEquals(32, r.u32(0), "LUN list length");
        assertEquals(0, r.u32(4));
        assertEquals(0x0000_0000_0000_0000L, r.u64(8), "LUN 0: peripheral");
        assertEquals(0x00FF_0000_0000_0000L, r.u64(16), "LUN 255: peripheral");
        assertEquals(0x4100_0000_0000_0000L, r.u64(24), "LUN 256: flat");
        assertEquals(0x7FFF_0000_0000_0000L, r.u64(32), "LUN 16383: flat");
        assertEquals(r.dataIn().length, r.transferred() + r.residual());
    }

    @Test
    void reportLunsFromAnyLunAndTruncated() {
        ScsiRig.Result r = rig.in(77, reportLuns(2, 20), 4096); // LUN 77 does not exist: REPORT LUNS still answers
        assertTrue(r.good());
        assertEquals(20, r.transferred());
        assertEquals(32, r.u32(0), "length tells the whole list");
        assertEquals(0x00FF, r.u16(16));
        assertEquals(0x5A, r.u8(20));
        ScsiRig.Result tiny = rig.in(0, reportLuns(0, 3), 4096);
        assertTrue(tiny.good());
        assertEquals(3, tiny.transferred());
        ScsiRig.Result wellKnown = rig.in(0, reportLuns(1, 4096), 4096);
        assertEquals(8, wellKnown.transferred());
        assertEquals(0, wellKnown.u32(0));
        assertInvalidField(rig.in(0, reportLuns(3, 4096), 4096), 2, -1);
    }

    @Test
    void reportLunsWithManyLuns() {
        try (ScsiRig many = new ScsiRig()) {
            for (int l = 0; l < 1000; l++) many.target.attach(l * 16, new ScriptedVDisk("m" + l, 1 << 16));
            ScsiRig.Result r = many.in(0, reportLuns(0, 1 << 20), 8 + 8000);
            assertTrue(r.good());
            assertEquals(8 + 8000, r.transferred());
            for (int i = 0; i < 1000; i++) assertEquals(ScsiLunAddress.encode(i * 16), r.u64(8 + 8 * i), "entry " + i);
        }
    }

    @Test
    void unknownLunCommands() {
        assertCheck(rig.none(5, testUnitReady()), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED);
        assertCheck(rig.in(5, Cdbs.rw10(false, 0, 1), 4096), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED);
        assertCheck(rig.none(5, of(0xFF, 0, 0, 0, 0, 0)), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED);
        // REQUEST SENSE to an unknown LUN reports LOGICAL UNIT NOT SUPPORTED as its data, with GOOD status
        ScsiRig.Result rs = rig.in(5, requestSense(false, 252), 252);
        assertTrue(rs.good());
        assertEquals(18, rs.transferred());
        assertEquals(0x70, rs.u8(0));
        assertEquals(ScsiSense.ILLEGAL_REQUEST, rs.u8(2));
        assertEquals(0x25, rs.u8(12));
    }

    @Test
    void invalidOpcode() {
        ScsiRig.Result r = rig.none(0, of(0xC5, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        assertCheck(r, ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_COMMAND_OPERATION_CODE);
        assertEquals(0, r.sense()[15], "no sense-key-specific data");
    }

    @Test
    void requestSenseNoSenseFixedAndDescriptor() {
        ScsiRig.Result f = rig.in(0, requestSense(false, 252), 252);
        assertTrue(f.good());
        assertEquals(18, f.transferred());
        assertEquals(0x70, f.u8(0));
        assertEquals(0, f.u8(2));
        assertEquals(10, f.u8(7));
        assertEquals(0, f.u16(12));
        ScsiRig.Result d = rig.in(0, requestSense(true, 252), 252);
        assertTrue(d.good());
        assertEquals(8, d.transferred());
        assertEquals(0x72, d.u8(0));
        assertEquals(0, d.u8(1));
        assertEquals(0, d.u8(7), "no descriptors");
        ScsiRig.Result t = rig.in(0, requestSense(false, 8), 252);
        assertEquals(8, t.transferred(), "allocation length");
    }

    @Test
    void unitAttentionAfterAttachIsReportedOnceThenClearedByReportLuns() {
        rig.target.attach(9, new ScriptedVDisk("hot", 1 << 20));
        // INQUIRY does not report or clear it
        assertTrue(rig.in(0, inquiry(false, 0, 36), 36).good());
        assertCheck(rig.none(0, testUnitReady()), ScsiSense.UNIT_ATTENTION, ScsiSense.REPORTED_LUNS_DATA_HAS_CHANGED);
        assertTrue(rig.none(0, testUnitReady()).good(), "reported once");
        rig.target.detach(255);
        ScsiRig.Result list = rig.in(0, reportLuns(0, 4096), 4096);
        assertEquals(32, list.u32(0), "9 in, 255 out");
        assertEquals(9, list.u16(16));
        assertTrue(rig.none(0, testUnitReady()).good(), "REPORT LUNS cleared it");
        assertCheck(rig.none(255, testUnitReady()), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED);
    }

    @Test
    void capacityChangeUnitAttentionThroughRequestSense() {
        ScsiNexus other = rig.target.openNexus("other");
        rig.target.capacityChanged(256);
        ScsiRig.Result d = rig.in(256, requestSense(true, 252), 252);
        assertTrue(d.good());
        assertEquals(0x72, d.u8(0));
        assertEquals(ScsiSense.UNIT_ATTENTION, d.u8(1));
        assertEquals(0x2A, d.u8(2));
        assertEquals(0x09, d.u8(3));
        assertTrue(rig.none(256, testUnitReady()).good(), "REQUEST SENSE took it");
        assertTrue(rig.none(0, testUnitReady()).good(), "other LUNs never had it");
        // the other nexus still has its own copy
        ScsiTask t = other.newTask(1);
        int[] seen = new int[2];
        t.callback(x -> { seen[0] = x.senseKey(); seen[1] = x.ascAscq(); });
        t.reset().lun(256).cdb(testUnitReady(), 0, 6);
        other.execute(t);
        assertEquals(ScsiSense.UNIT_ATTENTION, seen[0]);
        assertEquals(ScsiSense.CAPACITY_DATA_HAS_CHANGED, seen[1]);
    }

    @Test
    void newNexusStartsWithoutUnitAttentions() {
        rig.target.capacityChanged(0);
        ScsiNexus fresh = rig.target.openNexus("late");
        ScsiTask t = fresh.newTask(1);
        int[] st = {-1};
        t.callback(x -> st[0] = x.status());
        t.reset().lun(0).cdb(testUnitReady(), 0, 6);
        fresh.execute(t);
        assertEquals(ScsiStatus.GOOD, st[0]);
    }

    @Test
    void lunAddressCodec() {
        for (int l : new int[] {0, 1, 255, 256, 4000, 16383}) {
            assertEquals(l, ScsiLunAddress.decode(ScsiLunAddress.encode(l)));
            assertEquals(l, ScsiLunAddress.decodeFirstLevel((int) (ScsiLunAddress.encode(l) >>> 48)));
        }
        assertEquals(0x0005_0000_0000_0000L, ScsiLunAddress.encode(5));
        assertEquals(0x4100_0000_0000_0000L, ScsiLunAddress.encode(256));
        assertEquals(5, ScsiLunAddress.decode(0x4005_0000_0000_0000L), "flat addressing of a small LUN is accepted");
        assertEquals(-1, ScsiLunAddress.decode(0x0005_0000_0000_0001L), "second level");
        assertEquals(-1, ScsiLunAddress.decode(0x8005_0000_0000_0000L), "logical unit addressing");
        assertEquals(-1, ScsiLunAddress.decode(0x0105_0000_0000_0000L), "bus id 1");
        assertThrows(IllegalArgumentException.class, () -> ScsiLunAddress.encode(16384));
    }

    @Test
    void senseFormats() {
        byte[] b = new byte[ScsiSense.MAX_LENGTH];
        int n = ScsiSense.writeFixed(b, ScsiSense.MISCOMPARE, ScsiSense.MISCOMPARE_DURING_VERIFY, true, 0x1234_5678L,
                ScsiSense.fieldPointer(true, 300, 3));
        assertEquals(18, n);
        assertEquals(0xF0, b[0] & 0xFF);
        assertEquals(0x0E, b[2]);
        assertEquals(0x12, b[3]);
        assertEquals(0x78, b[6]);
        assertEquals(0x1D, b[12]);
        assertEquals(0xCB, b[15] & 0xFF);
        assertEquals(300, ((b[16] & 0xFF) << 8) | (b[17] & 0xFF));
        n = ScsiSense.writeFixed(b, 3, 0x1100, true, 1L << 33, ScsiSense.NO_SKS);
        assertEquals(0x70, b[0] & 0xFF, "INFORMATION beyond 32 bits is not valid in fixed format");
        n = ScsiSense.writeDescriptor(b, 3, 0x1100, true, 1L << 33, ScsiSense.fieldPointer(false, 9, -1));
        assertEquals(28, n);
        assertEquals(0x72, b[0]);
        assertEquals(20, b[7]);
        assertEquals(0x00, b[8]);
        assertEquals(0x0A, b[9]);
        assertEquals(0x80, b[10] & 0xFF);
        assertEquals(2, b[15], "INFORMATION occupies bytes 12-19: 2^33 has 02h in byte 15");
        assertEquals(0x02, b[20]);
        assertEquals(0x06, b[21]);
        assertEquals(0x80, b[24] & 0xFF);
        assertEquals(9, b[26]);
        assertEquals(3, ScsiSense.senseKey(b, n));
        assertEquals(0x1100, ScsiSense.ascAscq(b, n));
    }
}
