package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.testing.ChildJvm;

import io.dsf.bindings.spdk.SpdkLibrary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * spdk: behaviour that needs a process of its own (the environment is initialised once per process):
 * a missing or wrong {@code DSF_SPDK_LIB}, and keep-alive, held by the environment thread's admin
 * polling and lost without it.
 */
@Timeout(120)
class SpdkProcessTest {
    static final String URI = "spdk:" + SpdkEmulatorSupport.TRID;

    @TempDir
    Path dir;

    private Map<String, String> env(String lib) {
        Map<String, String> env = new HashMap<>();
        env.put(SpdkLibrary.ENV, lib);
        env.put("DSF_SPDK_EMU_DIR", dir.resolve("emu").toString());
        env.put("DSF_SPDK_EMU_SIZE", "16M");
        return env;
    }

    private ChildJvm.Result run(Map<String, String> env, List<String> jvmArgs, String... args) throws Exception {
        ChildJvm.Result r = ChildJvm.run(dir, env, jvmArgs, SpdkDeviceProbe.class, args);
        assertEquals(0, r.exit(), r::toString);
        return r;
    }

    @Test
    void withoutDsfSpdkLibTheErrorSaysWhatToInstall() throws Exception {
        ChildJvm.Result r = run(env(null), List.of(), "open", URI);
        assertEquals("OTHER", r.check("error"));
        String m = r.check("message");
        assertTrue(m.contains("DSF_SPDK_LIB is not set") && m.contains("libdsf_spdk_emu.so") && m.contains("real SPDK"), m);
    }

    @Test
    void anUnloadableLibraryIsNamed() throws Exception {
        Path missing = dir.resolve("libspdk_bundle.so");
        ChildJvm.Result r = run(env(missing.toString()), List.of(), "open", URI);
        assertEquals("OTHER", r.check("error"));
        assertTrue(r.check("message").contains("DSF_SPDK_LIB=" + missing), r.check("message"));
    }

    @Test
    void theEnvironmentThreadKeepsTheControllerAlive() throws Exception {
        SpdkEmulatorSupport.assumeEmulator();
        Map<String, String> env = env(System.getenv(SpdkLibrary.ENV));
        env.put("DSF_SPDK_EMU_KATO_MS", "300");
        ChildJvm.Result r = run(env, List.of("-Ddsf.spdk.adminPollMs=50"), "keep-alive", URI);
        assertEquals("0", r.check("first"));
        assertEquals("0", r.check("inflight-submit"));
        assertEquals("ok", r.check("inflight-status"));
        assertEquals("ok", r.check("after-submit"));
        assertEquals("ok", r.check("open-queue"));
        assertEquals("ok", r.check("reopen-write"));
        assertTrue(!r.stderr().contains("keep-alive timeout"), r::toString);
    }

    @Test
    void withoutAdminPollingTheDeviceIsLost() throws Exception {
        SpdkEmulatorSupport.assumeEmulator();
        Map<String, String> env = env(System.getenv(SpdkLibrary.ENV));
        env.put("DSF_SPDK_EMU_KATO_MS", "300");
        ChildJvm.Result r = run(env, List.of("-Ddsf.spdk.adminPollMs=0"), "keep-alive", URI);
        assertEquals("0", r.check("first"));
        assertEquals("0", r.check("inflight-submit"));
        assertTrue(r.check("inflight-status").startsWith("DEVICE_LOST"), r::toString);
        assertTrue(r.check("after-submit").startsWith("DEVICE_LOST"), r::toString);
        assertEquals("DEVICE_LOST", r.check("open-queue"));
        assertEquals("ok", r.check("reopen-write"), "closing every device detaches; reopening reconnects");
        assertTrue(r.stderr().contains("keep-alive timeout"), r::toString);
    }
}
