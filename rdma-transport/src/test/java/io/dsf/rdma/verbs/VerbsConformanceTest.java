package io.dsf.rdma.verbs;

import io.dsf.rdma.Transports;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.rdma.testing.TransportConformance;
import org.junit.jupiter.api.Tag;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The transport conformance suite on real verbs: runs where an RDMA device exists (hardware or a
 * soft device: rdma_rxe, siw) and {@code DSF_RDMA_ADDR} names an IP address of an interface on
 * it; elsewhere every test is skipped with the reason printed. {@code DSF_RDMA_DEVICE} picks the
 * device (default: the first).
 */
@Tag("hw-rdma")
class VerbsConformanceTest extends TransportConformance {
    private static final String SKIP_REASON = skipReason();
    private static InetAddress address;

    private static String skipReason() {
        String reason = VerbsLibrary.noDeviceReason();
        String addr = System.getenv("DSF_RDMA_ADDR");
        if (reason == null && (addr == null || addr.isBlank()))
            reason = "DSF_RDMA_ADDR is not set (an IP address of an interface on the RDMA device " + VerbsLibrary.deviceNames() + ")";
        if (reason == null) {
            try {
                address = InetAddress.getByName(addr);
            } catch (UnknownHostException e) {
                reason = "DSF_RDMA_ADDR=" + addr + " does not resolve";
            }
        }
        if (reason != null) System.out.println("VerbsConformanceTest skipped: " + reason);
        return reason;
    }

    /** Each test skips itself (reported as skipped, with the reason) where no device can run it. */
    @Override
    protected RdmaTransport openTransport() throws Exception {
        assumeTrue(SKIP_REASON == null, SKIP_REASON);
        return Transports.open("verbs", System.getenv("DSF_RDMA_DEVICE"));
    }

    @Override
    protected InetSocketAddress listenAddress() {
        return new InetSocketAddress(address, 0);
    }
}
