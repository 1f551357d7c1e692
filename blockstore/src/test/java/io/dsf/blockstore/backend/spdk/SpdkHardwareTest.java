package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.SpdkLibrary;
import io.dsf.bindings.spdk.SpdkLibraryException;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The spdk: contract against a real SPDK and target: runs when {@code DSF_SPDK_TRID} names a
 * transport id (e.g. {@code trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:...} for
 * SPDK's {@code nvmf_tgt}) and {@code DSF_SPDK_LIB} a real SPDK bundle library, otherwise skips with
 * the reason. It overwrites the first 8 MiB of the namespace: point it at a scratch device.
 */
@Tag("hw-spdk")
@Timeout(120)
class SpdkHardwareTest extends SpdkDeviceContract {
    @BeforeAll
    static void needsRealSpdk() {
        String reason = HardwareSpdk.skipReason();
        if (reason != null) System.out.println("SKIP SpdkHardwareTest: " + reason);
        assumeTrue(reason == null, reason);
    }

    @Override
    protected BlockDevice openDevice() {
        return BlockDevices.open("spdk:" + System.getenv("DSF_SPDK_TRID"));
    }

    /** Decides whether a real SPDK and target are configured. */
    static final class HardwareSpdk {
        private HardwareSpdk() {}

        /** Null when the hardware tests can run, else why not. */
        static String skipReason() {
            String trid = System.getenv("DSF_SPDK_TRID");
            if (trid == null || trid.isBlank()) return "DSF_SPDK_TRID is not set (no real SPDK target configured)";
            try {
                SpdkLibrary.load();
            } catch (SpdkLibraryException e) {
                return e.getMessage();
            }
            if (SpdkLibrary.isEmulator()) return "DSF_SPDK_LIB=" + SpdkLibrary.path() + " is dsf's emulator, not a real SPDK";
            return null;
        }
    }
}
