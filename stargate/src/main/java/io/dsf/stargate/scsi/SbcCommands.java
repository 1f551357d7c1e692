package io.dsf.stargate.scsi;

import java.util.Arrays;

/**
 * The SBC-3 commands: READ CAPACITY(10/16), READ/WRITE(6/10/12/16), VERIFY(10/12/16), WRITE
 * SAME(10/16), UNMAP and SYNCHRONIZE CACHE(10/16). Each validates its CDB (transfer limits, LBA
 * range, write protection, buffer sizes) and either completes at once or starts a block job on the
 * task. Stateless; runs on the thread executing the command.
 */
final class SbcCommands {
    private SbcCommands() {}

    // ---------------------------------------------------------------- READ CAPACITY

    static void readCapacity10(ScsiTask t, ScsiLun lun) {
        byte[] c = t.cdb;
        // SBC-2: with PMI 0 the LOGICAL BLOCK ADDRESS field must be 0 (obsolete in SBC-3; kept as LIO and libiscsi do)
        if ((c[8] & 0x01) == 0 && Cdb.u32(c, 2) != 0) { t.failCdbField(2, -1); return; }
        long last = lun.blocks() - 1;
        byte[] b = t.scratch;
        Cdb.put32(b, 0, Math.min(last, 0xFFFF_FFFFL)); // FFFFFFFFh: too big, use READ CAPACITY(16)
        Cdb.put32(b, 4, lun.blockSize());
        t.dataInAndFinish(8, 8);
    }

    static void readCapacity16(ScsiTask t, ScsiLun lun) {
        byte[] c = t.cdb;
        if ((c[14] & 0x01) == 0 && Cdb.u64(c, 2) != 0) { t.failCdbField(2, -1); return; }
        long alloc = Cdb.u32(c, 10);
        byte[] b = t.scratch;
        Arrays.fill(b, 0, 32, (byte) 0);
        Cdb.put64(b, 0, lun.blocks() - 1);
        Cdb.put32(b, 8, lun.blockSize());
        b[14] = (byte) 0xC0; // LBPME (thin provisioned), LBPRZ (unmapped blocks read as zeros); lowest aligned LBA 0
        t.dataInAndFinish(32, alloc);
    }

    // ---------------------------------------------------------------- READ / WRITE

