package io.dsf.stargate.scsi;

import io.dsf.stargate.api.VDiskStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static io.dsf.stargate.scsi.Cdbs.*;
import static io.dsf.stargate.scsi.ReadWriteTest.pattern;
import static org.junit.jupiter.api.Assertions.*;

/** VERIFY, WRITE SAME, UNMAP and SYNCHRONIZE CACHE. */
class VerifyWriteSameUnmapTest {
    private static final long BLOCKS = 2048;
    private ScsiRig rig;
    private ScriptedVDisk disk;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig(ScsiTargetConfig.defaults().withBounce(4 * 4096, 2).withLimits(256, 300, 1000, 4));
        disk = new ScriptedVDisk("vws", BLOCKS * 4096, 8192, false);
        rig.attach(0, disk);
        rig.attach(1, new ScriptedVDisk("ro", BLOCKS * 4096, 8192, true));
    }

    @AfterEach
    void tearDown() {
        assertEquals(2, rig.target.bounceBuffersAvailable());
        rig.close();
    }

    // ---------------------------------------------------------------- VERIFY

    @Test
    void verifyWithoutCompareReadsTheWholeRange() {
        disk.calls.clear();
        ScsiRig.Result r = rig.none(0, verify10(0, 10, 10)); // 40 KiB: three rounds of 16 KiB, pieces of 8 KiB
        assertTrue(r.good(), r::toString);
        assertEquals(40 * 1024, disk.calls.stream().filter(c -> c.op() == ScriptedVDisk.Op.READ).mapToLong(ScriptedVDisk.Call::length).sum());
        assertEquals(5, disk.count(ScriptedVDisk.Op.READ));
        disk.failNextRead = VDiskStatus.MEDIUM_ERROR;
        assertCheck(rig.none(0, verify16(0, 0, 3)), ScsiSense.MEDIUM_ERROR, ScsiSense.UNRECOVERED_READ_ERROR);
    }

    @Test
    void verifyCompareMatchesAndMiscompares() {
        byte[] data = pattern(6 * 4096, 11);
        disk.poke(100 * 4096, data);
        assertTrue(rig.out(0, verify10(1, 100, 6), data).good());
        byte[] bad = data.clone();
        bad[5 * 4096 + 17] ^= 1;
        ScsiRig.Result r = rig.out(0, verify16(1, 100, 6), bad);
        assertCheck(r, ScsiSense.MISCOMPARE, ScsiSense.MISCOMPARE_DURING_VERIFY);
        assertEquals(0x80, r.sense()[0] & 0x80, "INFORMATION valid");
        assertEquals(5 * 4096 + 17, ((r.sense()[3] & 0xFF) << 24) | ((r.sense()[4] & 0xFF) << 16) | ((r.sense()[5] & 0xFF) << 8) | (r.sense()[6] & 0xFF),
                "offset of the first differing byte");
        assertInvalidField(rig.out(0, verify10(1, 100, 6), Arrays.copyOf(data, 4096)), 7, -1);
    }

    @Test
    void verifyOneBlockAgainstEach() {
        byte[] block = pattern(4096, 12);
        for (int i = 0; i < 5; i++) disk.poke((200 + i) * 4096L, block);
        assertTrue(rig.out(0, verify10(3, 200, 5), block).good());
        byte[] changed = block.clone();
        changed[9] ^= (byte) 0xFF;
        disk.poke(203 * 4096L, changed);
        ScsiRig.Result r = rig.out(0, verify10(3, 200, 5), block);
        assertCheck(r, ScsiSense.MISCOMPARE, ScsiSense.MISCOMPARE_DURING_VERIFY);
        assertInvalidField(rig.out(0, verify10(2, 200, 5), block), 1, 2);
    }

    @Test
    void verifyLimits() {
        assertCheck(rig.none(0, verify10(0, BLOCKS - 1, 2)), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
        assertInvalidField(rig.none(0, verify16(0, 0, 257)), 10, -1);
        disk.calls.clear();
        assertTrue(rig.none(0, verify10(0, 5, 0)).good());
        assertEquals(0, disk.calls.size());
        byte[] vrprotect = verify10(0, 0, 1);
        vrprotect[1] |= 0x20;
        assertInvalidField(rig.none(0, vrprotect), 1, 5);
    }

    // ---------------------------------------------------------------- WRITE SAME

    @Test
    void writeSameReplicatesTheBlock() {
        byte[] block = pattern(4096, 13);
        disk.calls.clear();
        ScsiRig.Result r = rig.out(0, writeSame10(0, 300, 9), block);
        assertTrue(r.good(), r::toString);
        assertEquals(4096, r.transferred());
        for (int i = 0; i < 9; i++) assertArrayEquals(block, disk.peek((300 + i) * 4096L, 4096), "block " + i);
        assertArrayEquals(new byte[4096], disk.peek(309 * 4096L, 4096), "nothing past the range");
        assertEquals(0, disk.count(ScriptedVDisk.Op.ZEROES));
        assertEquals(0, disk.count(ScriptedVDisk.Op.UNMAP));
    }

    @Test
    void writeSameZerosBecomeWriteZeroesOrUnmap() {
        disk.poke(400 * 4096L, pattern(8 * 4096, 14));
        disk.calls.clear();
        assertTrue(rig.out(0, writeSame16(0, 400, 4), new byte[4096]).good());
        assertEquals(1, disk.count(ScriptedVDisk.Op.ZEROES));
        assertEquals(0, disk.count(ScriptedVDisk.Op.WRITE));
        assertArrayEquals(new byte[4 * 4096], disk.peek(400 * 4096L, 4 * 4096));
        assertTrue(rig.out(0, writeSame10(0x08, 404, 4), new byte[4096]).good(), "UNMAP bit");
        assertEquals(1, disk.count(ScriptedVDisk.Op.UNMAP));
        assertArrayEquals(new byte[4 * 4096], disk.peek(404 * 4096L, 4 * 4096));
        disk.calls.clear();
        ScsiRig.Result ndob = rig.none(0, writeSame16(0x09, 0, 300));
        assertTrue(ndob.good(), ndob::toString);
        assertEquals(0, ndob.transferred());
        assertEquals(1, disk.count(ScriptedVDisk.Op.UNMAP));
        assertEquals(300L * 4096, disk.calls.peek().length(), "NDOB: the whole range in one request");
    }


    @Test
    void writeSameWithUnmapAndNonZeroDataWrites() {
        byte[] block = pattern(4096, 15);
        disk.calls.clear();
        assertTrue(rig.out(0, writeSame16(0x08, 500, 3), block).good());
        assertEquals(0, disk.count(ScriptedVDisk.Op.UNMAP), "non-zero data cannot be unmapped (LBPRZ)");
        assertArrayEquals(block, disk.peek(502 * 4096L, 4096));
    }

    @Test
    void writeSameLimitsAndErrors() {
        assertInvalidField(rig.out(0, writeSame10(0, 0, 0), new byte[4096]), 7, -1);          // WSNZ
        assertInvalidField(rig.out(0, writeSame16(0, 0, 301), new byte[4096]), 10, -1);      // above MAXIMUM WRITE SAME LENGTH
        assertCheck(rig.out(0, writeSame10(0, BLOCKS - 2, 3), new byte[4096]), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
        assertCheck(rig.out(1, writeSame10(0, 0, 3), new byte[4096]), ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED);
        assertInvalidField(rig.out(0, writeSame10(0x04, 0, 1), new byte[4096]), 1, 2);       // PBDATA
        assertInvalidField(rig.out(0, writeSame10(0x02, 0, 1), new byte[4096]), 1, 1);       // LBDATA
        assertInvalidField(rig.out(0, writeSame16(0x10, 0, 1), new byte[4096]), 1, 4);       // ANCHOR
        assertInvalidField(rig.out(0, writeSame10(0x01, 0, 1), new byte[4096]), 1, 0);       // NDOB does not exist in (10)
        assertInvalidField(rig.out(0, writeSame10(0, 0, 1), new byte[100]), 7, -1);          // no whole block of data
        disk.failNextWrite = VDiskStatus.NO_SPACE;
        assertCheck(rig.out(0, writeSame10(0, 0, 20), pattern(4096, 1)), ScsiSense.DATA_PROTECT, ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
        disk.failNextWrite = VDiskStatus.NO_SPACE;
        assertCheck(rig.out(0, writeSame10(0, 0, 20), new byte[4096]), ScsiSense.DATA_PROTECT, ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
    }

    // ---------------------------------------------------------------- UNMAP

    @Test
    void unmapEachDescriptor() {
        disk.poke(0, pattern(64 * 4096, 16));
        disk.calls.clear();
        byte[] list = unmapList(2, 3, 10, 0, 20, 5);
        ScsiRig.Result r = rig.out(0, unmap(list.length), list);
        assertTrue(r.good(), r::toString);
        assertEquals(list.length, r.transferred());
        assertEquals(2, disk.count(ScriptedVDisk.Op.UNMAP), "zero-length descriptors are skipped");
        assertArrayEquals(new byte[3 * 4096], disk.peek(2 * 4096, 3 * 4096));
        assertArrayEquals(new byte[5 * 4096], disk.peek(20 * 4096, 5 * 4096));
        assertFalse(Arrays.equals(new byte[4096], disk.peek(5 * 4096, 4096)), "block 5 kept");
    }

    @Test
    void unmapParameterListChecks() {
        disk.calls.clear();
        assertTrue(rig.none(0, unmap(0)).good(), "empty parameter list");
        assertCheck(rig.out(0, unmap(7), new byte[7]), ScsiSense.ILLEGAL_REQUEST, ScsiSense.PARAMETER_LIST_LENGTH_ERROR);
        byte[] list = unmapList(0, 1);
        assertCheck(rig.out(0, unmap(list.length + 16), list), ScsiSense.ILLEGAL_REQUEST, ScsiSense.PARAMETER_LIST_LENGTH_ERROR);
        byte[] lying = unmapList(0, 1, 4, 1);
        Cdbs.put16(lying, 2, 48); // descriptor data length beyond the parameter list
        assertInvalidParameter(rig.out(0, unmap(lying.length), lying), 2);
        byte[] many = unmapList(0, 1, 1, 1, 2, 1, 3, 1, 4, 1); // 5 > MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT 4
        assertInvalidParameter(rig.out(0, unmap(many.length), many), 2);
        byte[] huge = unmapList(0, 1, 100, 1001); // above MAXIMUM UNMAP LBA COUNT 1000
        assertInvalidParameter(rig.out(0, unmap(huge.length), huge), 8 + 16 + 8);
        byte[] beyond = unmapList(0, 1, BLOCKS - 1, 2);
        assertCheck(rig.out(0, unmap(beyond.length), beyond), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
        byte[] wrap = unmapList(-1L, 2);
        assertCheck(rig.out(0, unmap(wrap.length), wrap), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
        assertEquals(0, disk.count(ScriptedVDisk.Op.UNMAP), "a bad list unmaps nothing, not even its good descriptors");
        // an incomplete last descriptor is ignored
        byte[] partial = Arrays.copyOf(unmapList(7, 1), 8 + 16 + 8);
        Cdbs.put16(partial, 2, 24);
        assertTrue(rig.out(0, unmap(partial.length), partial).good());
        assertEquals(1, disk.count(ScriptedVDisk.Op.UNMAP));
        byte[] anchor = unmap(list.length);
        anchor[1] = 0x01;
        assertInvalidField(rig.out(0, anchor, list), 1, 0);
        assertCheck(rig.out(1, unmap(list.length), list), ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED);
        disk.failNextWrite = VDiskStatus.NO_SPACE;
        assertCheck(rig.out(0, unmap(list.length), list), ScsiSense.DATA_PROTECT, ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
    }

    // ---------------------------------------------------------------- SYNCHRONIZE CACHE

    @Test
    void synchronizeCacheFlushes() {
        disk.calls.clear();
        assertTrue(rig.none(0, syncCache10(0, 0)).good());
        assertTrue(rig.none(0, syncCache16(10, 20)).good());
        byte[] immed = syncCache10(0, 0);
        immed[1] = 0x02;
        assertTrue(rig.none(0, immed).good());
        assertEquals(3, disk.count(ScriptedVDisk.Op.FLUSH));
        assertCheck(rig.none(0, syncCache16(BLOCKS, 1)), ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
        disk.refuseNext = VDiskStatus.IO_ERROR;
        assertCheck(rig.none(0, syncCache10(0, 0)), ScsiSense.HARDWARE_ERROR, ScsiSense.INTERNAL_TARGET_FAILURE);
    }
}
