package io.dsf.rdma;

import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaTransport;
import io.dsf.rdma.tcp.TcpTransport;
import io.dsf.rdma.verbs.VerbsTransport;

/**
 * Opens a transport by name: {@code tcp} (the emulation, works everywhere) or {@code verbs}
 * (rdma-core; fails with {@link RdmaException.Kind#UNAVAILABLE} naming what is missing). Thread safe.
 */
public final class Transports {
    private Transports() {}

    /** {@code kind} is {@code tcp} or {@code verbs}; {@code device} picks a verbs device by name ({@code null}: the first). */
    public static RdmaTransport open(String kind, String device) throws RdmaException {
        return switch (kind) {
            case "tcp" -> new TcpTransport();
            case "verbs" -> VerbsTransport.open(device);
            default -> throw new RdmaException(RdmaException.Kind.INVALID_ARGUMENT, "unknown transport '" + kind + "' (tcp or verbs)");
        };
    }

    public static RdmaTransport open(String kind) throws RdmaException {
        return open(kind, null);
    }
}
