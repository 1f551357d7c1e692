package io.dsf.bindings.spdk.gen;

import io.dsf.bindings.spdk.SpdkLibrary;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Header class for {@code spdk/env.h} + {@code spdk/nvme.h} (the subset in {@code jextract.args}):
 * constants, and per function a {@code static final MethodHandle name$mh} and a wrapper that calls it
 * with {@code invokeExact}. Symbols come from {@link SpdkLibrary#symbols()} (the library named by
 * {@code DSF_SPDK_LIB}); load it with {@link SpdkLibrary#load()} before touching this class so that a
 * missing library is a clear error rather than a failed class initialisation.
 *
 * <p>Two deliberate differences from plain jextract output: the symbol lookup (above), and the
 * short non-blocking calls (namespace getters and command submission) are linked with
 * {@code Linker.Option.critical(false)}. {@code spdk_nvme_qpair_process_completions} is not: it
 * calls back into Java. Thread safe (immutable); the calls follow SPDK's threading rules.
 */
public final class spdk_nvme_h {
    private spdk_nvme_h() {}

    public static final ValueLayout.OfBoolean C_BOOL = JAVA_BOOLEAN;
    public static final ValueLayout.OfByte C_CHAR = JAVA_BYTE;
    public static final ValueLayout.OfShort C_SHORT = JAVA_SHORT;
    public static final ValueLayout.OfInt C_INT = JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = JAVA_LONG;
    public static final AddressLayout C_POINTER = ADDRESS;

    // spdk/env.h
    public static final int SPDK_MALLOC_DMA = 0x01;
    public static final int SPDK_MALLOC_SHARE = 0x02;
    public static final int SPDK_ENV_NUMA_ID_ANY = -1;

    // enum spdk_nvme_transport_type
    public static final int SPDK_NVME_TRANSPORT_RDMA = 1;
    public static final int SPDK_NVME_TRANSPORT_FC = 2;
    public static final int SPDK_NVME_TRANSPORT_TCP = 3;
    public static final int SPDK_NVME_TRANSPORT_PCIE = 256;
    public static final int SPDK_NVME_TRANSPORT_VFIOUSER = 1024;
    public static final int SPDK_NVME_TRANSPORT_CUSTOM = 4096;

    // enum spdk_nvmf_adrfam
    public static final int SPDK_NVMF_ADRFAM_IPV4 = 1;
    public static final int SPDK_NVMF_ADRFAM_IPV6 = 2;

    // enum spdk_nvme_ns_flags
    public static final int SPDK_NVME_NS_DEALLOCATE_SUPPORTED = 0x1;
    public static final int SPDK_NVME_NS_FLUSH_SUPPORTED = 0x2;
    public static final int SPDK_NVME_NS_WRITE_ZEROES_SUPPORTED = 0x8;

    // enum spdk_nvme_dealloc_logical_block_read_value
    public static final int SPDK_NVME_DEALLOC_NOT_REPORTED = 0;
    public static final int SPDK_NVME_DEALLOC_READ_00 = 1;
    public static final int SPDK_NVME_DEALLOC_READ_FF = 2;

    // enum spdk_nvme_dsm_attribute
    public static final int SPDK_NVME_DSM_ATTR_INTEGRAL_READ = 0x1;
    public static final int SPDK_NVME_DSM_ATTR_INTEGRAL_WRITE = 0x2;
    public static final int SPDK_NVME_DSM_ATTR_DEALLOCATE = 0x4;

    // io_flags of spdk_nvme_ns_cmd_read / _write
    public static final int SPDK_NVME_IO_FLAGS_FORCE_UNIT_ACCESS = 1 << 30;

    static final SymbolLookup SYMBOL_LOOKUP = SpdkLibrary.symbols();
    static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option[] NONE = {};
    private static final Linker.Option[] CRITICAL = {Linker.Option.critical(false)};

    static MethodHandle downcall(String name, FunctionDescriptor desc, Linker.Option... options) {
        MemorySegment addr = SYMBOL_LOOKUP.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("unresolved SPDK symbol: " + name + " in " + SpdkLibrary.path()));
        return LINKER.downcallHandle(addr, desc, options);
    }

    private static AssertionError unreachable(Throwable t) {
        return new AssertionError("should not reach here", t);
    }

    // ------------------------------------------------------------------ spdk/env.h

    /** {@code void spdk_env_opts_init(struct spdk_env_opts *opts)}: set {@code opts_size} first. */
    public static final MethodHandle spdk_env_opts_init$mh = downcall("spdk_env_opts_init",
            FunctionDescriptor.ofVoid(C_POINTER), NONE);

    public static void spdk_env_opts_init(MemorySegment opts) {
        try {
            spdk_env_opts_init$mh.invokeExact(opts);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code int spdk_env_init(const struct spdk_env_opts *opts)}: once per process; pins the calling thread. */
    public static final MethodHandle spdk_env_init$mh = downcall("spdk_env_init",
            FunctionDescriptor.of(C_INT, C_POINTER), NONE);

    public static int spdk_env_init(MemorySegment opts) {
        try {
            return (int) spdk_env_init$mh.invokeExact(opts);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code void *spdk_zmalloc(size_t size, size_t align, uint64_t *unused, int numa_id, uint32_t flags)}. */
    public static final MethodHandle spdk_zmalloc$mh = downcall("spdk_zmalloc",
            FunctionDescriptor.of(C_POINTER, C_LONG, C_LONG, C_POINTER, C_INT, C_INT), NONE);

    public static MemorySegment spdk_zmalloc(long size, long align, MemorySegment unused, int numaId, int flags) {
        try {
            return (MemorySegment) spdk_zmalloc$mh.invokeExact(size, align, unused, numaId, flags);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code void spdk_free(void *buf)}. */
    public static final MethodHandle spdk_free$mh = downcall("spdk_free", FunctionDescriptor.ofVoid(C_POINTER), NONE);

    public static void spdk_free(MemorySegment buf) {
        try {
            spdk_free$mh.invokeExact(buf);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    // ------------------------------------------------------------------ spdk/nvme.h: controller

    /** {@code int spdk_nvme_transport_id_parse(struct spdk_nvme_transport_id *trid, const char *str)}. */
    public static final MethodHandle spdk_nvme_transport_id_parse$mh = downcall("spdk_nvme_transport_id_parse",
            FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER), NONE);

    public static int spdk_nvme_transport_id_parse(MemorySegment trid, MemorySegment str) {
        try {
            return (int) spdk_nvme_transport_id_parse$mh.invokeExact(trid, str);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code void spdk_nvme_ctrlr_get_default_ctrlr_opts(struct spdk_nvme_ctrlr_opts *opts, size_t opts_size)}. */
    public static final MethodHandle spdk_nvme_ctrlr_get_default_ctrlr_opts$mh = downcall(
            "spdk_nvme_ctrlr_get_default_ctrlr_opts", FunctionDescriptor.ofVoid(C_POINTER, C_LONG), NONE);

    public static void spdk_nvme_ctrlr_get_default_ctrlr_opts(MemorySegment opts, long optsSize) {
        try {
            spdk_nvme_ctrlr_get_default_ctrlr_opts$mh.invokeExact(opts, optsSize);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /**
     * {@code struct spdk_nvme_ctrlr *spdk_nvme_connect(const struct spdk_nvme_transport_id *trid,
     * const struct spdk_nvme_ctrlr_opts *opts, size_t opts_size)}: NULL on failure. Blocking.
     */
    public static final MethodHandle spdk_nvme_connect$mh = downcall("spdk_nvme_connect",
            FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER, C_LONG), NONE);

    public static MemorySegment spdk_nvme_connect(MemorySegment trid, MemorySegment opts, long optsSize) {
        try {
            return (MemorySegment) spdk_nvme_connect$mh.invokeExact(trid, opts, optsSize);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code int spdk_nvme_detach(struct spdk_nvme_ctrlr *ctrlr)}. Blocking. */
    public static final MethodHandle spdk_nvme_detach$mh = downcall("spdk_nvme_detach",
            FunctionDescriptor.of(C_INT, C_POINTER), NONE);

    public static int spdk_nvme_detach(MemorySegment ctrlr) {
        try {
            return (int) spdk_nvme_detach$mh.invokeExact(ctrlr);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code int32_t spdk_nvme_ctrlr_process_admin_completions(struct spdk_nvme_ctrlr *ctrlr)}: also sends keep-alives. */
    public static final MethodHandle spdk_nvme_ctrlr_process_admin_completions$mh = downcall(
            "spdk_nvme_ctrlr_process_admin_completions", FunctionDescriptor.of(C_INT, C_POINTER), NONE);

    public static int spdk_nvme_ctrlr_process_admin_completions(MemorySegment ctrlr) {
        try {
            return (int) spdk_nvme_ctrlr_process_admin_completions$mh.invokeExact(ctrlr);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint32_t spdk_nvme_ctrlr_get_num_ns(struct spdk_nvme_ctrlr *ctrlr)}. */
    public static final MethodHandle spdk_nvme_ctrlr_get_num_ns$mh = downcall("spdk_nvme_ctrlr_get_num_ns",
            FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ctrlr_get_num_ns(MemorySegment ctrlr) {
        try {
            return (int) spdk_nvme_ctrlr_get_num_ns$mh.invokeExact(ctrlr);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint32_t spdk_nvme_ctrlr_get_first_active_ns(struct spdk_nvme_ctrlr *ctrlr)}: 0 when none. */
    public static final MethodHandle spdk_nvme_ctrlr_get_first_active_ns$mh = downcall(
            "spdk_nvme_ctrlr_get_first_active_ns", FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ctrlr_get_first_active_ns(MemorySegment ctrlr) {
        try {
            return (int) spdk_nvme_ctrlr_get_first_active_ns$mh.invokeExact(ctrlr);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code struct spdk_nvme_ns *spdk_nvme_ctrlr_get_ns(struct spdk_nvme_ctrlr *ctrlr, uint32_t ns_id)}. */
    public static final MethodHandle spdk_nvme_ctrlr_get_ns$mh = downcall("spdk_nvme_ctrlr_get_ns",
            FunctionDescriptor.of(C_POINTER, C_POINTER, C_INT), CRITICAL);

    public static MemorySegment spdk_nvme_ctrlr_get_ns(MemorySegment ctrlr, int nsId) {
        try {
            return (MemorySegment) spdk_nvme_ctrlr_get_ns$mh.invokeExact(ctrlr, nsId);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    // ------------------------------------------------------------------ spdk/nvme.h: namespace

    /** {@code bool spdk_nvme_ns_is_active(struct spdk_nvme_ns *ns)}. */
    public static final MethodHandle spdk_nvme_ns_is_active$mh = downcall("spdk_nvme_ns_is_active",
            FunctionDescriptor.of(C_BOOL, C_POINTER), CRITICAL);

    public static boolean spdk_nvme_ns_is_active(MemorySegment ns) {
        try {
            return (boolean) spdk_nvme_ns_is_active$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint32_t spdk_nvme_ns_get_id(struct spdk_nvme_ns *ns)}. */
    public static final MethodHandle spdk_nvme_ns_get_id$mh = downcall("spdk_nvme_ns_get_id",
            FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_get_id(MemorySegment ns) {
        try {
            return (int) spdk_nvme_ns_get_id$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint64_t spdk_nvme_ns_get_size(struct spdk_nvme_ns *ns)}: bytes. */
    public static final MethodHandle spdk_nvme_ns_get_size$mh = downcall("spdk_nvme_ns_get_size",
            FunctionDescriptor.of(C_LONG, C_POINTER), CRITICAL);

    public static long spdk_nvme_ns_get_size(MemorySegment ns) {
        try {
            return (long) spdk_nvme_ns_get_size$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint64_t spdk_nvme_ns_get_num_sectors(struct spdk_nvme_ns *ns)}. */
    public static final MethodHandle spdk_nvme_ns_get_num_sectors$mh = downcall("spdk_nvme_ns_get_num_sectors",
            FunctionDescriptor.of(C_LONG, C_POINTER), CRITICAL);

    public static long spdk_nvme_ns_get_num_sectors(MemorySegment ns) {
        try {
            return (long) spdk_nvme_ns_get_num_sectors$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint32_t spdk_nvme_ns_get_sector_size(struct spdk_nvme_ns *ns)}. */
    public static final MethodHandle spdk_nvme_ns_get_sector_size$mh = downcall("spdk_nvme_ns_get_sector_size",
            FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_get_sector_size(MemorySegment ns) {
        try {
            return (int) spdk_nvme_ns_get_sector_size$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint32_t spdk_nvme_ns_get_max_io_xfer_size(struct spdk_nvme_ns *ns)}: bytes. */
    public static final MethodHandle spdk_nvme_ns_get_max_io_xfer_size$mh = downcall(
            "spdk_nvme_ns_get_max_io_xfer_size", FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_get_max_io_xfer_size(MemorySegment ns) {
        try {
            return (int) spdk_nvme_ns_get_max_io_xfer_size$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code uint32_t spdk_nvme_ns_get_flags(struct spdk_nvme_ns *ns)}: {@code SPDK_NVME_NS_*} bits. */
    public static final MethodHandle spdk_nvme_ns_get_flags$mh = downcall("spdk_nvme_ns_get_flags",
            FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_get_flags(MemorySegment ns) {
        try {
            return (int) spdk_nvme_ns_get_flags$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code enum spdk_nvme_dealloc_logical_block_read_value spdk_nvme_ns_get_dealloc_logical_block_read_value(struct spdk_nvme_ns *ns)}. */
    public static final MethodHandle spdk_nvme_ns_get_dealloc_logical_block_read_value$mh = downcall(
            "spdk_nvme_ns_get_dealloc_logical_block_read_value", FunctionDescriptor.of(C_INT, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_get_dealloc_logical_block_read_value(MemorySegment ns) {
        try {
            return (int) spdk_nvme_ns_get_dealloc_logical_block_read_value$mh.invokeExact(ns);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    // ------------------------------------------------------------------ spdk/nvme.h: I/O qpairs

    /**
     * {@code struct spdk_nvme_qpair *spdk_nvme_ctrlr_alloc_io_qpair(struct spdk_nvme_ctrlr *ctrlr,
     * const struct spdk_nvme_io_qpair_opts *opts, size_t opts_size)}: pass NULL, 0 for defaults.
     */
    public static final MethodHandle spdk_nvme_ctrlr_alloc_io_qpair$mh = downcall("spdk_nvme_ctrlr_alloc_io_qpair",
            FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER, C_LONG), NONE);

    public static MemorySegment spdk_nvme_ctrlr_alloc_io_qpair(MemorySegment ctrlr, MemorySegment opts, long optsSize) {
        try {
            return (MemorySegment) spdk_nvme_ctrlr_alloc_io_qpair$mh.invokeExact(ctrlr, opts, optsSize);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code int spdk_nvme_ctrlr_free_io_qpair(struct spdk_nvme_qpair *qpair)}: outstanding commands are aborted (callbacks run). */
    public static final MethodHandle spdk_nvme_ctrlr_free_io_qpair$mh = downcall("spdk_nvme_ctrlr_free_io_qpair",
            FunctionDescriptor.of(C_INT, C_POINTER), NONE);

    public static int spdk_nvme_ctrlr_free_io_qpair(MemorySegment qpair) {
        try {
            return (int) spdk_nvme_ctrlr_free_io_qpair$mh.invokeExact(qpair);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /**
     * {@code int32_t spdk_nvme_qpair_process_completions(struct spdk_nvme_qpair *qpair, uint32_t max_completions)}:
     * runs completion callbacks on the calling thread; 0 = no limit; -ENXIO when the qpair failed.
     */
    public static final MethodHandle spdk_nvme_qpair_process_completions$mh = downcall(
            "spdk_nvme_qpair_process_completions", FunctionDescriptor.of(C_INT, C_POINTER, C_INT), NONE);

    public static int spdk_nvme_qpair_process_completions(MemorySegment qpair, int maxCompletions) {
        try {
            return (int) spdk_nvme_qpair_process_completions$mh.invokeExact(qpair, maxCompletions);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    private static final FunctionDescriptor RW_DESC = FunctionDescriptor.of(C_INT,
            C_POINTER, C_POINTER, C_POINTER, C_LONG, C_INT, C_POINTER, C_POINTER, C_INT);

    /**
     * {@code int spdk_nvme_ns_cmd_read(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, void *payload,
     * uint64_t lba, uint32_t lba_count, spdk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)}.
     */
    public static final MethodHandle spdk_nvme_ns_cmd_read$mh = downcall("spdk_nvme_ns_cmd_read", RW_DESC, CRITICAL);

    public static int spdk_nvme_ns_cmd_read(MemorySegment ns, MemorySegment qpair, MemorySegment payload, long lba,
                                            int lbaCount, MemorySegment cbFn, MemorySegment cbArg, int ioFlags) {
        try {
            return (int) spdk_nvme_ns_cmd_read$mh.invokeExact(ns, qpair, payload, lba, lbaCount, cbFn, cbArg, ioFlags);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code int spdk_nvme_ns_cmd_write(...)}: same parameters as {@link #spdk_nvme_ns_cmd_read}. */
    public static final MethodHandle spdk_nvme_ns_cmd_write$mh = downcall("spdk_nvme_ns_cmd_write", RW_DESC, CRITICAL);

    public static int spdk_nvme_ns_cmd_write(MemorySegment ns, MemorySegment qpair, MemorySegment payload, long lba,
                                             int lbaCount, MemorySegment cbFn, MemorySegment cbArg, int ioFlags) {
        try {
            return (int) spdk_nvme_ns_cmd_write$mh.invokeExact(ns, qpair, payload, lba, lbaCount, cbFn, cbArg, ioFlags);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /** {@code int spdk_nvme_ns_cmd_flush(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, spdk_nvme_cmd_cb cb_fn, void *cb_arg)}. */
    public static final MethodHandle spdk_nvme_ns_cmd_flush$mh = downcall("spdk_nvme_ns_cmd_flush",
            FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_cmd_flush(MemorySegment ns, MemorySegment qpair, MemorySegment cbFn, MemorySegment cbArg) {
        try {
            return (int) spdk_nvme_ns_cmd_flush$mh.invokeExact(ns, qpair, cbFn, cbArg);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }

    /**
     * {@code int spdk_nvme_ns_cmd_dataset_management(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair,
     * uint32_t type, const struct spdk_nvme_dsm_range *ranges, uint16_t num_ranges, spdk_nvme_cmd_cb cb_fn,
     * void *cb_arg)}: SPDK copies {@code ranges} before returning.
     */
    public static final MethodHandle spdk_nvme_ns_cmd_dataset_management$mh = downcall(
            "spdk_nvme_ns_cmd_dataset_management",
            FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT, C_POINTER, C_SHORT, C_POINTER, C_POINTER), CRITICAL);

    public static int spdk_nvme_ns_cmd_dataset_management(MemorySegment ns, MemorySegment qpair, int type,
                                                          MemorySegment ranges, short numRanges,
                                                          MemorySegment cbFn, MemorySegment cbArg) {
        try {
            return (int) spdk_nvme_ns_cmd_dataset_management$mh.invokeExact(ns, qpair, type, ranges, numRanges, cbFn, cbArg);
        } catch (Throwable t) {
            throw unreachable(t);
        }
    }
}
