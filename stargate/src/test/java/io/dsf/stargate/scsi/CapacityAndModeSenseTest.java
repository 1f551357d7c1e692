package io.dsf.stargate.scsi;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** READ CAPACITY(10/16) and MODE SENSE(6/10), byte by byte. */
class CapacityAndModeSenseTest {
    private static final long BLOCKS = 16384;
    private ScsiRig rig;
    private ScriptedVDisk disk;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig();
        disk = new ScriptedVDisk("cap", BLOCKS * 4096);
        rig.attach(0, disk);
        rig.attach(1, new ScriptedVDisk("ro", 256 * 4096, 1 << 20, true));
    }

    @AfterEach
    void tearDown() { rig.close(); }

    @Test
    void readCapacity10Layout() {
        ScsiRig.Result r = rig.in(0, Cdbs.readCapacity10(), 8);
        assertTrue(r.good(), r::toString);
        assertEquals(8, r.transferred());
        assertEquals(BLOCKS - 1, r.u32(0));
        assertEquals(4096, r.u32(4));
        // short buffer: truncated, residual 0
        ScsiRig.Result s = rig.in(0, Cdbs.readCapacity10(), 4);
        assertEquals(4, s.transferred());
        assertEquals(BLOCKS - 1, s.u32(0));
    }

    @Test
    void readCapacity10PmiRule() {
        byte[] c = Cdbs.readCapacity10();
        put32(c, 2, 5);
        assertInvalidField(rig.in(0, c, 8), 2, -1);
        c[8] = 1; // PMI: LBA allowed
        ScsiRig.Result r = rig.in(0, c, 8);
        assertTrue(r.good());
        assertEquals(BLOCKS - 1, r.u32(0));
    }

    @Test
    void readCapacity10SaturatesAbove32Bits() {
        try (ScsiRig big = new ScsiRig()) {
            long blocks = (1L << 32) + 10; // 16 TiB + 40 KiB, thin
            big.attach(0, new ScriptedVDisk("huge", blocks * 4096));
            ScsiRig.Result r = big.in(0, Cdbs.readCapacity10(), 8);
            assertTrue(r.good());
            assertEquals(0xFFFF_FFFFL, r.u32(0));
            ScsiRig.Result r16 = big.in(0, Cdbs.readCapacity16(32), 32);
            assertEquals(blocks - 1, r16.u64(0));
            // exactly 2^32 blocks: last LBA FFFFFFFFh does not fit either (FFFFFFFFh means "use 16")
            big.target.detach(0);
            big.nexus.takeLunsChanged();
            big.attach(0, new ScriptedVDisk("edge", (1L << 32) * 4096));
            assertEquals(0xFFFF_FFFFL, big.in(0, Cdbs.readCapacity10(), 8).u32(0));
            assertEquals((1L << 32) - 1, big.in(0, Cdbs.readCapacity16(32), 32).u64(0));
        }
    }

    @Test
    void readCapacity16Layout() {
        ScsiRig.Result r = rig.in(0, Cdbs.readCapacity16(32), 64);
        assertTrue(r.good());
        assertEquals(32, r.transferred());
        assertEquals(32, r.residual());
        assertEquals(BLOCKS - 1, r.u64(0));
        assertEquals(4096, r.u32(8));
        assertEquals(0, r.u8(12), "no protection");
        assertEquals(0, r.u8(13), "one logical block per physical block");
        assertEquals(0xC0, r.u8(14), "LBPME, LBPRZ, lowest aligned LBA 0");
        assertEquals(0, r.u8(15));
        for (int i = 16; i < 32; i++) assertEquals(0, r.u8(i));
        ScsiRig.Result t = rig.in(0, Cdbs.readCapacity16(12), 64);
        assertEquals(12, t.transferred(), "allocation length honoured");
        assertEquals(0x5A, t.u8(12));
    }

    @Test
    void serviceActionInOtherActionsAreInvalid() {
        byte[] c = Cdbs.readCapacity16(32);
        c[1] = 0x11;
        assertInvalidField(rig.in(0, c, 32), 1, 4);
    }

    @Test
    void modeSense6AllPages() {
        ScsiRig.Result r = rig.in(0, modeSense6(0, 0x3F, 0, 255), 255);
        assertTrue(r.good(), r::toString);
        int len = 4 + 8 + 20 + 12;
        assertEquals(len, r.transferred());
        assertEquals(len - 1, r.u8(0), "mode data length");
        assertEquals(0, r.u8(1), "medium type");
        assertEquals(0x10, r.u8(2), "DPOFUA, not write protected");
        assertEquals(8, r.u8(3), "block descriptor length");
        assertEquals(BLOCKS, r.u32(4), "number of blocks");
        assertEquals(0, r.u8(8));
        assertEquals(4096, (r.u8(9) << 16) | r.u16(10), "block length");
        int p = 12;
        assertEquals(0x08, r.u8(p), "caching page");
        assertEquals(0x12, r.u8(p + 1));
        assertEquals(0, r.u8(p + 2) & 0x04, "WCE = 0: no volatile write cache");
        assertEquals(0, r.u8(p + 2) & 0x01, "RCD = 0");
        p += 20;
        assertEquals(0x0A, r.u8(p), "control page");
        assertEquals(0x0A, r.u8(p + 1));
        assertEquals(0, r.u8(p + 2) & 0x04, "D_SENSE = 0: fixed format");
        assertEquals(0x10, r.u8(p + 3), "queue algorithm modifier 1");
        assertEquals(0xFFFF, r.u16(p + 8), "busy timeout");
    }

    @Test
    void modeSense6CachingOnlyAsLinuxAsks() {
        // sd first asks for the 4-byte header, then the page
        ScsiRig.Result h = rig.in(0, modeSense6(0x08, 0x08, 0, 4), 255);
        assertTrue(h.good());
        assertEquals(4, h.transferred());
        assertEquals(3 + 20, h.u8(0), "header tells the full length");
        assertEquals(0, h.u8(3), "DBD: no block descriptor");
        ScsiRig.Result r = rig.in(0, modeSense6(0x08, 0x08, 0, 255), 255);
        assertEquals(24, r.transferred());
        assertEquals(0x08, r.u8(4));
        assertEquals(0, r.u8(6) & 0x04, "WCE = 0");
    }

    @Test
    void modeSense10LongLba() {
        ScsiRig.Result r = rig.in(0, modeSense10(0x10, 0x0A, 0, 512), 512);
        assertTrue(r.good());
        int len = 8 + 16 + 12;
        assertEquals(len, r.transferred());
        assertEquals(len - 2, r.u16(0));
        assertEquals(0x10, r.u8(3), "DPOFUA");
        assertEquals(0x01, r.u8(4), "LONGLBA");
        assertEquals(16, r.u16(6));
        assertEquals(BLOCKS, r.u64(8));
        assertEquals(4096, r.u32(20));
        assertEquals(0x0A, r.u8(24));
        ScsiRig.Result s = rig.in(0, modeSense10(0x00, 0x08, 0, 512), 512);
        assertEquals(8 + 8 + 20, s.transferred(), "short descriptor without LLBAA");
        assertEquals(0, s.u8(4));
        assertEquals(8, s.u16(6));
    }

    @Test
    void writeProtectBit() {
        ScsiRig.Result r = rig.in(1, modeSense6(0x08, 0x3F, 0, 255), 255);
        assertEquals(0x90, r.u8(2), "WP and DPOFUA");
        ScsiRig.Result r10 = rig.in(1, modeSense10(0x08, 0x3F, 0, 255), 255);
        assertEquals(0x90, r10.u8(3));
    }

    @Test
    void changeableValuesAreAllZero() {
        ScsiRig.Result r = rig.in(0, modeSense6(0x08, 0x40 | 0x3F, 0, 255), 255);
        assertTrue(r.good());
        assertEquals(36, r.transferred());
        for (int i = 6; i < 24; i++) assertEquals(0, r.u8(i), "caching byte " + i);
        assertEquals(0x0A, r.u8(24));
        for (int i = 26; i < 36; i++) assertEquals(0, r.u8(i), "control byte " + i);
    }

    @Test
    void modeSenseErrors() {
        assertCheck(rig.in(0, modeSense6(0, 0xC0 | 0x08, 0, 255), 255), ScsiSense.ILLEGAL_REQUEST, ScsiSense.SAVING_PARAMETERS_NOT_SUPPORTED);
        assertInvalidField(rig.in(0, modeSense6(0, 0x01, 0, 255), 255), 2, 5);
        assertInvalidField(rig.in(0, modeSense6(0, 0x08, 0x01, 255), 255), 3, -1);
        assertInvalidField(rig.in(0, modeSense6(0x10, 0x08, 0, 255), 255), 1, 4); // LLBAA exists only in MODE SENSE(10)
        ScsiRig.Result all = rig.in(0, modeSense6(0, 0x3F, 0xFF, 255), 255);
        assertTrue(all.good(), "all pages and subpages");
        assertEquals(44, all.transferred());
    }
}
