package io.dsf.rdma.tcp;

import io.dsf.rdma.api.RdmaTransport;
import io.dsf.rdma.testing.TransportConformance;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/** The transport conformance suite on the tcp emulation over loopback. */
class TcpConformanceTest extends TransportConformance {
    @Override
    protected RdmaTransport openTransport() {
        return new TcpTransport();
    }

    @Override
    protected InetSocketAddress listenAddress() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }
}
