package io.dsf.stargate.scsi;

import java.util.HexFormat;

/**
 * The commands this target executes, each with its CDB usage map (SPC-4 §6.35.3: the operation
 * code, the service action where there is one, then a mask of every CDB bit the command uses). The
 * same table answers REPORT SUPPORTED OPERATION CODES and checks incoming CDBs: a bit set outside
 * the map (a reserved bit, an unsupported protection field, NACA or LINK in the control byte) is an
 * INVALID FIELD IN CDB pointing at that bit. Immutable; thread safe.
 */
final class CommandTable {
    static final int TEST_UNIT_READY = 0x00;
    static final int REQUEST_SENSE = 0x03;
    static final int READ_6 = 0x08;
    static final int WRITE_6 = 0x0A;
    static final int INQUIRY = 0x12;
    static final int MODE_SENSE_6 = 0x1A;
    static final int READ_CAPACITY_10 = 0x25;
    static final int READ_10 = 0x28;
    static final int WRITE_10 = 0x2A;
    static final int VERIFY_10 = 0x2F;
    static final int SYNCHRONIZE_CACHE_10 = 0x35;
    static final int WRITE_SAME_10 = 0x41;
    static final int UNMAP = 0x42;
    static final int MODE_SENSE_10 = 0x5A;
    static final int READ_16 = 0x88;
    static final int WRITE_16 = 0x8A;
    static final int VERIFY_16 = 0x8F;
    static final int SYNCHRONIZE_CACHE_16 = 0x91;
    static final int WRITE_SAME_16 = 0x93;
    static final int SERVICE_ACTION_IN_16 = 0x9E;
    static final int REPORT_LUNS = 0xA0;
    static final int MAINTENANCE_IN = 0xA3;
    static final int READ_12 = 0xA8;
    static final int WRITE_12 = 0xAA;
    static final int VERIFY_12 = 0xAF;

    static final int SA_READ_CAPACITY_16 = 0x10;
    static final int SA_REPORT_SUPPORTED_OPERATION_CODES = 0x0C;

    /** One supported command: what REPORT SUPPORTED OPERATION CODES says about it. */
    record Entry(int opcode, int serviceAction, String name, byte[] usage, byte[] allowed) {
        int cdbLength() { return usage.length; }
        boolean hasServiceAction() { return serviceAction >= 0; }
    }

