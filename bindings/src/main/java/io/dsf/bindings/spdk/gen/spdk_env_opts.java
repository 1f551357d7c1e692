package io.dsf.bindings.spdk.gen;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.VarHandle;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_BOOL;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_CHAR;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_INT;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_LONG;
import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_POINTER;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

/**
 * {@code struct spdk_env_opts} (spdk/env.h, v24.09): 128 bytes. Set {@code opts_size} to
 * {@link #SIZEOF} <em>before</em> {@code spdk_env_opts_init}, which keeps whatever value is there.
 * <pre>
 *   0 name  8 core_mask  16 lcore_map  24 shm_id  28 mem_channel  32 main_core  36 mem_size
 *  40 no_pci 41 hugepage_single_segments 42 unlink_hugepage 43 no_huge  44 reserved
 *  48 num_pci_addr  56 hugedir  64 pci_blocked  72 pci_allowed  80 iova_mode  88 base_virtaddr
 *  96 env_context  104 vf_token  112 opts_size  120 enforce_numa  121 reserved2[7]
 * </pre>
 * Layout constants only; thread safe.
 */
public final class spdk_env_opts {
    private spdk_env_opts() {}

    public static final GroupLayout $LAYOUT = MemoryLayout.structLayout(
            C_POINTER.withName("name"),
            C_POINTER.withName("core_mask"),
            C_POINTER.withName("lcore_map"),
            C_INT.withName("shm_id"),
            C_INT.withName("mem_channel"),
            C_INT.withName("main_core"),
            C_INT.withName("mem_size"),
            C_BOOL.withName("no_pci"),
            C_BOOL.withName("hugepage_single_segments"),
            C_BOOL.withName("unlink_hugepage"),
            C_BOOL.withName("no_huge"),
            C_INT.withName("reserved"),
            C_LONG.withName("num_pci_addr"),
            C_POINTER.withName("hugedir"),
            C_POINTER.withName("pci_blocked"),
            C_POINTER.withName("pci_allowed"),
            C_POINTER.withName("iova_mode"),
            C_LONG.withName("base_virtaddr"),
            C_POINTER.withName("env_context"),
            C_POINTER.withName("vf_token"),
            C_LONG.withName("opts_size"),
            C_BOOL.withName("enforce_numa"),
            MemoryLayout.sequenceLayout(7, C_CHAR).withName("reserved2")
    ).withName("spdk_env_opts");

    public static final long SIZEOF = $LAYOUT.byteSize();

    public static GroupLayout layout() { return $LAYOUT; }

    public static final long name$OFFSET = $LAYOUT.byteOffset(groupElement("name"));
    public static final long core_mask$OFFSET = $LAYOUT.byteOffset(groupElement("core_mask"));
    public static final long lcore_map$OFFSET = $LAYOUT.byteOffset(groupElement("lcore_map"));
    public static final long shm_id$OFFSET = $LAYOUT.byteOffset(groupElement("shm_id"));
    public static final long mem_channel$OFFSET = $LAYOUT.byteOffset(groupElement("mem_channel"));
    public static final long main_core$OFFSET = $LAYOUT.byteOffset(groupElement("main_core"));
    public static final long mem_size$OFFSET = $LAYOUT.byteOffset(groupElement("mem_size"));
    public static final long no_pci$OFFSET = $LAYOUT.byteOffset(groupElement("no_pci"));
    public static final long hugepage_single_segments$OFFSET = $LAYOUT.byteOffset(groupElement("hugepage_single_segments"));
    public static final long unlink_hugepage$OFFSET = $LAYOUT.byteOffset(groupElement("unlink_hugepage"));
    public static final long no_huge$OFFSET = $LAYOUT.byteOffset(groupElement("no_huge"));
    public static final long num_pci_addr$OFFSET = $LAYOUT.byteOffset(groupElement("num_pci_addr"));
    public static final long hugedir$OFFSET = $LAYOUT.byteOffset(groupElement("hugedir"));
    public static final long pci_blocked$OFFSET = $LAYOUT.byteOffset(groupElement("pci_blocked"));
    public static final long pci_allowed$OFFSET = $LAYOUT.byteOffset(groupElement("pci_allowed"));
    public static final long iova_mode$OFFSET = $LAYOUT.byteOffset(groupElement("iova_mode"));
    public static final long base_virtaddr$OFFSET = $LAYOUT.byteOffset(groupElement("base_virtaddr"));
    public static final long env_context$OFFSET = $LAYOUT.byteOffset(groupElement("env_context"));
    public static final long vf_token$OFFSET = $LAYOUT.byteOffset(groupElement("vf_token"));
    public static final long opts_size$OFFSET = $LAYOUT.byteOffset(groupElement("opts_size"));
    public static final long enforce_numa$OFFSET = $LAYOUT.byteOffset(groupElement("enforce_numa"));

