package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.SpdkEmulator;
import io.dsf.bindings.spdk.SpdkLibrary;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Points the emulator (process-wide) at a fresh directory, so each test gets fresh namespaces. */
final class SpdkEmulatorSupport {
    static final String TRID = "trtype:PCIe traddr:0000:00:04.0";

    private SpdkEmulatorSupport() {}

    static void assumeEmulator() {
        String lib = System.getenv(SpdkLibrary.ENV);
        boolean ok = lib != null && lib.endsWith("libdsf_spdk_emu.so") && Files.exists(Path.of(lib));
        if (!ok) System.out.println("SKIP: DSF_SPDK_LIB does not name a built emulator: " + lib);
        assumeTrue(ok, "DSF_SPDK_LIB does not name a built emulator: " + lib);
    }

    /** Backing files go under {@code dir}; namespaces of {@code size}. Affects later connects only. */
    static void freshNamespaces(Path dir, String size) {
        assumeEmulator();
        SpdkEmulator.configure("dir", dir.toString());
        SpdkEmulator.configure("size", size);
    }
}
