package io.dsf.bindings.spdk;

import io.dsf.bindings.spdk.gen.spdk_env_opts;
import io.dsf.bindings.spdk.gen.spdk_nvme_cpl;
import io.dsf.bindings.spdk.gen.spdk_nvme_ctrlr_opts;
import io.dsf.bindings.spdk.gen.spdk_nvme_dsm_range;
import io.dsf.bindings.spdk.gen.spdk_nvme_transport_id;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No SPDK headers exist on the build machines, so the layouts are asserted against the sizes and
 * offsets recorded in notes/spdk.md (observed with a real SPDK v24.09, x86_64).
 */
class SpdkLayoutTest {

    @Test
    void envOptsMatchesNotes() {
        assertEquals(128, spdk_env_opts.SIZEOF);
        assertEquals(8, spdk_env_opts.$LAYOUT.byteAlignment());
        assertEquals(0, spdk_env_opts.name$OFFSET);
        assertEquals(8, spdk_env_opts.core_mask$OFFSET);
        assertEquals(36, spdk_env_opts.mem_size$OFFSET);
        assertEquals(40, spdk_env_opts.no_pci$OFFSET);
        assertEquals(43, spdk_env_opts.no_huge$OFFSET);
        assertEquals(80, spdk_env_opts.iova_mode$OFFSET);
        assertEquals(96, spdk_env_opts.env_context$OFFSET);
        assertEquals(112, spdk_env_opts.opts_size$OFFSET);
        assertEquals(120, spdk_env_opts.enforce_numa$OFFSET);
    }

    @Test
    void transportIdMatchesNotes() {
        assertEquals(564, spdk_nvme_transport_id.SIZEOF);
        assertEquals(4, spdk_nvme_transport_id.$LAYOUT.byteAlignment());
        assertEquals(36, spdk_nvme_transport_id.trtype$OFFSET);
        assertEquals(40, spdk_nvme_transport_id.adrfam$OFFSET);
        assertEquals(44, spdk_nvme_transport_id.traddr$OFFSET);
        assertEquals(301, spdk_nvme_transport_id.trsvcid$OFFSET);
        assertEquals(334, spdk_nvme_transport_id.subnqn$OFFSET);
        assertEquals(560, spdk_nvme_transport_id.priority$OFFSET);
    }

    @Test
    void completionMatchesNotes() {
        assertEquals(16, spdk_nvme_cpl.SIZEOF);
        assertEquals(0, spdk_nvme_cpl.cdw0$OFFSET);
        assertEquals(12, spdk_nvme_cpl.cid$OFFSET);
        assertEquals(14, spdk_nvme_cpl.status$OFFSET);
    }

    @Test
    void ctrlrOptsAndDsmRangeSizes() {
        assertEquals(856, spdk_nvme_ctrlr_opts.SIZEOF);
        assertEquals(8, spdk_nvme_ctrlr_opts.$LAYOUT.byteAlignment());
        assertEquals(16, spdk_nvme_dsm_range.SIZEOF);
        assertEquals(0, spdk_nvme_dsm_range.attributes$OFFSET);
        assertEquals(4, spdk_nvme_dsm_range.length$OFFSET);
        assertEquals(8, spdk_nvme_dsm_range.starting_lba$OFFSET);
    }

    @Test
    void accessorsWriteWhereTheOffsetsSay() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment o = spdk_env_opts.allocate(a);
            spdk_env_opts.opts_size(o, 128);
            spdk_env_opts.no_huge(o, true);
            spdk_env_opts.mem_size(o, 512);
            assertEquals(128, o.get(java.lang.foreign.ValueLayout.JAVA_LONG, 112));
            assertEquals(1, o.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 43));
            assertEquals(512, o.get(java.lang.foreign.ValueLayout.JAVA_INT, 36));

            MemorySegment r = a.allocate(spdk_nvme_dsm_range.SIZEOF * 2, 8);
            spdk_nvme_dsm_range.set(r, 1, 0, 8, 1L << 33);
            assertEquals(8, r.get(java.lang.foreign.ValueLayout.JAVA_INT, 16 + 4));
            assertEquals(1L << 33, r.get(java.lang.foreign.ValueLayout.JAVA_LONG, 16 + 8));
        }
    }

    @Test
    void statusDecodingFollowsTheBitLayout() {
        int lbaOutOfRange = SpdkCpl.status(SpdkCpl.SCT_GENERIC, SpdkCpl.SC_LBA_OUT_OF_RANGE) | 1 /* phase */;
        assertEquals(0x101, lbaOutOfRange);
        assertEquals(1, SpdkCpl.phase(lbaOutOfRange));
        assertEquals(0x80, SpdkCpl.sc(lbaOutOfRange));
        assertEquals(0, SpdkCpl.sct(lbaOutOfRange));
        assertTrue(SpdkCpl.isError(lbaOutOfRange));
        assertFalse(SpdkCpl.isError(1), "phase bit alone is success");
        int media = SpdkCpl.status(SpdkCpl.SCT_MEDIA_ERROR, SpdkCpl.SC_UNRECOVERED_READ_ERROR) | 0x8000;
        assertEquals(2, SpdkCpl.sct(media));
        assertEquals(0x81, SpdkCpl.sc(media));
        assertTrue(SpdkCpl.dnr(media));
        assertEquals("SCT 0x0 SC 0x80 (LBA out of range)", SpdkCpl.describe(lbaOutOfRange));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cpl = a.allocate(spdk_nvme_cpl.$LAYOUT);
            spdk_nvme_cpl.status(cpl, (short) 0x8303);
            assertEquals(0x8303, SpdkCpl.statusAt(cpl.address()));
        }
    }
}
