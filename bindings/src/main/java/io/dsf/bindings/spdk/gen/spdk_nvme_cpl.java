package io.dsf.bindings.spdk.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_INT;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_SHORT;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * {@code struct spdk_nvme_cpl}: the 16-byte NVMe completion queue entry.
 * <pre>
 *   0 cdw0  4 cdw1  8 sqhd  10 sqid  12 cid  14 status (bit 0 phase, 1-8 SC, 9-11 SCT, 12-13 CRD, 14 M, 15 DNR)
 * </pre>
 * {@code spdk_nvme_cpl_is_error} is a macro: see {@code io.dsf.bindings.spdk.SpdkCpl}. Layout constants only; thread safe.
 */
public final class spdk_nvme_cpl {
    private spdk_nvme_cpl() {}

    public static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            C_INT.withName("cdw0"),
            C_INT.withName("cdw1"),
            C_SHORT.withName("sqhd"),
            C_SHORT.withName("sqid"),
            C_SHORT.withName("cid"),
            C_SHORT.withName("status")
    ).withName("spdk_nvme_cpl");

    public static final long SIZEOF = $LAYOUT.byteSize();

    public static GroupLayout layout() { return $LAYOUT; }

    public static final long cdw0$OFFSET = $LAYOUT.byteOffset(groupElement("cdw0"));
    public static final long cdw1$OFFSET = $LAYOUT.byteOffset(groupElement("cdw1"));
    public static final long sqhd$OFFSET = $LAYOUT.byteOffset(groupElement("sqhd"));
    public static final long sqid$OFFSET = $LAYOUT.byteOffset(groupElement("sqid"));
    public static final long cid$OFFSET = $LAYOUT.byteOffset(groupElement("cid"));
    public static final long status$OFFSET = $LAYOUT.byteOffset(groupElement("status"));

    public static final VarHandle cdw0$VH = $LAYOUT.varHandle(groupElement("cdw0"));
    public static final VarHandle cid$VH = $LAYOUT.varHandle(groupElement("cid"));
    public static final VarHandle status$VH = $LAYOUT.varHandle(groupElement("status"));

    public static int cdw0(MemorySegment s) { return s.get(C_INT, cdw0$OFFSET); }
    public static short sqhd(MemorySegment s) { return s.get(C_SHORT, sqhd$OFFSET); }
    public static short sqid(MemorySegment s) { return s.get(C_SHORT, sqid$OFFSET); }
    public static short cid(MemorySegment s) { return s.get(C_SHORT, cid$OFFSET); }
    public static short status(MemorySegment s) { return s.get(C_SHORT, status$OFFSET); }
    public static void status(MemorySegment s, short v) { s.set(C_SHORT, status$OFFSET, v); }
}
