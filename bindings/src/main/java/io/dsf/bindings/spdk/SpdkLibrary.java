package io.dsf.bindings.spdk;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and loads the shared library that provides the SPDK NVMe driver API, once per process.
 * Its path comes from the environment variable {@value #ENV}, else the system property
 * {@value #PROPERTY}; there is no default and no fallback: it is either a real SPDK "bundle" library
 * (one {@code .so} linked against {@code libspdk_nvme}, {@code libspdk_env_dpdk} and DPDK, because
 * SPDK's own libraries do not declare those dependencies) or {@code native/}'s emulator
 * {@code libdsf_spdk_emu.so}. Every symbol in {@link #REQUIRED_SYMBOLS} is checked at load time so a
 * wrong library fails here, with its name, instead of at the first I/O. Thread safe.
 */
public final class SpdkLibrary {
    /** Environment variable naming the library. */
    public static final String ENV = "DSF_SPDK_LIB";
    /** System property used when {@link #ENV} is unset. */
    public static final String PROPERTY = "dsf.spdk.lib";
    /** Symbol exported only by dsf's emulator. */
    static final String EMULATOR_SYMBOL = "dsf_spdk_emu_version";

    /** Every function the bindings in {@code gen/} link. */
    public static final List<String> REQUIRED_SYMBOLS = List.of(
            "spdk_env_opts_init", "spdk_env_init", "spdk_zmalloc", "spdk_free",
            "spdk_nvme_transport_id_parse", "spdk_nvme_ctrlr_get_default_ctrlr_opts", "spdk_nvme_connect",
            "spdk_nvme_detach", "spdk_nvme_ctrlr_process_admin_completions", "spdk_nvme_ctrlr_get_num_ns",
            "spdk_nvme_ctrlr_get_first_active_ns", "spdk_nvme_ctrlr_get_ns", "spdk_nvme_ns_is_active",
            "spdk_nvme_ns_get_id", "spdk_nvme_ns_get_size", "spdk_nvme_ns_get_num_sectors",
            "spdk_nvme_ns_get_sector_size", "spdk_nvme_ns_get_max_io_xfer_size", "spdk_nvme_ns_get_flags",
            "spdk_nvme_ns_get_dealloc_logical_block_read_value", "spdk_nvme_ctrlr_alloc_io_qpair",
            "spdk_nvme_ctrlr_free_io_qpair", "spdk_nvme_qpair_process_completions", "spdk_nvme_ns_cmd_read",
            "spdk_nvme_ns_cmd_write", "spdk_nvme_ns_cmd_flush", "spdk_nvme_ns_cmd_dataset_management");

    static final String WHAT_TO_INSTALL = "point " + ENV + " at either a real SPDK (v24.09 ABI, shared-library build: "
            + "one 'bundle' .so linked against libspdk_nvme, libspdk_env_dpdk and the DPDK libraries, see notes/spdk.md) "
            + "or dsf's emulator, native/target/libdsf_spdk_emu.so (built by './mvnw -pl native compile' or 'make -C native')";

    private static volatile SymbolLookup lookup;
    private static volatile Path path;

    private SpdkLibrary() {}

    /**
     * Loads the library once and returns its symbols.
     *
     * @throws SpdkLibraryException when {@value #ENV} is unset, the file cannot be loaded or a symbol is missing
     */
    public static SymbolLookup load() {
        SymbolLookup l = lookup;
        if (l != null) return l;
        synchronized (SpdkLibrary.class) {
            if (lookup == null) {
                Path p = Path.of(resolve(System.getenv(ENV), System.getProperty(PROPERTY)));
                SymbolLookup opened = open(p);
                path = p;
                lookup = opened;
            }
            return lookup;
        }
    }

    /** The loaded library's symbols, loading it on first use (the {@code gen/} classes call this). */
    public static SymbolLookup symbols() {
        SymbolLookup l = lookup;
        return l != null ? l : load();
    }

    /** Path of the loaded library, or {@code null} before {@link #load()}. */
    public static Path path() { return path; }

    /** Whether the loaded library is dsf's emulator rather than a real SPDK. */
    public static boolean isEmulator() {
        return symbols().find(EMULATOR_SYMBOL).isPresent();
    }

    /**
     * Picks the library path from the variable's and the property's values.
     *
     * @throws SpdkLibraryException when both are unset or blank
     */
    public static String resolve(String envValue, String propertyValue) {
        if (envValue != null && !envValue.isBlank()) return envValue.trim();
        if (propertyValue != null && !propertyValue.isBlank()) return propertyValue.trim();
        throw new SpdkLibraryException(ENV + " is not set (nor -D" + PROPERTY + "): the spdk: backend loads the SPDK NVMe "
                + "driver from the shared library it names and never falls back to anything else; " + WHAT_TO_INSTALL);
    }

    /**
     * Opens {@code library} with {@link SymbolLookup#libraryLookup(Path, Arena)} (global arena: it stays
     * loaded for the life of the process) and checks the required symbols.
     *
     * @throws SpdkLibraryException when it cannot be loaded or lacks a symbol
     */
    public static SymbolLookup open(Path library) {
        String where = ENV + "=" + library;
        if (!Files.isRegularFile(library))
            throw new SpdkLibraryException(where + ": no such file; " + WHAT_TO_INSTALL);
        SymbolLookup l;
        try {
            l = SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            throw new SpdkLibraryException(where + ": cannot be loaded (" + e.getMessage() + "); a real SPDK needs a bundle "
                    + "library that links all SPDK/DPDK dependencies; " + WHAT_TO_INSTALL, e);
        }
        List<String> missing = new ArrayList<>();
        for (String s : REQUIRED_SYMBOLS) if (l.find(s).isEmpty()) missing.add(s);
        if (!missing.isEmpty())
            throw new SpdkLibraryException(where + ": not an SPDK NVMe driver library, missing " + missing + "; " + WHAT_TO_INSTALL);
        return l;
    }
}
