package io.dsf.stargate.scsi;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** CDB builders and sense assertions for the SCSI tests. Stateless. */
final class Cdbs {
    private Cdbs() {}

    static byte[] of(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) b[i] = (byte) bytes[i];
        return b;
    }

    static void put16(byte[] b, int off, long v) { b[off] = (byte) (v >>> 8); b[off + 1] = (byte) v; }
    static void put32(byte[] b, int off, long v) { put16(b, off, v >>> 16); put16(b, off + 2, v); }
    static void put64(byte[] b, int off, long v) { put32(b, off, v >>> 32); put32(b, off + 4, v); }

    static byte[] testUnitReady() { return new byte[6]; }

    static byte[] inquiry(boolean evpd, int page, int alloc) {
        byte[] c = of(0x12, evpd ? 1 : 0, page, 0, 0, 0);
        put16(c, 3, alloc);
        return c;
    }

    static byte[] requestSense(boolean desc, int alloc) { return of(0x03, desc ? 1 : 0, 0, 0, alloc, 0); }

    static byte[] reportLuns(int select, long alloc) {
        byte[] c = new byte[12];
        c[0] = (byte) 0xA0;
        c[2] = (byte) select;
        put32(c, 6, alloc);
        return c;
    }

    static byte[] readCapacity10() { return of(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0); }

    static byte[] readCapacity16(long alloc) {
        byte[] c = new byte[16];
        c[0] = (byte) 0x9E;
        c[1] = 0x10;
        put32(c, 10, alloc);
        return c;
    }

    static byte[] modeSense6(int flags, int pcPage, int subpage, int alloc) { return of(0x1A, flags, pcPage, subpage, alloc, 0); }

    static byte[] modeSense10(int flags, int pcPage, int subpage, int alloc) {
        byte[] c = of(0x5A, flags, pcPage, subpage, 0, 0, 0, 0, 0, 0);
        put16(c, 7, alloc);
        return c;
    }

    static byte[] rw6(boolean write, long lba, int blocks) {
        return of(write ? 0x0A : 0x08, (int) (lba >>> 16) & 0x1F, (int) (lba >>> 8) & 0xFF, (int) lba & 0xFF, blocks & 0xFF, 0);
    }

    static byte[] rw10(boolean write, long lba, int blocks) {
        byte[] c = new byte[10];
        c[0] = (byte) (write ? 0x2A : 0x28);
        put32(c, 2, lba);
        put16(c, 7, blocks);
        return c;
    }

    static byte[] rw12(boolean write, long lba, long blocks) {
        byte[] c = new byte[12];
        c[0] = (byte) (write ? 0xAA : 0xA8);
        put32(c, 2, lba);
        put32(c, 6, blocks);
        return c;
    }

    static byte[] rw16(boolean write, long lba, long blocks) {
        byte[] c = new byte[16];
        c[0] = (byte) (write ? 0x8A : 0x88);
        put64(c, 2, lba);
        put32(c, 10, blocks);
        return c;
    }

    static byte[] verify10(int bytchk, long lba, int blocks) {
        byte[] c = new byte[10];
        c[0] = 0x2F;
        c[1] = (byte) (bytchk << 1);
        put32(c, 2, lba);
        put16(c, 7, blocks);
        return c;
    }

    static byte[] verify16(int bytchk, long lba, long blocks) {
        byte[] c = new byte[16];
        c[0] = (byte) 0x8F;
        c[1] = (byte) (bytchk << 1);
        put64(c, 2, lba);
        put32(c, 10, blocks);
        return c;
    }

    static byte[] writeSame10(int flags, long lba, int blocks) {
        byte[] c = new byte[10];
        c[0] = 0x41;
        c[1] = (byte) flags;
        put32(c, 2, lba);
        put16(c, 7, blocks);
        return c;
    }

    static byte[] writeSame16(int flags, long lba, long blocks) {
        byte[] c = new byte[16];
        c[0] = (byte) 0x93;
        c[1] = (byte) flags;
        put64(c, 2, lba);
        put32(c, 10, blocks);
        return c;
    }

    static byte[] unmap(int paramLength) {
        byte[] c = new byte[10];
        c[0] = 0x42;
        put16(c, 7, paramLength);
        return c;
    }

    /** An UNMAP parameter list with the given (lba, blocks) pairs. */
    static byte[] unmapList(long... lbaBlocks) {
        int n = lbaBlocks.length / 2;
        byte[] p = new byte[8 + 16 * n];
        put16(p, 0, p.length - 2);
        put16(p, 2, 16L * n);
        for (int i = 0; i < n; i++) {
            put64(p, 8 + 16 * i, lbaBlocks[2 * i]);
            put32(p, 16 + 16 * i, lbaBlocks[2 * i + 1]);
        }
        return p;
    }

    static byte[] syncCache10(long lba, int blocks) {
        byte[] c = new byte[10];
        c[0] = 0x35;
        put32(c, 2, lba);
        put16(c, 7, blocks);
        return c;
    }

    static byte[] syncCache16(long lba, long blocks) {
        byte[] c = new byte[16];
        c[0] = (byte) 0x91;
        put64(c, 2, lba);
        put32(c, 10, blocks);
        return c;
    }

    static byte[] rsoc(int options, boolean rctd, int opcode, int sa, long alloc) {
        byte[] c = new byte[12];
        c[0] = (byte) 0xA3;
        c[1] = 0x0C;
        c[2] = (byte) ((rctd ? 0x80 : 0) | options);
        c[3] = (byte) opcode;
        put16(c, 4, sa);
        put32(c, 6, alloc);
        return c;
    }

    /** Asserts CHECK CONDITION with fixed-format sense carrying this key and ASC/ASCQ. */
    static void assertCheck(ScsiRig.Result r, int key, int ascAscq) {
        assertEquals(ScsiStatus.CHECK_CONDITION, r.status(), () -> "status of " + r);
        byte[] s = r.sense();
        assertEquals(18, s.length, "fixed sense length");
        assertEquals(0x70, s[0] & 0x7F, "response code");
        assertEquals(10, s[7] & 0xFF, "additional sense length");
        assertEquals(key, s[2] & 0x0F, () -> "sense key of " + r);
        assertEquals(ascAscq, ((s[12] & 0xFF) << 8) | (s[13] & 0xFF), () -> "ASC/ASCQ of " + r);
        assertEquals(0, r.transferred(), "no data with CHECK CONDITION");
    }

    /** Asserts ILLEGAL REQUEST, INVALID FIELD IN CDB with the field pointer at this byte (and bit, when >= 0). */
    static void assertInvalidField(ScsiRig.Result r, int byteIndex, int bit) {
        assertCheck(r, ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
        byte[] s = r.sense();
        int expected = 0x80 | 0x40 | (bit >= 0 ? 0x08 | bit : 0);
        assertEquals(expected, s[15] & 0xFF, "SKSV, C/D, BPV, bit pointer");
        assertEquals(byteIndex, ((s[16] & 0xFF) << 8) | (s[17] & 0xFF), "field pointer");
    }

    /** Asserts ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST pointing at this byte of the list. */
    static void assertInvalidParameter(ScsiRig.Result r, int byteIndex) {
        assertCheck(r, ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_PARAMETER_LIST);
        byte[] s = r.sense();
        assertEquals(0x80, s[15] & 0xFF, "SKSV, C/D = 0 (parameter list)");
        assertEquals(byteIndex, ((s[16] & 0xFF) << 8) | (s[17] & 0xFF), "field pointer");
    }
}
