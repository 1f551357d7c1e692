package io.dsf.stargate.scsi;

import java.util.Arrays;

/**
 * The SPC-4 commands that describe the target rather than move blocks: INQUIRY (standard data and
 * VPD pages 00h, 80h, 83h, B0h, B1h, B2h), REQUEST SENSE, REPORT LUNS, MODE SENSE(6/10) (caching,
 * control, all pages) and REPORT SUPPORTED OPERATION CODES. Each builds its data in the task's
 * scratch area and copies it out truncated to the allocation length and the buffer. Stateless;
 * runs on the thread executing the command.
 */
final class SpcCommands {
    static final int INQUIRY_STANDARD_LENGTH = 96;
    private static final int[] NO_LUNS = {};
    static final int[] VPD_PAGES = {0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2};

    private SpcCommands() {}

    // ---------------------------------------------------------------- INQUIRY

    static void inquiry(ScsiTarget target, ScsiTask t, ScsiLun lun) {
        byte[] c = t.cdb;
        boolean evpd = (c[1] & 0x01) != 0;
        int page = c[2] & 0xFF;
        int alloc = Cdb.u16(c, 3);
        byte[] b = t.scratch;
        if (!evpd) {
            if (page != 0) { t.failCdbField(2, -1); return; }
            ScsiTargetConfig cfg = target.config();
            Arrays.fill(b, 0, INQUIRY_STANDARD_LENGTH, (byte) 0);
            b[0] = (byte) (lun == null ? 0x7F : 0x00);  // PQ 011b + type 1Fh: no LU here; else PQ 0, direct access block device
            b[2] = 0x06;                                  // VERSION: SPC-4
            b[3] = 0x12;                                  // HISUP, RESPONSE DATA FORMAT 2
            b[4] = (byte) (INQUIRY_STANDARD_LENGTH - 5);  // ADDITIONAL LENGTH
            b[7] = 0x02;                                  // CMDQUE
            Cdb.putAscii(b, 8, cfg.vendor(), 8);
            Cdb.putAscii(b, 16, cfg.product(), 16);
            Cdb.putAscii(b, 32, cfg.revision(), 4);
            Cdb.put16(b, 58, 0x00A0);                     // version descriptors: SAM-5, SPC-4, SBC-3
            Cdb.put16(b, 60, 0x0460);
            Cdb.put16(b, 62, 0x04C0);
            t.dataInAndFinish(INQUIRY_STANDARD_LENGTH, alloc);
            return;
        }
        if (lun == null) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED); return; }
        int len = switch (page) {
            case 0x00 -> vpdSupportedPages(b);
            case 0x80 -> vpdUnitSerial(b, lun);
            case 0x83 -> vpdDeviceIdentification(b, lun);
            case 0xB0 -> vpdBlockLimits(b, lun, target.config());
            case 0xB1 -> vpdBlockDeviceCharacteristics(b);
            case 0xB2 -> vpdLogicalBlockProvisioning(b, lun);
            default -> -1;
        };
        if (len < 0) { t.failCdbField(2, -1); return; }
        t.dataInAndFinish(len, alloc);
    }

    private static int vpdHeader(byte[] b, int page, int length) {
        Arrays.fill(b, 0, length, (byte) 0);
        b[0] = 0x00; // PQ 0, direct access block device
        b[1] = (byte) page;
        Cdb.put16(b, 2, length - 4);
        return length;
    }

    private static int vpdSupportedPages(byte[] b) {
        vpdHeader(b, 0x00, 4 + VPD_PAGES.length);
        for (int i = 0; i < VPD_PAGES.length; i++) b[4 + i] = (byte) VPD_PAGES[i];
        return 4 + VPD_PAGES.length;
    }

    private static int vpdUnitSerial(byte[] b, ScsiLun lun) {
        int n = lun.serial.length;
        vpdHeader(b, 0x80, 4 + n);
        System.arraycopy(lun.serial, 0, b, 4, n);
        return 4 + n;
    }

    private static int vpdDeviceIdentification(byte[] b, ScsiLun lun) {
        int t10 = lun.t10Designator.length;
        int len = 4 + (4 + 8) + (4 + t10);
        vpdHeader(b, 0x83, len);
        int p = 4;
        b[p] = 0x01;          // protocol 0, code set 1: binary
        b[p + 1] = 0x03;      // PIV 0, association 00b: the logical unit, designator type 3: NAA
        b[p + 3] = 8;
        Cdb.put64(b, p + 4, lun.naa);
        p += 12;
        b[p] = 0x02;          // code set 2: ASCII
        b[p + 1] = 0x01;      // association: the logical unit, designator type 1: T10 vendor ID based
        b[p + 3] = (byte) t10;
        System.arraycopy(lun.t10Designator, 0, b, p + 4, t10);
        return len;
    }

    private static int vpdBlockLimits(byte[] b, ScsiLun lun, ScsiTargetConfig cfg) {
        vpdHeader(b, 0xB0, 64);
        boolean ro = lun.disk().readOnly();
        b[4] = 0x01;                                       // WSNZ: WRITE SAME with 0 blocks is refused
        Cdb.put16(b, 6, 1);                                // OPTIMAL TRANSFER LENGTH GRANULARITY: one block
        Cdb.put32(b, 8, cfg.maxTransferBlocks());          // MAXIMUM TRANSFER LENGTH
        long optimal = Math.min(lun.disk().maxTransfer() / lun.blockSize(), cfg.maxTransferBlocks());
        Cdb.put32(b, 12, optimal);                         // OPTIMAL TRANSFER LENGTH: one vDisk request
        if (!ro) {
            Cdb.put32(b, 20, cfg.maxUnmapBlocks());        // MAXIMUM UNMAP LBA COUNT
            Cdb.put32(b, 24, cfg.maxUnmapDescriptors());   // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
        }
        Cdb.put32(b, 28, 1);                               // OPTIMAL UNMAP GRANULARITY: one block
        Cdb.put32(b, 32, 0x8000_0000L);                    // UGAVALID, UNMAP GRANULARITY ALIGNMENT 0
        Cdb.put64(b, 36, cfg.maxWriteSameBlocks());        // MAXIMUM WRITE SAME LENGTH
        return 64;
    }

    private static int vpdBlockDeviceCharacteristics(byte[] b) {
        vpdHeader(b, 0xB1, 64);
        Cdb.put16(b, 4, 0x0001);                           // MEDIUM ROTATION RATE: non-rotating medium
        return 64;
    }

    private static int vpdLogicalBlockProvisioning(byte[] b, ScsiLun lun) {
        vpdHeader(b, 0xB2, 8);
        // LBPU (UNMAP), LBPWS (WRITE SAME(16) with UNMAP), LBPWS10; LBPRZ 001b: unmapped blocks read as zeros
        b[5] = (byte) ((lun.disk().readOnly() ? 0 : 0xE0) | 0x04);
        b[6] = 0x02;                                       // PROVISIONING TYPE: thin
        return 8;
    }

    // ---------------------------------------------------------------- REQUEST SENSE

    static void requestSense(ScsiTask t, ScsiLun lun) {
        byte[] c = t.cdb;
        boolean desc = (c[1] & 0x01) != 0;
        int alloc = c[4] & 0xFF;
        int key, asc;
        if (lun == null) {
            key = ScsiSense.ILLEGAL_REQUEST;
            asc = ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED;
        } else {
            asc = ScsiTarget.takeUnitAttention(t, lun);
            key = asc >= 0 ? ScsiSense.UNIT_ATTENTION : ScsiSense.NO_SENSE;
            if (asc < 0) asc = ScsiSense.NO_ADDITIONAL_SENSE;
        }
        int n = desc ? ScsiSense.writeDescriptor(t.scratch, key, asc, false, 0, ScsiSense.NO_SKS)
                     : ScsiSense.writeFixed(t.scratch, key, asc, false, 0, ScsiSense.NO_SKS);
        t.dataInAndFinish(n, alloc);
    }

    // ---------------------------------------------------------------- REPORT LUNS

    static void reportLuns(ScsiTarget target, ScsiTask t) {
        byte[] c = t.cdb;
        int select = c[2] & 0xFF;
        long alloc = Cdb.u32(c, 6);
        int[] list;
        switch (select) {
            case 0x00, 0x02 -> list = target.lunList();        // all logical units (no well-known ones exist)
            case 0x01, 0x10, 0x11, 0x12 -> list = NO_LUNS;      // well-known / administrative: none here
            default -> { t.failCdbField(2, -1); return; }
        }
        t.nexus.takeLunsChanged(); // REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED (SPC-4 §6.33)
        long total = 8 + 8L * list.length;
        long limit = Math.min(Math.min(alloc, t.inCapacity()), total);
        byte[] b = t.scratch;
        Arrays.fill(b, 0, 8, (byte) 0);
        Cdb.put32(b, 0, 8L * list.length);
        int fill = 8;
        long at = 0;
        for (int i = 0; i <= list.length && at < limit; i++) {
            if (i < list.length) {
                Cdb.put64(b, fill, ScsiLunAddress.encode(list[i]));
                fill += 8;
            }
            if (fill == ScsiTask.SCRATCH_SIZE || i == list.length) {
                long n = Math.min(fill, limit - at);
                t.copyToScatter(t.scratchSegment, 0, at, n);
                at += n;
                fill = 0;
            }
        }
        t.good(limit);
    }

    // ---------------------------------------------------------------- MODE SENSE

    static void modeSense(ScsiTask t, ScsiLun lun, int op) {
        byte[] c = t.cdb;
        boolean ten = op == CommandTable.MODE_SENSE_10;
        boolean dbd = (c[1] & 0x08) != 0;
        boolean llbaa = ten && (c[1] & 0x10) != 0;
        int pc = (c[2] >>> 6) & 3;
        int page = c[2] & 0x3F;
        int subpage = c[3] & 0xFF;
        int alloc = ten ? Cdb.u16(c, 7) : c[4] & 0xFF;
        if (pc == 3) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.SAVING_PARAMETERS_NOT_SUPPORTED); return; }
        boolean all = page == 0x3F;
        if (!all && page != 0x08 && page != 0x0A) { t.failCdbField(2, 5); return; }
        if (subpage != 0x00 && subpage != 0xFF) { t.failCdbField(3, -1); return; }
        boolean changeable = pc == 1;
        byte[] b = t.scratch;
        int header = ten ? 8 : 4;
        Arrays.fill(b, 0, 256, (byte) 0);
        int p = header;
        int blockDescriptorLength = 0;
        long blocks = lun.blocks();
        if (!dbd) {
            if (llbaa) {                           // long LBA block descriptor
                Cdb.put64(b, p, blocks);
                Cdb.put32(b, p + 12, lun.blockSize());
                blockDescriptorLength = 16;
            } else {                               // short LBA block descriptor
                Cdb.put32(b, p, Math.min(blocks, 0xFFFF_FFFFL));
                b[p + 5] = (byte) (lun.blockSize() >>> 16);
                b[p + 6] = (byte) (lun.blockSize() >>> 8);
                b[p + 7] = (byte) lun.blockSize();
                blockDescriptorLength = 8;
            }
            p += blockDescriptorLength;
        }
        if (page == 0x08 || all) {                 // caching: WCE 0 (no volatile write cache: an acknowledged write is durable), RCD 0
            b[p] = 0x08;
            b[p + 1] = 0x12;
            p += 20;
        }
        if (page == 0x0A || all) {                 // control: fixed-format sense, QUEUE ALGORITHM MODIFIER 1 (unrestricted)
            b[p] = 0x0A;
            b[p + 1] = 0x0A;
            if (!changeable) {
                b[p + 3] = 0x10;
                b[p + 8] = (byte) 0xFF;            // BUSY TIMEOUT PERIOD: unlimited
                b[p + 9] = (byte) 0xFF;
            }
            p += 12;
        }
        int deviceSpecific = (lun.disk().readOnly() ? 0x80 : 0) | 0x10; // WP, DPOFUA
        if (ten) {
            Cdb.put16(b, 0, p - 2);
            b[3] = (byte) deviceSpecific;
            b[4] = (byte) (blockDescriptorLength == 16 ? 0x01 : 0x00); // LONGLBA
            Cdb.put16(b, 6, blockDescriptorLength);
        } else {
            b[0] = (byte) (p - 1);
            b[2] = (byte) deviceSpecific;
            b[3] = (byte) blockDescriptorLength;
        }
        t.dataInAndFinish(p, alloc);
    }

    // ---------------------------------------------------------------- REPORT SUPPORTED OPERATION CODES

    static final int TIMEOUT_DESCRIPTOR_LENGTH = 12;
    static final int RECOMMENDED_TIMEOUT_SECONDS = 30;

    static void reportSupportedOperationCodes(ScsiTask t) {
        byte[] c = t.cdb;
        boolean rctd = (c[2] & 0x80) != 0;
        int options = c[2] & 0x07;
        int opcode = c[3] & 0xFF;
        int sa = Cdb.u16(c, 4);
        long alloc = Cdb.u32(c, 6);
        byte[] b = t.scratch;
        int n;
        switch (options) {
            case 0 -> n = allCommands(b, rctd);
            case 1 -> {
                if (CommandTable.hasServiceActions(opcode)) { t.failCdbField(2, 2); return; }
                n = oneCommand(b, CommandTable.byOpcode(opcode), rctd);
            }
            case 2 -> {
                CommandTable.Entry any = CommandTable.byOpcode(opcode);
                if (any != null && !any.hasServiceAction()) { t.failCdbField(2, 2); return; }
                n = oneCommand(b, any == null ? null : CommandTable.find(opcode, sa), rctd);
            }
            case 3 -> n = oneCommand(b, CommandTable.find(opcode, sa), rctd);
            default -> { t.failCdbField(2, 2); return; }
        }
        t.dataInAndFinish(n, alloc);
    }

    private static int allCommands(byte[] b, boolean rctd) {
        int p = 4;
        for (CommandTable.Entry e : CommandTable.ALL) {
            Arrays.fill(b, p, p + 8, (byte) 0);
            b[p] = (byte) e.opcode();
            Cdb.put16(b, p + 2, e.hasServiceAction() ? e.serviceAction() : 0);
            b[p + 5] = (byte) ((rctd ? 0x02 : 0) | (e.hasServiceAction() ? 0x01 : 0)); // CTDP, SERVACTV
            Cdb.put16(b, p + 6, e.cdbLength());
            p += 8;
            if (rctd) p = timeouts(b, p);
        }
        Cdb.put32(b, 0, p - 4);
        return p;
    }

    private static int oneCommand(byte[] b, CommandTable.Entry e, boolean rctd) {
        Arrays.fill(b, 0, 4, (byte) 0);
        if (e == null) {
            b[1] = 0x01; // SUPPORT 001b: not supported
            return 4;
        }
        b[1] = (byte) ((rctd ? 0x80 : 0) | 0x03); // CTDP, SUPPORT 011b: supported in conformance with a standard
        Cdb.put16(b, 2, e.cdbLength());
        System.arraycopy(e.usage(), 0, b, 4, e.cdbLength());
        int p = 4 + e.cdbLength();
        return rctd ? timeouts(b, p) : p;
    }

    private static int timeouts(byte[] b, int p) {
        Arrays.fill(b, p, p + TIMEOUT_DESCRIPTOR_LENGTH, (byte) 0);
        Cdb.put16(b, p, 0x0A);                                  // DESCRIPTOR LENGTH
        Cdb.put32(b, p + 4, 0);                                  // NOMINAL COMMAND PROCESSING TIMEOUT: not specified
        Cdb.put32(b, p + 8, RECOMMENDED_TIMEOUT_SECONDS);        // RECOMMENDED COMMAND TIMEOUT
        return p + TIMEOUT_DESCRIPTOR_LENGTH;
    }
}
