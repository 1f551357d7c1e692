package io.dsf.rdma.verbs;

import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.verbs.gen.rdma_cma_h;
import io.dsf.rdma.verbs.gen.sockaddr_in;
import io.dsf.rdma.verbs.gen.sockaddr_in6;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;

/** {@code struct sockaddr_in}/{@code sockaddr_in6} from Java addresses, for rdma_cm. Stateless; thread safe. */
final class Sockaddrs {
    private Sockaddrs() {}

    /** The address at {@code offset} of {@code base} (a sockaddr_storage), or {@code null} for a family other than IPv4/IPv6. */
    static InetSocketAddress read(MemorySegment base, long offset) {
        MemorySegment s = base.reinterpret(offset + sockaddr_in6.sizeof()).asSlice(offset, sockaddr_in6.sizeof());
        int family = sockaddr_in.sin_family(s);
        try {
            if (family == rdma_cma_h.AF_INET) {
                byte[] ip = s.asSlice(sockaddr_in.sin_addr$OFFSET, 4).toArray(ValueLayout.JAVA_BYTE);
                return new InetSocketAddress(java.net.InetAddress.getByAddress(ip), Short.toUnsignedInt(Short.reverseBytes(sockaddr_in.sin_port(s))));
            }
            if (family == rdma_cma_h.AF_INET6) {
                byte[] ip = s.asSlice(sockaddr_in6.sin6_addr$OFFSET, 16).toArray(ValueLayout.JAVA_BYTE);
                return new InetSocketAddress(Inet6Address.getByAddress(null, ip, sockaddr_in6.sin6_scope_id(s)),
                        Short.toUnsignedInt(Short.reverseBytes(sockaddr_in6.sin6_port(s))));
            }
        } catch (java.net.UnknownHostException e) {
            return null; // a wrong-length address cannot come from the library
        }
        return null;
    }

    static MemorySegment of(InetSocketAddress a, SegmentAllocator alloc) throws RdmaException {
        if (a.isUnresolved()) throw new RdmaException(RdmaException.Kind.INVALID_ARGUMENT, "unresolved address " + a);
        short port = Short.reverseBytes((short) a.getPort());
        byte[] ip = a.getAddress().getAddress();
        if (a.getAddress() instanceof Inet4Address) {
            MemorySegment s = sockaddr_in.allocate(alloc);
            sockaddr_in.sin_family(s, (short) rdma_cma_h.AF_INET);
            sockaddr_in.sin_port(s, port);
            MemorySegment.copy(ip, 0, s, ValueLayout.JAVA_BYTE, sockaddr_in.sin_addr$OFFSET, 4);
            return s;
        }
        if (a.getAddress() instanceof Inet6Address a6) {
            MemorySegment s = sockaddr_in6.allocate(alloc);
            sockaddr_in6.sin6_family(s, (short) rdma_cma_h.AF_INET6);
            sockaddr_in6.sin6_port(s, port);
            MemorySegment.copy(ip, 0, s, ValueLayout.JAVA_BYTE, sockaddr_in6.sin6_addr$OFFSET, 16);
            sockaddr_in6.sin6_scope_id(s, a6.getScopeId());
            return s;
        }
        throw new RdmaException(RdmaException.Kind.INVALID_ARGUMENT, "unsupported address " + a);
    }
}
