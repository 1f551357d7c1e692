package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.conformance.DeviceConformanceSuite;
import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The shared conformance suite against a real SPDK target ({@code DSF_SPDK_TRID} with a real
 * {@code DSF_SPDK_LIB}); skips with the reason otherwise. To hand the suite a "fresh" device it
 * deallocates the whole namespace first, so it needs one that supports deallocate and reads zeros
 * afterwards. DESTRUCTIVE: point DSF_SPDK_TRID at a scratch namespace.
 */
@Tag("hw-spdk")
class SpdkHardwareConformanceTest extends DeviceConformanceSuite {
    @BeforeAll
    static void needsRealSpdk() {
        String reason = SpdkHardwareTest.HardwareSpdk.skipReason();
        if (reason != null) System.out.println("SKIP SpdkHardwareConformanceTest: " + reason);
        assumeTrue(reason == null, reason);
    }

    private static String uri() { return "spdk:" + System.getenv("DSF_SPDK_TRID"); }

    @Override
    protected BlockDevice openDevice(Path tmpDir) {
        BlockDevice d = BlockDevices.open(uri());
        if (!d.geometry().trimSupported() || !d.geometry().trimReadsZero()) {
            d.close();
            System.out.println("SKIP SpdkHardwareConformanceTest: the namespace cannot be wiped by deallocate");
            assumeTrue(false, "the namespace cannot be wiped by deallocate (no trim reading zeros)");
        }
        long cap = d.geometry().capacity();
        long chunk = 1L << 30;
        try (SyncIo io = new SyncIo(d)) {
            for (long off = 0; off < cap; off += chunk) io.trim(off, Math.min(chunk, cap - off));
            io.flush();
        }
        return d;
    }

    @Override
    protected BlockDevice reopenDevice(Path tmpDir) {
        return BlockDevices.open(uri());
    }
}