    static void readWrite(ScsiTarget target, ScsiTask t, ScsiLun lun, int op) {
        byte[] c = t.cdb;
        long lba, blocks;
        int lengthField;
        switch (op) {
            case CommandTable.READ_6, CommandTable.WRITE_6 -> {
                lba = Cdb.u24(c, 1) & 0x1F_FFFF;
                blocks = c[4] == 0 ? 256 : c[4] & 0xFF; // SBC-3 §5.15: 0 means 256 blocks
                lengthField = 4;
            }
            case CommandTable.READ_10, CommandTable.WRITE_10 -> {
                lba = Cdb.u32(c, 2);
                blocks = Cdb.u16(c, 7);
                lengthField = 7;
            }
            case CommandTable.READ_12, CommandTable.WRITE_12 -> {
                lba = Cdb.u32(c, 2);
                blocks = Cdb.u32(c, 6);
                lengthField = 6;
            }
            default -> {
                lba = Cdb.u64(c, 2);
                blocks = Cdb.u32(c, 10);
                lengthField = 10;
            }
        }
        boolean write = op == CommandTable.WRITE_6 || op == CommandTable.WRITE_10 || op == CommandTable.WRITE_12 || op == CommandTable.WRITE_16;
        if (blocks > target.config().maxTransferBlocks()) { t.failCdbField(lengthField, -1); return; }
        if (!Cdb.inRange(lba, blocks, lun.blocks())) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE); return; }
        if (write && lun.disk().readOnly()) { t.fail(ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED); return; }
        if (blocks == 0) { t.good(0); return; }
        int shift = lun.blockShift();
        long bytes = blocks << shift;
        if (write) {
            // the data-out buffer must hold what the CDB says is written (LIO rejects the same way)
            if (t.outCapacity() < bytes) { t.failCdbField(lengthField, -1); return; }
            t.startTransfer(lun, ScsiTask.J_WRITE, lba << shift, bytes, bytes, bytes);
        } else {
            // a short data-in buffer gets what fits (the residual says how much is missing)
            long data = Math.min(bytes, t.inCapacity());
            if (data == 0) { t.good(0); return; }
            long disk = (data + lun.blockSize() - 1) >>> shift << shift;
            t.startTransfer(lun, ScsiTask.J_READ, lba << shift, disk, data, data);
        }
    }

    // ---------------------------------------------------------------- VERIFY

    static void verify(ScsiTarget target, ScsiTask t, ScsiLun lun, int op) {
        byte[] c = t.cdb;
        int bytchk = (c[1] >>> 1) & 0x03;
        long lba, blocks;
        int lengthField;
        switch (op) {
            case CommandTable.VERIFY_10 -> { lba = Cdb.u32(c, 2); blocks = Cdb.u16(c, 7); lengthField = 7; }
            case CommandTable.VERIFY_12 -> { lba = Cdb.u32(c, 2); blocks = Cdb.u32(c, 6); lengthField = 6; }
            default -> { lba = Cdb.u64(c, 2); blocks = Cdb.u32(c, 10); lengthField = 10; }
        }
        if (bytchk == 2) { t.failCdbField(1, 2); return; } // reserved BYTCHK value
        if (blocks > target.config().maxTransferBlocks()) { t.failCdbField(lengthField, -1); return; }
        if (!Cdb.inRange(lba, blocks, lun.blocks())) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE); return; }
        if (blocks == 0) { t.good(0); return; }
        int shift = lun.blockShift();
        long bytes = blocks << shift;
        switch (bytchk) {
            case 0 -> t.startTransfer(lun, ScsiTask.J_VERIFY, lba << shift, bytes, 0, 0); // medium check: read it all
            case 1 -> {
                if (t.outCapacity() < bytes) { t.failCdbField(lengthField, -1); return; }
                t.startTransfer(lun, ScsiTask.J_COMPARE, lba << shift, bytes, bytes, bytes);
            }
            default -> { // 11b: one block of data-out compared with every block of the range
                if (t.outCapacity() < lun.blockSize()) { t.failCdbField(1, 2); return; }
                t.startTransfer(lun, ScsiTask.J_COMPARE_SAME, lba << shift, bytes, lun.blockSize(), lun.blockSize());
            }
        }
    }

    // ---------------------------------------------------------------- WRITE SAME

    static void writeSame(ScsiTarget target, ScsiTask t, ScsiLun lun, int op) {
        byte[] c = t.cdb;
        boolean ten = op == CommandTable.WRITE_SAME_10;
        boolean unmap = (c[1] & 0x08) != 0;
        boolean ndob = !ten && (c[1] & 0x01) != 0; // no data-out buffer: the block is zeros
        long lba = ten ? Cdb.u32(c, 2) : Cdb.u64(c, 2);
        long blocks = ten ? Cdb.u16(c, 7) : Cdb.u32(c, 10);
        int lengthField = ten ? 7 : 10;
        if (blocks == 0 || blocks > target.config().maxWriteSameBlocks()) { t.failCdbField(lengthField, -1); return; } // WSNZ = 1
        if (!Cdb.inRange(lba, blocks, lun.blocks())) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE); return; }
        if (lun.disk().readOnly()) { t.fail(ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED); return; }
        int bs = lun.blockSize();
        if (!ndob && t.outCapacity() < bs) { t.failCdbField(lengthField, -1); return; }
        int shift = lun.blockShift();
        long consumed = ndob ? 0 : bs;
        if (ndob || t.scatterIsZero(0, bs)) {
            // zeros: with UNMAP the range is deallocated (LBPRZ: it reads as zeros), else it is made to read as zeros
            t.startSingle(lun, unmap ? ScsiTask.OP_UNMAP : ScsiTask.OP_ZEROES, lba << shift, blocks << shift, consumed);
        } else {
            t.startTransfer(lun, ScsiTask.J_WRITE_SAME, lba << shift, blocks << shift, bs, consumed);
        }
    }

    // ---------------------------------------------------------------- UNMAP

    static void unmap(ScsiTarget target, ScsiTask t, ScsiLun lun) {
        byte[] c = t.cdb;
        int paramLength = Cdb.u16(c, 7);
        if (lun.disk().readOnly()) { t.fail(ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED); return; }
        if (paramLength == 0) { t.good(0); return; }
        if (paramLength < 8 || t.outCapacity() < paramLength) {
            t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.PARAMETER_LIST_LENGTH_ERROR);
            return;
        }
        byte[] s = t.scratch;
        t.dataOutToScratch(0, 0, 8);
        int descriptorBytes = Cdb.u16(s, 2);
        if (descriptorBytes > paramLength - 8) { t.failParameterField(2); return; }
        int count = descriptorBytes / 16; // an incomplete last descriptor is ignored (SBC-3 §5.28.2)
        ScsiTargetConfig cfg = target.config();
        if (count > cfg.maxUnmapDescriptors()) { t.failParameterField(2); return; }
        if (count == 0) { t.good(paramLength); return; }
        t.dataOutToScratch(8, 8, count * 16);
        long capacity = lun.blocks();
        for (int i = 0; i < count; i++) {
            int p = 8 + 16 * i;
            long lba = Cdb.u64(s, p);
            long blocks = Cdb.u32(s, p + 8);
            if (blocks > cfg.maxUnmapBlocks()) { t.failParameterField(p + 8); return; }
            if (!Cdb.inRange(lba, blocks, capacity)) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE); return; }
        }
        t.startUnmapList(lun, count, paramLength);
    }

    // ---------------------------------------------------------------- SYNCHRONIZE CACHE

    static void synchronizeCache(ScsiTask t, ScsiLun lun, int op) {
        byte[] c = t.cdb;
        boolean ten = op == CommandTable.SYNCHRONIZE_CACHE_10;
        long lba = ten ? Cdb.u32(c, 2) : Cdb.u64(c, 2);
        long blocks = ten ? Cdb.u16(c, 7) : Cdb.u32(c, 10); // 0: through the last block
        if (!Cdb.inRange(lba, blocks, lun.blocks())) { t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE); return; }
        // IMMED is accepted and ignored: GOOD is returned only once the flush completed
        t.startSingle(lun, ScsiTask.OP_FLUSH, 0, 0, 0);
    }
}
