package io.dsf.bindings.spdk.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_LONG;

/**
 * {@code struct spdk_nvme_ctrlr_opts} (v24.09): 856 bytes, 8-aligned, bound as an opaque blob. dsf
 * only fills it with {@code spdk_nvme_ctrlr_get_default_ctrlr_opts(opts, SIZEOF)} and passes it to
 * {@code spdk_nvme_connect}; no field offsets are relied upon (they move between SPDK releases).
 * Layout constants only; thread safe.
 */
public final class spdk_nvme_ctrlr_opts {
    private spdk_nvme_ctrlr_opts() {}

    public static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(107, C_LONG).withName("opaque")
    ).withName("spdk_nvme_ctrlr_opts");

    public static final long SIZEOF = $LAYOUT.byteSize();

    public static GroupLayout layout() { return $LAYOUT; }

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }
}
