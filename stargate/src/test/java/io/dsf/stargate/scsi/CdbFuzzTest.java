package io.dsf.stargate.scsi;

import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Random CDBs of random lengths for every opcode, with random buffers, directions and vDisk faults:
 * never an exception, always exactly one completion with GOOD, TASK SET FULL or CHECK CONDITION with
 * valid fixed-format sense; data-out buffers are never written, nothing outside the buffers is
 * touched, and a command that succeeds writes nothing past its reported transfer.
 */
class CdbFuzzTest {
    private static final Set<Integer> KEYS = Set.of(ScsiSense.NOT_READY, ScsiSense.MEDIUM_ERROR, ScsiSense.HARDWARE_ERROR,
            ScsiSense.ILLEGAL_REQUEST, ScsiSense.UNIT_ATTENTION, ScsiSense.DATA_PROTECT, ScsiSense.ABORTED_COMMAND, ScsiSense.MISCOMPARE);
    private static final Set<Integer> ASCS = Set.of(ScsiSense.NO_ADDITIONAL_SENSE, ScsiSense.LOGICAL_UNIT_NOT_READY,
            ScsiSense.UNRECOVERED_READ_ERROR, ScsiSense.PARAMETER_LIST_LENGTH_ERROR, ScsiSense.MISCOMPARE_DURING_VERIFY,
            ScsiSense.INVALID_COMMAND_OPERATION_CODE, ScsiSense.LBA_OUT_OF_RANGE, ScsiSense.INVALID_FIELD_IN_CDB,
            ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED, ScsiSense.INVALID_FIELD_IN_PARAMETER_LIST, ScsiSense.WRITE_PROTECTED,
            ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT, ScsiSense.SAVING_PARAMETERS_NOT_SUPPORTED,
            ScsiSense.INTERNAL_TARGET_FAILURE);
    private static final int[] FAULTS = {VDiskStatus.NO_SPACE, VDiskStatus.MEDIUM_ERROR, VDiskStatus.IO_ERROR,
            VDiskStatus.BUSY, VDiskStatus.CLOSED, VDiskStatus.ABORTED, VDiskStatus.READ_ONLY};

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void randomCdbs() {
        int iterations = Boolean.getBoolean("dsf.long") ? 1_000_000 : 25_000;
        Random rnd = new Random(Long.getLong("dsf.seed", 20240601L));
        try (ScsiRig rig = new ScsiRig(ScsiTargetConfig.defaults().withBounce(4 * 4096, 2).withLimits(64, 64, 64, 8))) {
            ScriptedVDisk disk = new ScriptedVDisk("fuzz", 128 * 4096, 8192, false);
            ScriptedVDisk ro = new ScriptedVDisk("fuzz-ro", 64 * 4096, 8192, true);
            rig.attach(0, disk);
            rig.attach(1, ro);
            long[] sizes = {1, 7, 512, 4096, 4096, 8192, 3 * 4096 + 5, 40960};
            List<MemorySegment> pool = new ArrayList<>();
            for (long s : sizes) pool.add(rig.buffer(s, (byte) 0));
            int[] statuses = new int[256];
            java.util.TreeMap<String, Integer> senses = new java.util.TreeMap<>();
            for (int it = 0; it < iterations; it++) {
                byte[] cdb = randomCdb(rnd);
                int lun = rnd.nextInt(10) < 8 ? 0 : rnd.nextInt(3) - 1 + (rnd.nextBoolean() ? 1 : 0);
                int dir = rnd.nextInt(5) < 3 ? naturalDirection(cdb[0] & 0xFF) : rnd.nextInt(3);
                int nseg = rnd.nextInt(4);
                MemorySegment[] segs = new MemorySegment[nseg];
                List<MemorySegment> free = new ArrayList<>(pool);
                for (int i = 0; i < nseg; i++) segs[i] = free.remove(rnd.nextInt(free.size()));
                byte fill = (byte) rnd.nextInt(256);
                for (MemorySegment s : segs) s.fill(fill);
                if (dir == ScsiTask.DATA_OUT && rnd.nextBoolean()) for (MemorySegment s : segs) s.set(ValueLayout.JAVA_BYTE, 0, (byte) (fill + 1));
                byte[] before = concat(segs);
                if (rnd.nextInt(8) == 0) {
                    int f = FAULTS[rnd.nextInt(FAULTS.length)];
                    switch (rnd.nextInt(3)) {
                        case 0 -> disk.failNextRead = f;
                        case 1 -> disk.failNextWrite = f;
                        default -> disk.refuseAfter(rnd.nextInt(3), f);
                    }
                }
                if (rnd.nextInt(200) == 0) rig.target.capacityChanged(0);
                ScsiRig.Result r;
                try {
                    r = rig.exec(lun, cdb, dir, segs);
                } catch (RuntimeException e) {
                    throw new AssertionError("exception for CDB " + hex(cdb) + " dir " + dir, e);
                }
                String what = "CDB " + hex(cdb) + " lun " + lun + " dir " + dir + " -> " + r;
                statuses[r.status()]++;
                switch (r.status()) {
                    case ScsiStatus.GOOD, ScsiStatus.TASK_SET_FULL -> assertEquals(0, r.sense().length, what);
                    case ScsiStatus.CHECK_CONDITION -> {
                        byte[] s = r.sense();
                        assertEquals(18, s.length, what);
                        assertEquals(0x70, s[0] & 0x7F, what);
                        assertEquals(10, s[7], what);
                        assertTrue(KEYS.contains(s[2] & 0x0F), what);
                        assertTrue(ASCS.contains(r.asc()) || r.key() == ScsiSense.UNIT_ATTENTION, what);
                        senses.merge(ScsiSense.describe(r.key(), r.asc()), 1, Integer::sum);
                        if ((s[15] & 0x80) != 0) assertTrue(((s[16] & 0xFF) << 8 | (s[17] & 0xFF)) < 4096, what);
                    }
                    default -> fail("unexpected status: " + what);
                }
                long total = Arrays.stream(segs).mapToLong(MemorySegment::byteSize).sum();
                assertTrue(r.transferred() >= 0 && r.transferred() <= total, what);
                byte[] after = r.dataIn();
                if (dir != ScsiTask.DATA_IN) {
                    assertArrayEquals(before, after, "buffer written though not data-in: " + what);
                } else if (r.good()) { // a failed READ may leave partial data anywhere in its buffer, as on any SCSI target
                    for (long i = r.transferred(); i < total; i++)
                        if (after[(int) i] != before[(int) i]) fail("byte " + i + " written past the transfer: " + what);
                }
                disk.refuseNext = 0;
                disk.failNextRead = 0;
                disk.failNextWrite = 0;
            }
            assertEquals(0, rig.target.internalErrors(), () -> "internal: " + rig.target.lastInternalError());
            assertEquals(0, rig.target.staleCompletions());
            assertEquals(2, rig.target.bounceBuffersAvailable());
            assertTrue(statuses[ScsiStatus.GOOD] > iterations / 20, "a fair share of commands succeed: " + statuses[ScsiStatus.GOOD]);
            System.out.printf("CDB fuzz: %d commands, GOOD %d, CHECK CONDITION %d, TASK SET FULL %d%n", iterations,
                    statuses[ScsiStatus.GOOD], statuses[ScsiStatus.CHECK_CONDITION], statuses[ScsiStatus.TASK_SET_FULL]);
            System.out.println("CDB fuzz sense: " + senses);
        }
    }

