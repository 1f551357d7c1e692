package io.dsf.stargate.scsi;

import io.dsf.stargate.api.MemoryVDisk;
import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** READ/WRITE(6/10/12/16): both data paths (zero-copy per segment, bounce buffer), limits, ranges and every error mapping. */
class ReadWriteTest {
    private static final long BLOCKS = 4096; // 16 MiB
    private ScsiRig rig;
    private ScriptedVDisk disk;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig(ScsiTargetConfig.defaults().withBounce(16 * 4096, 2));
        disk = new ScriptedVDisk("rw", BLOCKS * 4096, 64 * 1024, false);
        rig.attach(0, disk);
        rig.attach(1, new ScriptedVDisk("ro", BLOCKS * 4096, 64 * 1024, true));
    }

    @AfterEach
    void tearDown() {
        assertEquals(0, rig.target.staleCompletions());
        assertEquals(2, rig.target.bounceBuffersAvailable(), "every bounce buffer returned");
        rig.close();
    }

    static byte[] pattern(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] bytes(MemorySegment... segs) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (MemorySegment s : segs) o.writeBytes(s.toArray(ValueLayout.JAVA_BYTE));
        return o.toByteArray();
    }

    private static boolean inside(long address, MemorySegment... segs) {
        for (MemorySegment s : segs) if (address >= s.address() && address < s.address() + s.byteSize()) return true;
        return false;
    }

    @Test
    void writeThenReadEveryCdbSize() {
        int blocks = 3;
        long lba = 100;
        for (int size : new int[] {6, 10, 12, 16}) {
            byte[] data = pattern(blocks * 4096, size);
            byte[] w = switch (size) {
                case 6 -> rw6(true, lba, blocks);
                case 10 -> rw10(true, lba, blocks);
                case 12 -> rw12(true, lba, blocks);
                default -> rw16(true, lba, blocks);
            };
            ScsiRig.Result wr = rig.out(0, w, data);
            assertTrue(wr.good(), () -> size + ": " + wr);
            assertEquals(data.length, wr.transferred());
            assertArrayEquals(data, disk.peek(lba * 4096, data.length), "stored by WRITE(" + size + ")");
            byte[] r = switch (size) {
                case 6 -> rw6(false, lba, blocks);
                case 10 -> rw10(false, lba, blocks);
                case 12 -> rw12(false, lba, blocks);
                default -> rw16(false, lba, blocks);
            };
            ScsiRig.Result rd = rig.in(0, r, data.length);
            assertTrue(rd.good(), rd::toString);
            assertEquals(data.length, rd.transferred());
            assertEquals(0, rd.residual());
            assertArrayEquals(data, rd.dataIn(), "READ(" + size + ")");
            lba += 1000;
        }
    }

    @Test
    void zeroCopyReadIssuesOneRequestPerSegmentIntoTheSegmentItself() {
        byte[] data = pattern(7 * 4096, 1);
        disk.poke(40 * 4096, data);
        MemorySegment a = rig.buffer(2 * 4096, (byte) 0), b = rig.buffer(4096, (byte) 0), c = rig.buffer(4 * 4096, (byte) 0);
        disk.calls.clear();
        ScsiRig.Result r = rig.exec(0, rw10(false, 40, 7), ScsiTask.DATA_IN, a, b, c);
        assertTrue(r.good(), r::toString);
        assertEquals(7 * 4096, r.transferred());
        assertArrayEquals(data, bytes(a, b, c));
        List<ScriptedVDisk.Call> calls = List.copyOf(disk.calls);
        assertEquals(3, calls.size(), "one vDisk read per segment");
        assertEquals(a.address(), calls.get(0).bufferAddress());
        assertEquals(b.address(), calls.get(1).bufferAddress());
        assertEquals(c.address(), calls.get(2).bufferAddress());
        assertEquals(40 * 4096, calls.get(0).offset());
        assertEquals(42 * 4096, calls.get(1).offset());
        assertEquals(43 * 4096, calls.get(2).offset());
        assertEquals(0, rig.target.bounceWaits());
    }

    @Test
    void zeroCopyWriteSplitsSegmentsAtMaxTransfer() {
        byte[] data = pattern(40 * 4096, 2);         // 160 KiB in one segment, vDisk max transfer 64 KiB
        MemorySegment seg = rig.buffer(data.length, (byte) 0);
        seg.copyFrom(MemorySegment.ofArray(data));
        disk.calls.clear();
        ScsiRig.Result r = rig.exec(0, rw16(true, 7, 40), ScsiTask.DATA_OUT, seg);
        assertTrue(r.good(), r::toString);
        List<ScriptedVDisk.Call> calls = List.copyOf(disk.calls);
        assertEquals(3, calls.size());
        assertEquals(List.of(65536L, 65536L, 32768L), calls.stream().map(ScriptedVDisk.Call::length).toList());
        for (int i = 0; i < 3; i++) {
            assertEquals(seg.address() + 65536L * i, calls.get(i).bufferAddress(), "piece " + i + " straight from the segment");
            assertEquals(7 * 4096 + 65536L * i, calls.get(i).offset());
        }
        assertArrayEquals(data, disk.peek(7 * 4096, data.length));
    }

    @Test
    void bouncePathForSegmentsThatAreNotWholeBlocks() {
        byte[] data = pattern(3 * 4096, 3);
        disk.poke(10 * 4096, data);
        MemorySegment a = rig.buffer(1000, (byte) 0), b = rig.buffer(4096 + 3096, (byte) 0), c = rig.buffer(4096, (byte) 0);
        disk.calls.clear();
        ScsiRig.Result r = rig.exec(0, rw10(false, 10, 3), ScsiTask.DATA_IN, a, b, c);
        assertTrue(r.good(), r::toString);
        assertEquals(3 * 4096, r.transferred());
        assertArrayEquals(data, bytes(a, b, c));
        for (ScriptedVDisk.Call call : disk.calls) assertFalse(inside(call.bufferAddress(), a, b, c), "read went through a bounce buffer");
        assertEquals(1, disk.calls.size(), "12 KiB fits one round and one vDisk request");

        byte[] w = pattern(3 * 4096, 4);
        a.copyFrom(MemorySegment.ofArray(w).asSlice(0, 1000));
        b.copyFrom(MemorySegment.ofArray(w).asSlice(1000, 4096 + 3096));
        c.copyFrom(MemorySegment.ofArray(w).asSlice(8192, 4096));
        disk.calls.clear();
        ScsiRig.Result wr = rig.exec(0, rw10(true, 20, 3), ScsiTask.DATA_OUT, a, b, c);
        assertTrue(wr.good(), wr::toString);
        assertArrayEquals(w, disk.peek(20 * 4096, w.length));
        for (ScriptedVDisk.Call call : disk.calls) assertFalse(inside(call.bufferAddress(), a, b, c));
    }

    @Test
    void bounceRoundsCoverCommandsLargerThanOneBuffer() {
        int blocks = 40; // 160 KiB through a 64 KiB bounce buffer: 3 rounds
        byte[] data = pattern(blocks * 4096, 5);
        MemorySegment a = rig.buffer(512, (byte) 0), b = rig.buffer(data.length - 512, (byte) 0);
        a.copyFrom(MemorySegment.ofArray(data).asSlice(0, 512));
        b.copyFrom(MemorySegment.ofArray(data).asSlice(512));
        disk.calls.clear();
        assertTrue(rig.exec(0, rw12(true, 1000, blocks), ScsiTask.DATA_OUT, a, b).good());
        assertEquals(3, disk.count(ScriptedVDisk.Op.WRITE));
        assertArrayEquals(data, disk.peek(1000 * 4096L, data.length));
        a.fill((byte) 0);
        b.fill((byte) 0);
        assertTrue(rig.exec(0, rw12(false, 1000, blocks), ScsiTask.DATA_IN, a, b).good());
        assertArrayEquals(data, bytes(a, b));
    }

    @Test
    void shortDataInBufferGetsWhatFits() {
        byte[] data = pattern(4 * 4096, 6);
        disk.poke(0, data);
        disk.calls.clear();
        ScsiRig.Result r = rig.in(0, rw10(false, 0, 4), 6000);
        assertTrue(r.good());
        assertEquals(6000, r.transferred());
        assertEquals(0, r.residual());
        assertArrayEquals(Arrays.copyOf(data, 6000), r.dataIn());
        assertEquals(2 * 4096, disk.calls.stream().mapToLong(ScriptedVDisk.Call::length).sum(), "only the blocks that fit are read");

        ScsiRig.Result whole = rig.in(0, rw10(false, 0, 2), 4 * 4096);
        assertEquals(8192, whole.transferred());
        assertEquals(8192, whole.residual());
        assertArrayEquals(Arrays.copyOf(data, 8192), Arrays.copyOf(whole.dataIn(), 8192));
        for (int i = 8192; i < 4 * 4096; i++) assertEquals(0x5A, whole.u8(i), "untouched past the transfer");
    }

    @Test
    void readWithoutDataInBufferTransfersNothing() {
        disk.calls.clear();
        ScsiRig.Result r = rig.out(0, rw10(false, 0, 1), new byte[4096]); // wrong direction: never written
        assertTrue(r.good());
        assertEquals(0, r.transferred());
        assertEquals(0, disk.calls.size());
    }

    @Test
    void writeNeedsTheWholeDataOut() {
        assertInvalidField(rig.out(0, rw10(true, 0, 2), new byte[4096]), 7, -1);
        assertInvalidField(rig.in(0, rw16(true, 0, 1), 4096), 10, -1); // data-in buffer: nothing to write from
        assertInvalidField(rig.out(0, rw6(true, 0, 1), new byte[100]), 4, -1);
        assertEquals(0, disk.count(ScriptedVDisk.Op.WRITE));
    }

    @Test
    void transferLengthZeroMovesNothing() {
        disk.calls.clear();
        for (byte[] c : List.of(rw10(false, 5, 0), rw10(true, 5, 0), rw12(false, 5, 0), rw16(true, 5, 0))) {
            ScsiRig.Result r = rig.in(0, c, 4096);
            assertTrue(r.good(), r::toString);
            assertEquals(0, r.transferred());
        }
        assertTrue(rig.in(0, rw10(false, BLOCKS, 0), 0).good(), "LBA == capacity with 0 blocks is in range");
        assertCheck(rig.in(0, rw10(false, BLOCKS + 1, 0), 0), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
        assertEquals(0, disk.calls.size());
    }

    @Test
    void read6ZeroMeans256Blocks() {
        disk.calls.clear();
        ScsiRig.Result r = rig.in(0, rw6(false, 8, 0), 256 * 4096);
        assertTrue(r.good());
        assertEquals(256 * 4096, r.transferred());
        assertEquals(256 * 4096, disk.calls.stream().mapToLong(ScriptedVDisk.Call::length).sum());
    }

    @Test
    void lbaOutOfRange() {
        int[] cases = {0};
        for (byte[] c : List.of(rw10(false, BLOCKS, 1), rw10(true, BLOCKS - 1, 2), rw12(false, BLOCKS - 2, 3),
                rw16(false, -1L, 1), rw16(false, Long.MAX_VALUE, 2), rw16(true, BLOCKS, 1), rw6(false, BLOCKS, 1))) {
            ScsiRig.Result r = c[0] == 0x2A || c[0] == (byte) 0x8A ? rig.out(0, c, new byte[4 * 4096]) : rig.in(0, c, 4 * 4096);
            assertCheck(r, ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
            cases[0]++;
        }
        assertTrue(rig.in(0, rw10(false, BLOCKS - 1, 1), 4096).good(), "the last block reads");
        assertEquals(0, disk.count(ScriptedVDisk.Op.WRITE));
    }

    @Test
    void maximumTransferLength() {
        int max = ScsiTargetConfig.defaults().maxTransferBlocks();
        assertInvalidField(rig.in(0, rw10(false, 0, max + 1), 4096), 7, -1);
        assertInvalidField(rig.in(0, rw16(false, 0, 0xFFFF_FFFFL), 4096), 10, -1);
        assertInvalidField(rig.in(0, rw12(false, 0, max + 1), 4096), 6, -1);
        assertTrue(rig.in(0, rw10(false, 0, max), max * 4096).good());
    }

    @Test
    void protectionFieldsAndReservedBitsAreRejected() {
        byte[] c = rw10(false, 0, 1);
        c[1] = 0x20; // RDPROTECT 001b: no protection information here
        assertInvalidField(rig.in(0, c, 4096), 1, 5);
        byte[] w = rw16(true, 0, 1);
        w[1] = (byte) 0x80; // WRPROTECT
        assertInvalidField(rig.out(0, w, new byte[4096]), 1, 7);
        byte[] r6 = rw6(false, 0, 1);
        r6[5] = 0x01; // LINK
        assertInvalidField(rig.in(0, r6, 4096), 5, 0);
        byte[] fua = rw10(true, 3, 1);
        fua[1] = 0x18; // DPO + FUA: accepted (every write is durable anyway)
        assertTrue(rig.out(0, fua, new byte[4096]).good());
    }

    @Test
    void writeToReadOnlyLun() {
        assertCheck(rig.out(1, rw10(true, 0, 1), new byte[4096]), ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED);
        assertTrue(rig.in(1, rw10(false, 0, 1), 4096).good());
    }

    @Test
    void vDiskErrorsMapToSense() {
        disk.failNextWrite = VDiskStatus.NO_SPACE;
        assertCheck(rig.out(0, rw10(true, 0, 1), new byte[4096]), ScsiSense.DATA_PROTECT, ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
        disk.failNextRead = VDiskStatus.MEDIUM_ERROR;
        assertCheck(rig.in(0, rw10(false, 0, 1), 4096), ScsiSense.MEDIUM_ERROR, ScsiSense.UNRECOVERED_READ_ERROR);
        disk.failNextWrite = VDiskStatus.IO_ERROR;
        assertCheck(rig.out(0, rw10(true, 0, 1), new byte[4096]), ScsiSense.HARDWARE_ERROR, ScsiSense.INTERNAL_TARGET_FAILURE);
        disk.failNextRead = VDiskStatus.CLOSED;
        assertCheck(rig.in(0, rw10(false, 0, 1), 4096), ScsiSense.NOT_READY, ScsiSense.LOGICAL_UNIT_NOT_READY);
        disk.failNextWrite = VDiskStatus.READ_ONLY;
        assertCheck(rig.out(0, rw10(true, 0, 1), new byte[4096]), ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED);
        disk.failNextRead = VDiskStatus.ABORTED;
        assertCheck(rig.in(0, rw10(false, 0, 1), 4096), ScsiSense.ABORTED_COMMAND, ScsiSense.NO_ADDITIONAL_SENSE);
        disk.refuseNext = VDiskStatus.BUSY;
        ScsiRig.Result busy = rig.in(0, rw10(false, 0, 1), 4096);
        assertEquals(ScsiStatus.TASK_SET_FULL, busy.status());
        assertEquals(0, busy.sense().length);
        disk.refuseNext = VDiskStatus.CLOSED;
        assertCheck(rig.in(0, rw10(false, 0, 1), 4096), ScsiSense.NOT_READY, ScsiSense.LOGICAL_UNIT_NOT_READY);
        // the same task goes on working afterwards
        assertTrue(rig.out(0, rw10(true, 0, 1), new byte[4096]).good());
    }

    @Test
    void firstErrorWinsAcrossSegments() {
        // three segments, three vDisk writes in flight together; the second and third fail differently
        MemorySegment a = rig.buffer(4096, (byte) 1), b = rig.buffer(4096, (byte) 2), c = rig.buffer(4096, (byte) 3);
        disk.hold = true;
        rig.task.reset().lun(0).cdb(rw10(true, 50, 3), 0, 10).direction(ScsiTask.DATA_OUT);
        rig.task.addSegment(a, 4096);
        rig.task.addSegment(b, 4096);
        rig.task.addSegment(c, 4096);
        int before = rig.completions.get();
        rig.nexus.execute(rig.task);
        assertEquals(3, disk.heldCount(), "all pieces in flight together");
        disk.releaseFirst();
        disk.failNextWrite = VDiskStatus.NO_SPACE;
        disk.releaseFirst();
        assertEquals(before, rig.completions.get(), "not complete while a piece is in flight");
        disk.failNextWrite = VDiskStatus.IO_ERROR;
        disk.releaseFirst();
        assertEquals(before + 1, rig.completions.get());
        assertEquals(ScsiStatus.CHECK_CONDITION, rig.task.status());
        assertEquals(ScsiSense.DATA_PROTECT, rig.task.senseKey());
        assertEquals(ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT, rig.task.ascAscq(), "the first failure decides");
        assertEquals(0, rig.task.transferred());
        disk.hold = false;
    }

    @Test
    void refusedSubmissionWaitsForThePiecesAlreadyInFlight() {
        MemorySegment seg = rig.buffer(4 * 65536, (byte) 7); // four pieces of 64 KiB
        disk.hold = true;
        disk.refuseAfter(2, VDiskStatus.BUSY);
        rig.task.reset().lun(0).cdb(rw10(false, 0, 64), 0, 10).direction(ScsiTask.DATA_IN);
        rig.task.addSegment(seg, seg.byteSize());
        int before = rig.completions.get();
        rig.nexus.execute(rig.task);
        assertEquals(2, disk.heldCount(), "two accepted, the third refused, the fourth never submitted");
        assertEquals(before, rig.completions.get(), "waits for the two in flight");
        disk.releaseFirst();
        assertEquals(before, rig.completions.get());
        disk.releaseFirst();
        assertEquals(before + 1, rig.completions.get());
        assertEquals(ScsiStatus.TASK_SET_FULL, rig.task.status(), "the vDisk door was full: retry");
        assertEquals(0, rig.task.senseLength());
        disk.hold = false;
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void asynchronousCompletionsOnBothPaths() {
        try (ScsiRig a = new ScsiRig(ScsiTargetConfig.defaults().withBounce(8192, 1));
             MemoryVDisk async = new MemoryVDisk("async", 1 << 24, false, true)) {
            a.attach(0, async);
            for (int round = 0; round < 20; round++) {
                byte[] data = pattern(5 * 4096, round);
                // zero-copy: two whole-block segments
                MemorySegment s1 = a.buffer(2 * 4096, (byte) 0), s2 = a.buffer(3 * 4096, (byte) 0);
                s1.copyFrom(MemorySegment.ofArray(data).asSlice(0, 8192));
                s2.copyFrom(MemorySegment.ofArray(data).asSlice(8192));
                assertTrue(a.exec(0, rw10(true, round * 8L, 5), ScsiTask.DATA_OUT, s1, s2).good());
                // bounce: odd segments, rounds of 8 KiB
                MemorySegment o1 = a.buffer(5, (byte) 0), o2 = a.buffer(5 * 4096 - 5, (byte) 0);
                ScsiRig.Result r = a.exec(0, rw10(false, round * 8L, 5), ScsiTask.DATA_IN, o1, o2);
                assertTrue(r.good(), r::toString);
                assertArrayEquals(data, r.dataIn());
            }
            assertEquals(1, a.target.bounceBuffersAvailable());
        }
    }
}
