package io.dsf.rdma.verbs;

import io.dsf.bindings.libc.Errno;
import io.dsf.rdma.verbs.gen.ibv_recv_wr;
import io.dsf.rdma.verbs.gen.ibv_send_wr;
import io.dsf.rdma.verbs.gen.ibv_sge;
import io.dsf.rdma.verbs.gen.ibv_wc;
import io.dsf.rdma.verbs.gen.ibverbs_h;
import io.dsf.rdma.verbs.gen.rdma_cma_h;
import io.dsf.rdma.verbs.gen.verbs_shim_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the verbs transport can run here, and which RDMA devices exist: loads libibverbs,
 * librdmacm and the shim once, checks the shim's struct sizes against the Java layouts, and lists
 * devices with {@code ibv_get_device_list}. Every answer is a reason a person can act on, never
 * an exception from the class loader. Thread safe.
 */
public final class VerbsLibrary {
    private VerbsLibrary() {}

    private static final String REASON = probe();

    private static String probe() {
        for (String lib : new String[] {ibverbs_h.LIBRARY, rdma_cma_h.LIBRARY}) {
            try {
                SymbolLookup.libraryLookup(lib, Arena.global());
            } catch (IllegalArgumentException | IllegalCallerException e) {
                return lib + " cannot be loaded (Debian: apt-get install rdma-core libibverbs1 librdmacm1): " + e.getMessage();
            }
        }
        if (!verbs_shim_h.present())
            return "the verbs shim " + verbs_shim_h.location() + " is not built (native/ builds it where libibverbs-dev is installed)";
        try {
            long[][] sizes = {{0, ibv_sge.sizeof()}, {1, ibv_send_wr.sizeof()}, {2, ibv_recv_wr.sizeof()}, {3, ibv_wc.sizeof()}};
            for (long[] s : sizes) {
                long c = verbs_shim_h.dsf_verbs_shim_sizeof((int) s[0]);
                if (c != s[1]) return "the verbs shim was built against other rdma-core headers (struct " + s[0] + ": C " + c + " bytes, Java " + s[1] + ")";
            }
        } catch (Throwable t) {
            return "the verbs shim " + verbs_shim_h.location() + " cannot be loaded: " + t;
        }
        return null;
    }

    /** {@code null} when the libraries and the shim load; else what is missing. */
    public static String unavailableReason() {
        return REASON;
    }

    /** Names of the RDMA devices {@code ibv_get_device_list} reports (empty when there are none). */
    public static List<String> deviceNames() {
        if (REASON != null) return List.of();
        List<String> names = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment num = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment list = ibverbs_h.ibv_get_device_list(num);
            if (list.equals(MemorySegment.NULL)) return names; // e.g. ENOSYS: no uverbs support in this kernel
            int n = num.get(ValueLayout.JAVA_INT, 0);
            MemorySegment arr = list.reinterpret((long) n * ValueLayout.ADDRESS.byteSize());
            for (int i = 0; i < n; i++) {
                MemorySegment dev = arr.getAtIndex(ValueLayout.ADDRESS, i);
                names.add(ibverbs_h.ibv_get_device_name(dev).reinterpret(256).getString(0));
            }
            ibverbs_h.ibv_free_device_list(list);
        }
        return names;
    }

    /** {@code null} when the transport can run on a device here; else why not (for logs and skipped tests). */
    public static String noDeviceReason() {
        if (REASON != null) return REASON;
        List<String> devices = deviceNames();
        if (devices.isEmpty()) {
            int errno = Errno.last();
            return "no RDMA device: ibv_get_device_list lists none" + (errno != 0 ? " (" + Errno.describe(errno) + ")" : "")
                    + "; load a soft device (rdma_rxe / siw) or use the tcp transport";
        }
        return null;
    }
}
