package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link BlockStoreTest} on {@code uring:} (O_DIRECT on a file of the work disk); skipped where io_uring is unavailable. */
class UringBlockStoreTest extends BlockStoreTest {
    @Override
    protected String uriTemplate() { return "uring:" + tmp.resolve("dev") + "?size=SIZE"; }

    @BeforeEach
    void needUring() {
        try (BlockDevice d = BlockDevices.open("uring:" + tmp.resolve("probe") + "?size=1m")) {
            assumeTrue(d.geometry().capacity() > 0);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            System.out.println("UringBlockStoreTest skipped: io_uring unavailable: " + e);
            assumeTrue(false, "io_uring unavailable: " + e);
        }
    }
}
