package io.dsf.bindings.spdk;

import io.dsf.bindings.testing.ChildJvm;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The emulator enforces the rules a real SPDK imposes (notes/spdk.md). Each scenario runs in its
 * own JVM ({@link SpdkRulesProbe}) because the SPDK environment can be initialised once per process.
 */
@Timeout(120)
class SpdkEmulatorRulesTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void needsTheEmulator() {
        String lib = System.getenv(SpdkLibrary.ENV);
        boolean emu = lib != null && lib.endsWith("libdsf_spdk_emu.so") && Files.exists(Path.of(lib));
        if (!emu) System.out.println("SKIP SpdkEmulatorRulesTest: DSF_SPDK_LIB does not name a built emulator: " + lib);
        assumeTrue(emu, "DSF_SPDK_LIB does not name a built emulator: " + lib);
    }

    private ChildJvm.Result probe(Map<String, String> extraEnv, String... args) throws Exception {
        Map<String, String> env = new java.util.HashMap<>(Map.of("DSF_SPDK_EMU_DIR", dir.resolve("emu").toString(),
                "DSF_SPDK_EMU_SIZE", "64M", "DSF_SPDK_EMU_PIN", "0"));
        env.putAll(extraEnv);
        ChildJvm.Result r = ChildJvm.run(dir, env, java.util.List.of(), SpdkRulesProbe.class, args);
        assertEquals(0, r.exit(), r::toString);
        return r;
    }

    @Test
    void envOptsNeedOptsSizeBeforeInit() throws Exception {
        ChildJvm.Result r = probe(Map.of(), "opts-size");
        assertEquals("true", r.check("zmalloc-before-init-null"));
        assertEquals("false", r.check("name-filled-without-size"));
        assertEquals("-22", r.check("init-without-size"));
        assertEquals("true", r.check("name-filled-with-size"));
        assertEquals("0", r.check("init-with-size"), "a refused init does not use up the one init");
        assertTrue(r.stderr().contains("opts_size is 0, not 128"), r::toString);
    }

    @Test
    void envInitsOncePerProcess() throws Exception {
        ChildJvm.Result r = probe(Map.of(), "double-init");
        assertEquals("0", r.check("first"));
        assertEquals("-" + SpdkErrno.EALREADY, r.check("second"));
        assertTrue(r.stderr().contains("called twice"), r::toString);
    }

    @Test
    void aQpairBelongsToOneThread() throws Exception {
        ChildJvm.Result r = probe(Map.of(), "two-threads");
        assertEquals("-22", r.check("other-thread-submit"));
        assertEquals("-22", r.check("other-thread-process"));
        assertEquals("0", r.check("owner-submit"));
        assertEquals("1", r.check("owner-process"));
        assertEquals("0", r.check("owner-status"));
        assertEquals("0", r.check("free"));
        assertEquals("0", r.check("detach"));
        assertTrue(r.stderr().contains("qpair 1 used from two threads"), r::toString);
    }

    @Test
    void unpolledAdminQueueDisconnectsAfterKeepAlive() throws Exception {
        ChildJvm.Result r = probe(Map.of("DSF_SPDK_EMU_KATO_MS", "300"), "keep-alive", "false");
        assertEquals("true", r.check("connected"));
        assertEquals("0", r.check("submit-before"));
        assertEquals("-" + SpdkErrno.ENXIO, r.check("process-after"));
        assertEquals(String.valueOf(SpdkCpl.status(SpdkCpl.SCT_GENERIC, SpdkCpl.SC_ABORTED_SQ_DELETION)), r.check("outstanding-status"));
        assertEquals("-" + SpdkErrno.ENXIO, r.check("submit-after"));
        assertEquals("-" + SpdkErrno.ENXIO, r.check("admin-after"));
        assertTrue(r.stderr().contains("keep-alive timeout"), r::toString);
        assertTrue(Files.exists(dir.resolve("emu/tcp-127.0.0.1-4420-nqn.2016-06.io.dsf_probe.img")), "documented file name");
    }

    @Test
    void polledAdminQueueKeepsTheControllerAlive() throws Exception {
        ChildJvm.Result r = probe(Map.of("DSF_SPDK_EMU_KATO_MS", "300"), "keep-alive", "true");
        assertEquals("1", r.check("process-after"));
        assertEquals("0", r.check("outstanding-status"));
        assertEquals("0", r.check("submit-after"));
        assertEquals("0", r.check("admin-after"));
        assertEquals("0", r.check("free"), "free completes the outstanding write by aborting it");
    }

    @Test
    void ioRangesDmaAndDeallocate() throws Exception {
        ChildJvm.Result r = probe(Map.of(), "io");
        assertEquals("-" + SpdkErrno.ENOENT, r.check("parse-unknown-trtype"));
        assertEquals("-22", r.check("parse-no-separator"));
        assertEquals("0", r.check("parse-tcp"));
        assertEquals("3", r.check("tcp-trtype"));
        assertEquals("1", r.check("tcp-adrfam"));
        assertEquals("127.0.0.1", r.check("tcp-traddr"));
        assertEquals("4420", r.check("tcp-trsvcid"));
        assertEquals("nqn.2016-06.io.spdk:cnode1", r.check("tcp-subnqn"));
        assertEquals("true", r.check("tcp-without-subnqn-null"));
        assertEquals("true", r.check("second-attach-null"));
        assertEquals("1", r.check("nsid"));
        assertEquals("true", r.check("active"));
        assertEquals(String.valueOf(64L << 20), r.check("size"));
        assertEquals(String.valueOf((64L << 20) / 512), r.check("sectors"));
        assertEquals("512", r.check("sector"));
        assertEquals("131072", r.check("max-xfer"));
        assertEquals("3", r.check("flags"));
        assertEquals("1", r.check("dealloc-read"));
        assertEquals("-" + SpdkErrno.EFAULT, r.check("non-dma"));
        assertTrue(r.stderr().contains("is not DMA memory from spdk_zmalloc"), r::toString);
        assertEquals("0", r.check("oob-submit"), "ranges are checked by the device, not at submission");
        assertEquals("1", r.check("oob-process"));
        assertEquals(String.valueOf(SpdkCpl.status(SpdkCpl.SCT_GENERIC, SpdkCpl.SC_LBA_OUT_OF_RANGE)), r.check("oob-status"));
        assertEquals("0", r.check("write"));
        assertEquals("true", r.check("nothing-before-process"), "completions only inside process_completions");
        assertEquals("1", r.check("write-process"));
        assertEquals("0", r.check("write-status"));
        assertEquals("true", r.check("ctx-roundtrip"));
        assertEquals("true", r.check("read-back"));
        assertEquals("0", r.check("dsm"));
        assertEquals("0", r.check("dsm-status"));
        assertEquals("true", r.check("dealloc-zeros"));
        assertEquals("true", r.check("dealloc-neighbours-kept"));
        assertEquals("0", r.check("flush"));
        assertEquals("1", r.check("flush-process"));
        assertEquals("0", r.check("flush-status"));
        assertEquals("1", r.check("max-one"));
        assertEquals("0", r.check("free-aborts-outstanding"));
        assertEquals("2", r.check("abort-count"));
        assertEquals(String.valueOf(SpdkCpl.status(SpdkCpl.SCT_GENERIC, SpdkCpl.SC_ABORTED_SQ_DELETION)), r.check("abort-status"));
        assertEquals("0", r.check("detach"));
        assertEquals("true", r.check("reattach"));
        assertTrue(Files.exists(dir.resolve("emu/pcie-0000_00_04.0.img")), "documented file name");
    }
}
