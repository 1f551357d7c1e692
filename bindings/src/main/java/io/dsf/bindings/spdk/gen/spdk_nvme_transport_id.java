package io.dsf.bindings.spdk.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_CHAR;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_INT;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * {@code struct spdk_nvme_transport_id} (spdk/nvme.h, v24.09): 564 bytes, 4-aligned. Fill it with
 * {@code spdk_nvme_transport_id_parse} on zeroed memory (unspecified fields are left as they are).
 * <pre>
 *   0 trstring[33]  36 trtype  40 adrfam  44 traddr[257]  301 trsvcid[33]  334 subnqn[224]  560 priority
 * </pre>
 * Layout constants only; thread safe.
 */
public final class spdk_nvme_transport_id {
    private spdk_nvme_transport_id() {}

    public static final int TRSTRING_LEN = 33;
    public static final int TRADDR_LEN = 257;
    public static final int TRSVCID_LEN = 33;
    public static final int SUBNQN_LEN = 224;

    public static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(TRSTRING_LEN, C_CHAR).withName("trstring"),
            MemoryLayout.paddingLayout(3),
            C_INT.withName("trtype"),
            C_INT.withName("adrfam"),
            MemoryLayout.sequenceLayout(TRADDR_LEN, C_CHAR).withName("traddr"),
            MemoryLayout.sequenceLayout(TRSVCID_LEN, C_CHAR).withName("trsvcid"),
            MemoryLayout.sequenceLayout(SUBNQN_LEN, C_CHAR).withName("subnqn"),
            MemoryLayout.paddingLayout(2),
            C_INT.withName("priority")
    ).withName("spdk_nvme_transport_id");

    public static final long SIZEOF = $LAYOUT.byteSize();

    public static GroupLayout layout() { return $LAYOUT; }

    public static final long trstring$OFFSET = $LAYOUT.byteOffset(groupElement("trstring"));
    public static final long trtype$OFFSET = $LAYOUT.byteOffset(groupElement("trtype"));
    public static final long adrfam$OFFSET = $LAYOUT.byteOffset(groupElement("adrfam"));
    public static final long traddr$OFFSET = $LAYOUT.byteOffset(groupElement("traddr"));
    public static final long trsvcid$OFFSET = $LAYOUT.byteOffset(groupElement("trsvcid"));
    public static final long subnqn$OFFSET = $LAYOUT.byteOffset(groupElement("subnqn"));
    public static final long priority$OFFSET = $LAYOUT.byteOffset(groupElement("priority"));

    public static final VarHandle trtype$VH = $LAYOUT.varHandle(groupElement("trtype"));
    public static final VarHandle adrfam$VH = $LAYOUT.varHandle(groupElement("adrfam"));
    public static final VarHandle priority$VH = $LAYOUT.varHandle(groupElement("priority"));

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }

    public static int trtype(MemorySegment s) { return s.get(C_INT, trtype$OFFSET); }
    public static void trtype(MemorySegment s, int v) { s.set(C_INT, trtype$OFFSET, v); }
    public static int adrfam(MemorySegment s) { return s.get(C_INT, adrfam$OFFSET); }
    public static void adrfam(MemorySegment s, int v) { s.set(C_INT, adrfam$OFFSET, v); }
    public static int priority(MemorySegment s) { return s.get(C_INT, priority$OFFSET); }

    public static MemorySegment trstring(MemorySegment s) { return s.asSlice(trstring$OFFSET, TRSTRING_LEN); }
    public static MemorySegment traddr(MemorySegment s) { return s.asSlice(traddr$OFFSET, TRADDR_LEN); }
    public static MemorySegment trsvcid(MemorySegment s) { return s.asSlice(trsvcid$OFFSET, TRSVCID_LEN); }
    public static MemorySegment subnqn(MemorySegment s) { return s.asSlice(subnqn$OFFSET, SUBNQN_LEN); }

    /** Reads a NUL-terminated char array field; an unterminated array yields all of its bytes. */
    public static String string(MemorySegment field) {
        int n = 0;
        while (n < field.byteSize() && field.get(C_CHAR, n) != 0) n++;
        byte[] b = new byte[n];
        MemorySegment.copy(field, C_CHAR, 0, b, 0, n);
        return new String(b, StandardCharsets.UTF_8);
    }
}
