package io.dsf.frodo.scsi;

import io.dsf.stargate.api.VDisk;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A minimal SCSI block target over a {@link VDisk} (one LUN), enough for Linux's sd driver: TEST
 * UNIT READY, INQUIRY (standard, VPD 0x00 and 0x80), READ CAPACITY(10/16), READ/WRITE(10/16), REPORT
 * LUNS, MODE SENSE(6) (no pages), REQUEST SENSE, SYNCHRONIZE CACHE(10/16); anything else is CHECK
 * CONDITION, ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE. It stands in until stargate's SCSI target
 * (the full command set, shared with iSCSI) replaces it. Used on one request queue's worker thread.
 */
final class StubScsiTarget {
    static final int ILLEGAL_REQUEST = 0x05;
    private final VDisk disk;
    private final MemorySegment out = MemorySegment.ofArray(new byte[64]);

    StubScsiTarget(VDisk disk) {
        this.disk = disk;
    }

    /** Single-level LUN 0 of target 0: {@code 1, 0, 0x40|0, 0, 0...}. */
    static boolean lunOk(MemorySegment s, long at) {
        return s.get(JAVA_BYTE, at) == 1 && s.get(JAVA_BYTE, at + 1) == 0
                && (s.get(JAVA_BYTE, at + 2) & 0x3f) == 0 && s.get(JAVA_BYTE, at + 3) == 0;
    }

    private static long be(ScsiRequest r, int from, int n) {
        long v = 0;
        for (int i = 0; i < n; i++) v = v << 8 | r.cdb(from + i);
        return v;
    }

    private void put(int at, long v, int n) {
        for (int i = n - 1; i >= 0; i--, v >>>= 8) out.set(JAVA_BYTE, at + i, (byte) v);
    }

    void execute(ScsiRequest r) {
        int op = r.cdb(0);
        out.fill((byte) 0);
        long blocks = disk.size() / disk.blockSize();
        switch (op) {
            case 0x00 -> r.good();                                                        // TEST UNIT READY
            case 0x03 -> {                                                                // REQUEST SENSE
                out.set(JAVA_BYTE, 0, (byte) 0x70);
                out.set(JAVA_BYTE, 7, (byte) 10);
                r.dataIn(out, 18, r.cdb(4));
            }
            case 0x12 -> inquiry(r);
            case 0x1a -> {                                                                // MODE SENSE(6)
                out.set(JAVA_BYTE, 0, (byte) 3);
                out.set(JAVA_BYTE, 2, (byte) (disk.readOnly() ? 0x80 : 0));
                r.dataIn(out, 4, r.cdb(4));
            }
            case 0x25 -> {                                                                // READ CAPACITY(10)
                put(0, Math.min(blocks - 1, 0xffffffffL), 4);
                put(4, disk.blockSize(), 4);
                r.dataIn(out, 8, 8);
            }
            case 0x9e -> {                                                                // READ CAPACITY(16)
                if ((r.cdb(1) & 0x1f) != 0x10) { r.checkCondition(ILLEGAL_REQUEST, 0x24, 0); return; }
                put(0, blocks - 1, 8);
                put(8, disk.blockSize(), 4);
                r.dataIn(out, 32, (int) be(r, 10, 4));
            }
            case 0xa0 -> {                                                                // REPORT LUNS
                put(0, 8, 4);
                r.dataIn(out, 16, (int) be(r, 6, 4));
            }
            case 0x28, 0x2a -> rw(r, op == 0x28, be(r, 2, 4), be(r, 7, 2));               // READ/WRITE(10)
            case 0x88, 0x8a -> rw(r, op == 0x88, be(r, 2, 8), be(r, 10, 4));              // READ/WRITE(16)
            case 0x35, 0x91 -> r.flush(disk);                                             // SYNCHRONIZE CACHE
            default -> r.checkCondition(ILLEGAL_REQUEST, 0x20, 0);
        }
    }

    private void inquiry(ScsiRequest r) {
        int alloc = (int) be(r, 3, 2);
        if ((r.cdb(1) & 1) == 0) {
            if (r.cdb(2) != 0) { r.checkCondition(ILLEGAL_REQUEST, 0x24, 0); return; }
            out.set(JAVA_BYTE, 2, (byte) 6);     // SPC-4
            out.set(JAVA_BYTE, 3, (byte) 2);     // response data format
            out.set(JAVA_BYTE, 4, (byte) 31);    // additional length
            out.set(JAVA_BYTE, 7, (byte) 0x02);  // CMDQUE
            text(8, "DSF", 8);
            text(16, "FRODO STUB DISK", 16);
            text(32, "0001", 4);
            r.dataIn(out, 36, alloc);
            return;
        }
        switch (r.cdb(2)) {
            case 0x00 -> {
                out.set(JAVA_BYTE, 3, (byte) 2);
                out.set(JAVA_BYTE, 4, (byte) 0x00);
                out.set(JAVA_BYTE, 5, (byte) 0x80);
                r.dataIn(out, 6, alloc);
            }
            case 0x80 -> {
                out.set(JAVA_BYTE, 1, (byte) 0x80);
                byte[] s = disk.name().getBytes(StandardCharsets.UTF_8);
                int n = Math.min(s.length, 32);
                out.set(JAVA_BYTE, 3, (byte) n);
                MemorySegment.copy(s, 0, out, JAVA_BYTE, 4, n);
                r.dataIn(out, 4 + n, alloc);
            }
            default -> r.checkCondition(ILLEGAL_REQUEST, 0x24, 0);
        }
    }

    private void text(int at, String s, int width) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) out.set(JAVA_BYTE, at + i, i < b.length ? b[i] : (byte) ' ');
    }

    private void rw(ScsiRequest r, boolean read, long lba, long count) {
        long blocks = disk.size() / disk.blockSize();
        if (lba < 0 || count < 0 || lba > blocks || count > blocks - lba) { r.checkCondition(ILLEGAL_REQUEST, 0x21, 0); return; }
        if (count == 0) { r.good(); return; }
        long len = count * disk.blockSize();
        if (!read && disk.readOnly()) { r.checkCondition(0x07, 0x27, 0); return; }
        if ((read ? r.dataInLength() : r.dataOutLength()) < len || (read ? r.dataOutLength() : r.dataInLength()) > 0) {
            r.checkCondition(ILLEGAL_REQUEST, 0x24, 0); // buffers do not match the transfer
            return;
        }
        if (!r.dataIo(disk, read, lba * disk.blockSize(), len)) r.checkCondition(ILLEGAL_REQUEST, 0x24, 0);
    }
}