    /** Every supported command, ordered by operation code then service action. */
    static final Entry[] ALL = {
        e(TEST_UNIT_READY, -1, "TEST UNIT READY", "00 00 00 00 00 00"),
        e(REQUEST_SENSE, -1, "REQUEST SENSE", "03 01 00 00 FF 00"),
        e(READ_6, -1, "READ(6)", "08 1F FF FF FF 00"),
        e(WRITE_6, -1, "WRITE(6)", "0A 1F FF FF FF 00"),
        e(INQUIRY, -1, "INQUIRY", "12 01 FF FF FF 00"),
        e(MODE_SENSE_6, -1, "MODE SENSE(6)", "1A 08 FF FF FF 00"),
        e(READ_CAPACITY_10, -1, "READ CAPACITY(10)", "25 00 FF FF FF FF 00 00 01 00"),
        e(READ_10, -1, "READ(10)", "28 18 FF FF FF FF 1F FF FF 00"),
        e(WRITE_10, -1, "WRITE(10)", "2A 18 FF FF FF FF 1F FF FF 00"),
        e(VERIFY_10, -1, "VERIFY(10)", "2F 16 FF FF FF FF 1F FF FF 00"),
        e(SYNCHRONIZE_CACHE_10, -1, "SYNCHRONIZE CACHE(10)", "35 02 FF FF FF FF 1F FF FF 00"),
        e(WRITE_SAME_10, -1, "WRITE SAME(10)", "41 08 FF FF FF FF 1F FF FF 00"),
        e(UNMAP, -1, "UNMAP", "42 00 00 00 00 00 1F FF FF 00"),
        e(MODE_SENSE_10, -1, "MODE SENSE(10)", "5A 18 FF FF 00 00 00 FF FF 00"),
        e(READ_16, -1, "READ(16)", "88 18 FF FF FF FF FF FF FF FF FF FF FF FF 1F 00"),
        e(WRITE_16, -1, "WRITE(16)", "8A 18 FF FF FF FF FF FF FF FF FF FF FF FF 1F 00"),
        e(VERIFY_16, -1, "VERIFY(16)", "8F 16 FF FF FF FF FF FF FF FF FF FF FF FF 1F 00"),
        e(SYNCHRONIZE_CACHE_16, -1, "SYNCHRONIZE CACHE(16)", "91 02 FF FF FF FF FF FF FF FF FF FF FF FF 1F 00"),
        e(WRITE_SAME_16, -1, "WRITE SAME(16)", "93 09 FF FF FF FF FF FF FF FF FF FF FF FF 1F 00"),
        e(SERVICE_ACTION_IN_16, SA_READ_CAPACITY_16, "READ CAPACITY(16)", "9E 10 FF FF FF FF FF FF FF FF FF FF FF FF 01 00"),
        e(REPORT_LUNS, -1, "REPORT LUNS", "A0 00 FF 00 00 00 FF FF FF FF 00 00"),
        e(MAINTENANCE_IN, SA_REPORT_SUPPORTED_OPERATION_CODES, "REPORT SUPPORTED OPERATION CODES", "A3 0C 87 FF FF FF FF FF FF FF 00 00"),
        e(READ_12, -1, "READ(12)", "A8 18 FF FF FF FF FF FF FF FF 1F 00"),
        e(WRITE_12, -1, "WRITE(12)", "AA 18 FF FF FF FF FF FF FF FF 1F 00"),
        e(VERIFY_12, -1, "VERIFY(12)", "AF 16 FF FF FF FF FF FF FF FF 1F 00"),
    };

    /** The entry of an opcode without service actions; for service-action opcodes, any entry of it. */
    private static final Entry[] BY_OPCODE = new Entry[256];

    static {
        for (Entry x : ALL) if (BY_OPCODE[x.opcode] == null) BY_OPCODE[x.opcode] = x;
    }

    private CommandTable() {}

    private static Entry e(int opcode, int sa, String name, String usageHex) {
        byte[] usage = HexFormat.ofDelimiter(" ").parseHex(usageHex);
        byte[] allowed = usage.clone();
        allowed[0] = (byte) 0xFF;
        if (sa >= 0) allowed[1] = (byte) ((allowed[1] & 0xE0) | 0x1F);
        return new Entry(opcode, sa, name, usage, allowed);
    }

    /** True when the opcode is known here and carries a service action in CDB byte 1. */
    static boolean hasServiceActions(int opcode) {
        Entry x = BY_OPCODE[opcode & 0xFF];
        return x != null && x.hasServiceAction();
    }

    /** Any entry for this opcode, or null when the opcode is not supported. */
    static Entry byOpcode(int opcode) { return BY_OPCODE[opcode & 0xFF]; }

    /** The entry for an opcode and service action (ignored for opcodes without one), or null. */
    static Entry find(int opcode, int serviceAction) {
        Entry x = BY_OPCODE[opcode & 0xFF];
        if (x == null || !x.hasServiceAction()) return x;
        for (Entry y : ALL) if (y.opcode == (opcode & 0xFF) && y.serviceAction == serviceAction) return y;
        return null;
    }

    /**
     * The first CDB bit set outside the entry's usage map, as {@code byteIndex << 3 | bit}, or -1
     * when every set bit is one the command uses.
     */
    static int firstUnusedBit(Entry x, byte[] cdb) {
        byte[] allowed = x.allowed;
        for (int i = 1; i < allowed.length; i++) {
            int extra = cdb[i] & ~allowed[i] & 0xFF;
            if (extra != 0) return (i << 3) | (31 - Integer.numberOfLeadingZeros(extra));
        }
        return -1;
    }
}
