package io.dsf.rdma.verbs.gen;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The inline ibverbs data-path functions, exported by {@code native/verbs-shim} as
 * {@code dsf_ibv_*} in {@code libdsf_verbs_shim.so}: each returns what the inline function returns
 * (0 or an errno value for the posts, a count or a negative value for the poll). The handles are
 * {@code static final} and linked {@code critical} (short, non-blocking calls): call them with
 * {@code invokeExact} on the hot path. The shim is found at {@code $DSF_VERBS_SHIM}, else in
 * {@code -Ddsf.native.dir}; loading fails (on first use of this class) where it is absent.
 * Thread safe: stateless.
 */
public final class verbs_shim_h {
    private verbs_shim_h() {}

    public static final String FILE_NAME = "libdsf_verbs_shim.so";

    /** Where the shim is looked for. */
    public static Path location() {
        String env = System.getenv("DSF_VERBS_SHIM");
        if (env != null && !env.isEmpty()) return Path.of(env);
        return Path.of(System.getProperty("dsf.native.dir", "native/target"), FILE_NAME);
    }

    /** Whether the file is there (it may still fail to load). */
    public static boolean present() {
        return Files.isRegularFile(location());
    }

    private static final SymbolLookup SYMBOLS = SymbolLookup.libraryLookup(location(), Arena.global());
    private static final Linker.Option CRITICAL = Linker.Option.critical(false);

    /** {@code int dsf_ibv_post_send(struct ibv_qp *, struct ibv_send_wr *, struct ibv_send_wr **bad_wr)}. */
    public static final MethodHandle dsf_ibv_post_send$mh = ibverbs_h.downcall(SYMBOLS, "dsf_ibv_post_send",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), CRITICAL);
    /** {@code int dsf_ibv_post_recv(struct ibv_qp *, struct ibv_recv_wr *, struct ibv_recv_wr **bad_wr)}. */
    public static final MethodHandle dsf_ibv_post_recv$mh = ibverbs_h.downcall(SYMBOLS, "dsf_ibv_post_recv",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), CRITICAL);
    /** {@code int dsf_ibv_poll_cq(struct ibv_cq *, int num_entries, struct ibv_wc *)}. */
    public static final MethodHandle dsf_ibv_poll_cq$mh = ibverbs_h.downcall(SYMBOLS, "dsf_ibv_poll_cq",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), CRITICAL);
    /** {@code int dsf_ibv_req_notify_cq(struct ibv_cq *, int solicited_only)}. */
    public static final MethodHandle dsf_ibv_req_notify_cq$mh = ibverbs_h.downcall(SYMBOLS, "dsf_ibv_req_notify_cq",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), CRITICAL);
    /** {@code long dsf_verbs_shim_sizeof(int which)}: 0 ibv_sge, 1 ibv_send_wr, 2 ibv_recv_wr, 3 ibv_wc, as the shim was compiled. */
    public static final MethodHandle dsf_verbs_shim_sizeof$mh = ibverbs_h.downcall(SYMBOLS, "dsf_verbs_shim_sizeof",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT));

    public static long dsf_verbs_shim_sizeof(int which) {
        try {
            return (long) dsf_verbs_shim_sizeof$mh.invokeExact(which);
        } catch (Throwable t) {
            throw ibverbs_h.rethrow(t);
        }
    }
}