    /** Half pure noise (any opcode, any length 1..32), half plausible: a supported opcode, usage-map bits only, small numbers. */
    private static byte[] randomCdb(Random rnd) {
        if (rnd.nextBoolean()) {
            byte[] c = new byte[1 + rnd.nextInt(32)];
            rnd.nextBytes(c);
            if (rnd.nextInt(4) == 0) c[0] = (byte) CommandTable.ALL[rnd.nextInt(CommandTable.ALL.length)].opcode();
            return c;
        }
        CommandTable.Entry e = CommandTable.ALL[rnd.nextInt(CommandTable.ALL.length)];
        int len = rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(32) : e.cdbLength();
        byte[] c = new byte[Math.max(len, 1)];
        c[0] = (byte) e.opcode();
        for (int i = 1; i < Math.min(c.length, e.cdbLength()); i++) {
            int mask = e.usage()[i] & 0xFF;
            int v = rnd.nextInt(3) == 0 ? rnd.nextInt(256) & mask : (rnd.nextInt(4) == 0 ? rnd.nextInt(3) : 0);
            c[i] = (byte) (v & mask);
        }
        if (e.hasServiceAction() && c.length > 1) c[1] = (byte) ((c[1] & 0xE0) | e.serviceAction());
        // small LBAs and transfer lengths, so that many block commands are in range
        if (rnd.nextInt(4) != 0 && e.cdbLength() <= c.length) {
            int lbaLow, lenLow, lbaFrom;
            switch (e.cdbLength()) {
                case 6 -> { lbaFrom = 1; lbaLow = 3; lenLow = 4; }
                case 10 -> { lbaFrom = 2; lbaLow = 5; lenLow = 8; }
                case 12 -> { lbaFrom = 2; lbaLow = 5; lenLow = 9; }
                default -> { lbaFrom = 2; lbaLow = 9; lenLow = 13; }
            }
            boolean block = e.opcode() != CommandTable.INQUIRY && e.opcode() != CommandTable.MODE_SENSE_6
                    && e.opcode() != CommandTable.REQUEST_SENSE && e.opcode() != CommandTable.MAINTENANCE_IN
                    && e.opcode() != CommandTable.REPORT_LUNS && e.opcode() != CommandTable.MODE_SENSE_10;
            if (block) {
                for (int i = lbaFrom; i <= lenLow; i++) if (i != lbaFrom || e.cdbLength() != 6) c[i] = 0;
                if (e.cdbLength() == 6) c[1] &= (byte) 0xE0;
                c[lbaLow] = (byte) rnd.nextInt(130);
                c[lenLow] = (byte) rnd.nextInt(12);
            }
        }
        if (rnd.nextInt(20) == 0 && c.length > 1) c[rnd.nextInt(c.length - 1) + 1] ^= (byte) (1 << rnd.nextInt(8));
        return c;
    }

    /** The direction a well-behaved initiator uses for an opcode. */
    private static int naturalDirection(int opcode) {
        return switch (opcode) {
            case 0x0A, 0x2A, 0xAA, 0x8A, 0x41, 0x93, 0x42, 0x2F, 0xAF, 0x8F -> ScsiTask.DATA_OUT;
            case 0x00, 0x35, 0x91 -> ScsiTask.DATA_NONE;
            default -> ScsiTask.DATA_IN;
        };
    }

    private static byte[] concat(MemorySegment[] segs) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (MemorySegment s : segs) o.writeBytes(s.toArray(ValueLayout.JAVA_BYTE));
        return o.toByteArray();
    }

    private static String hex(byte[] b) { return java.util.HexFormat.of().formatHex(b); }
}
