package io.dsf.bindings.spdk;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loader never falls back: every failure names DSF_SPDK_LIB and what to install. */
class SpdkLibraryTest {

    @Test
    void unsetNamesTheVariableAndBothChoices() {
        SpdkLibraryException e = assertThrows(SpdkLibraryException.class, () -> SpdkLibrary.resolve(null, " "));
        assertTrue(e.getMessage().startsWith("DSF_SPDK_LIB is not set"), e.getMessage());
        assertTrue(e.getMessage().contains("libdsf_spdk_emu.so"), e.getMessage());
        assertTrue(e.getMessage().contains("bundle"), e.getMessage());
    }

    @Test
    void environmentWinsOverProperty() {
        assertEquals("/a.so", SpdkLibrary.resolve("/a.so", "/b.so"));
        assertEquals("/b.so", SpdkLibrary.resolve("", "/b.so"));
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path p = dir.resolve("libspdk_bundle.so");
        SpdkLibraryException e = assertThrows(SpdkLibraryException.class, () -> SpdkLibrary.open(p));
        assertTrue(e.getMessage().contains("DSF_SPDK_LIB=" + p) && e.getMessage().contains("no such file"), e.getMessage());
    }

    @Test
    void garbageFileCannotBeLoaded(@TempDir Path dir) throws IOException {
        Path p = Files.writeString(dir.resolve("libjunk.so"), "not an ELF file");
        SpdkLibraryException e = assertThrows(SpdkLibraryException.class, () -> SpdkLibrary.open(p));
        assertTrue(e.getMessage().contains("cannot be loaded"), e.getMessage());
    }

    @Test
    void aLibraryWithoutSpdkSymbolsIsRejected() {
        Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(libc), "no glibc at " + libc);
        SpdkLibraryException e = assertThrows(SpdkLibraryException.class, () -> SpdkLibrary.open(libc));
        assertTrue(e.getMessage().contains("missing [spdk_env_opts_init"), e.getMessage());
    }

    @Test
    void theEmulatorExportsEverything() {
        String lib = System.getenv(SpdkLibrary.ENV);
        org.junit.jupiter.api.Assumptions.assumeTrue(lib != null && lib.endsWith("libdsf_spdk_emu.so"),
                "DSF_SPDK_LIB does not name the emulator: " + lib);
        SpdkLibrary.open(Path.of(lib)); // throws if a required symbol is missing
        assertTrue(SpdkLibrary.isEmulator());
        assertTrue(SpdkEmulator.version().startsWith("dsf-spdk-emu"));
    }
}
