package io.dsf.rdma.verbs;

import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.api.RdmaTransport;

/** Placeholder while the verbs binding is written. Thread safe. */
public final class VerbsTransport {
    private VerbsTransport() {}

    public static RdmaTransport open(String device) throws RdmaException {
        throw new RdmaException(RdmaException.Kind.UNAVAILABLE, "verbs transport not built yet");
    }
}