    public static final VarHandle name$VH = $LAYOUT.varHandle(groupElement("name"));
    public static final VarHandle core_mask$VH = $LAYOUT.varHandle(groupElement("core_mask"));
    public static final VarHandle mem_size$VH = $LAYOUT.varHandle(groupElement("mem_size"));
    public static final VarHandle no_pci$VH = $LAYOUT.varHandle(groupElement("no_pci"));
    public static final VarHandle no_huge$VH = $LAYOUT.varHandle(groupElement("no_huge"));
    public static final VarHandle opts_size$VH = $LAYOUT.varHandle(groupElement("opts_size"));

    public static MemorySegment allocate(SegmentAllocator allocator) { return allocator.allocate($LAYOUT); }

    public static MemorySegment name(MemorySegment s) { return s.get(C_POINTER, name$OFFSET); }
    public static void name(MemorySegment s, MemorySegment v) { s.set(C_POINTER, name$OFFSET, v); }
    public static MemorySegment core_mask(MemorySegment s) { return s.get(C_POINTER, core_mask$OFFSET); }
    public static void core_mask(MemorySegment s, MemorySegment v) { s.set(C_POINTER, core_mask$OFFSET, v); }
    public static int shm_id(MemorySegment s) { return s.get(C_INT, shm_id$OFFSET); }
    public static void shm_id(MemorySegment s, int v) { s.set(C_INT, shm_id$OFFSET, v); }
    public static int mem_channel(MemorySegment s) { return s.get(C_INT, mem_channel$OFFSET); }
    public static int main_core(MemorySegment s) { return s.get(C_INT, main_core$OFFSET); }
    public static int mem_size(MemorySegment s) { return s.get(C_INT, mem_size$OFFSET); }
    public static void mem_size(MemorySegment s, int v) { s.set(C_INT, mem_size$OFFSET, v); }
    public static boolean no_pci(MemorySegment s) { return s.get(C_BOOL, no_pci$OFFSET); }
    public static void no_pci(MemorySegment s, boolean v) { s.set(C_BOOL, no_pci$OFFSET, v); }
    public static boolean no_huge(MemorySegment s) { return s.get(C_BOOL, no_huge$OFFSET); }
    public static void no_huge(MemorySegment s, boolean v) { s.set(C_BOOL, no_huge$OFFSET, v); }
    public static MemorySegment iova_mode(MemorySegment s) { return s.get(C_POINTER, iova_mode$OFFSET); }
    public static void iova_mode(MemorySegment s, MemorySegment v) { s.set(C_POINTER, iova_mode$OFFSET, v); }
    public static MemorySegment env_context(MemorySegment s) { return s.get(C_POINTER, env_context$OFFSET); }
    public static void env_context(MemorySegment s, MemorySegment v) { s.set(C_POINTER, env_context$OFFSET, v); }
    public static long opts_size(MemorySegment s) { return s.get(C_LONG, opts_size$OFFSET); }
    public static void opts_size(MemorySegment s, long v) { s.set(C_LONG, opts_size$OFFSET, v); }
    public static boolean enforce_numa(MemorySegment s) { return s.get(C_BOOL, enforce_numa$OFFSET); }
    public static void enforce_numa(MemorySegment s, boolean v) { s.set(C_BOOL, enforce_numa$OFFSET, v); }
}
