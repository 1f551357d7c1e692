package io.dsf.bindings.spdk.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_INT;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_LONG;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * {@code struct spdk_nvme_dsm_range}: one Dataset Management range, 16 bytes.
 * <pre>
 *   0 attributes (context attributes, u32)  4 length (logical blocks, u32)  8 starting_lba (u64)
 * </pre>
 * Layout constants only; thread safe.
 */
public final class spdk_nvme_dsm_range {
    private spdk_nvme_dsm_range() {}

    public static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("attributes"),
            C_INT.withName("length"),
            C_LONG.withName("starting_lba")
    ).withName("spdk_nvme_dsm_range");

    public static final long SIZEOF = $LAYOUT.byteSize();

    public static GroupLayout layout() { return $LAYOUT; }

    public static final long attributes$OFFSET = $LAYOUT.byteOffset(groupElement("attributes"));
    public static final long length$OFFSET = $LAYOUT.byteOffset(groupElement("length"));
    public static final long starting_lba$OFFSET = $LAYOUT.byteOffset(groupElement("starting_lba"));

    public static final VarHandle length$VH = $LAYOUT.varHandle(groupElement("length"));
    public static final VarHandle starting_lba$VH = $LAYOUT.varHandle(groupElement("starting_lba"));

    /** Writes range {@code index} of an array of ranges. */
    public static void set(MemorySegment array, int index, int attributes, int length, long startingLba) {
        long base = index * SIZEOF;
        array.set(C_INT, base + attributes$OFFSET, attributes);
        array.set(C_INT, base + length$OFFSET, length);
        array.set(C_LONG, base + starting_lba$OFFSET, startingLba);
    }
}
