package io.dsf.stargate.scsi;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0Ch), as Linux's sd asks it and in full. */
class SupportedOperationCodesTest {
    private ScsiRig rig;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig();
        rig.attach(0, new ScriptedVDisk("d", 1 << 20));
    }

    @AfterEach
    void tearDown() { rig.close(); }

    @Test
    void allCommands() {
        ScsiRig.Result r = rig.in(0, rsoc(0, false, 0, 0, 8192), 8192);
        assertTrue(r.good(), r::toString);
        int n = CommandTable.ALL.length;
        assertEquals(4 + 8 * n, r.transferred());
        assertEquals(8 * n, r.u32(0));
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            int p = 4 + 8 * i;
            int op = r.u8(p);
            boolean servactv = (r.u8(p + 5) & 1) != 0;
            int sa = r.u16(p + 2);
            seen.add(op + "/" + (servactv ? sa : -1));
            assertEquals(0, r.u8(p + 5) & 0x02, "no timeouts without RCTD");
            CommandTable.Entry e = CommandTable.find(op, sa);
            assertNotNull(e);
            assertEquals(e.cdbLength(), r.u16(p + 6));
            assertEquals(e.hasServiceAction(), servactv);
        }
        assertTrue(seen.contains("158/16"), "READ CAPACITY(16)");
        assertTrue(seen.contains("163/12"), "REPORT SUPPORTED OPERATION CODES itself");
        assertTrue(seen.contains("42/-1"), "WRITE(10)");
        assertEquals(n, seen.size());
    }

    @Test
    void allCommandsWithTimeouts() {
        ScsiRig.Result r = rig.in(0, rsoc(0, true, 0, 0, 8192), 8192);
        int n = CommandTable.ALL.length;
        assertEquals(4 + 20 * n, r.transferred());
        assertEquals(0x02, r.u8(4 + 5) & 0x02, "CTDP");
        assertEquals(0x0A, r.u16(4 + 8), "timeouts descriptor length");
        assertEquals(30, r.u32(4 + 8 + 8), "recommended timeout");
    }

    @Test
    void oneCommandAsLinuxAsks() {
        // sd: reporting option 1 for WRITE SAME(16), WRITE SAME(10)
        ScsiRig.Result r = rig.in(0, rsoc(1, false, 0x93, 0, 512), 512);
        assertTrue(r.good());
        assertEquals(3, r.u8(1) & 0x07, "supported");
        assertEquals(16, r.u16(2));
        assertEquals(20, r.transferred());
        assertEquals(0x93, r.u8(4), "usage data starts with the opcode");
        assertEquals(0x09, r.u8(5), "UNMAP and NDOB");
        assertEquals(0x00, r.u8(19), "control byte: NACA/LINK unsupported");
        ScsiRig.Result ws10 = rig.in(0, rsoc(1, false, 0x41, 0, 512), 512);
        assertEquals(3, ws10.u8(1) & 7);
        ScsiRig.Result no = rig.in(0, rsoc(1, false, 0x7F, 0, 512), 512);
        assertTrue(no.good());
        assertEquals(1, no.u8(1) & 7, "not supported");
        assertEquals(0, no.u16(2));
        assertEquals(4, no.transferred());
    }

    @Test
    void serviceActionQueries() {
        ScsiRig.Result r = rig.in(0, rsoc(2, true, 0x9E, 0x10, 512), 512);
        assertTrue(r.good());
        assertEquals(0x83, r.u8(1), "CTDP, supported");
        assertEquals(16, r.u16(2));
        assertEquals(0x9E, r.u8(4));
        assertEquals(0x10, r.u8(5), "service action in usage data");
        assertEquals(4 + 16 + 12, r.transferred());
        assertEquals(1, rig.in(0, rsoc(2, false, 0x9E, 0x11, 512), 512).u8(1) & 7, "unsupported service action");
        assertInvalidField(rig.in(0, rsoc(1, false, 0x9E, 0, 512), 512), 2, 2);  // option 1 on an opcode with service actions
        assertInvalidField(rig.in(0, rsoc(2, false, 0x28, 0, 512), 512), 2, 2);  // option 2 on an opcode without
        assertEquals(3, rig.in(0, rsoc(3, false, 0x28, 0, 512), 512).u8(1) & 7);
        assertEquals(3, rig.in(0, rsoc(3, false, 0xA3, 0x0C, 512), 512).u8(1) & 7);
        assertInvalidField(rig.in(0, rsoc(4, false, 0x28, 0, 512), 512), 2, 2);
    }

    @Test
    void usageDataMatchesValidation() {
        // every bit a command's usage map claims is accepted; every other bit (but the opcode) is rejected
        for (CommandTable.Entry e : CommandTable.ALL) {
            byte[] cdb = new byte[e.cdbLength()];
            for (int i = 1; i < cdb.length; i++) {
                for (int bit = 0; bit < 8; bit++) {
                    java.util.Arrays.fill(cdb, (byte) 0);
                    cdb[0] = (byte) e.opcode();
                    if (e.hasServiceAction()) cdb[1] = (byte) e.serviceAction();
                    cdb[i] |= (byte) (1 << bit);
                    int bad = CommandTable.firstUnusedBit(e, cdb);
                    boolean used = (e.usage()[i] & (1 << bit)) != 0 || (i == 1 && e.hasServiceAction() && bit < 5);
                    assertEquals(used ? -1 : (i << 3 | bit), bad, e.name() + " byte " + i + " bit " + bit);
                }
            }
        }
    }

    @Test
    void allocationLength() {
        ScsiRig.Result r = rig.in(0, rsoc(0, false, 0, 0, 10), 8192);
        assertEquals(10, r.transferred());
        assertEquals(8 * CommandTable.ALL.length, r.u32(0));
    }
}
