package io.dsf.rdma.api;

/** Life cycle of an {@link Endpoint}. Immutable; thread safe. */
public enum EndpointState {
    /** Established: posts are accepted. */
    CONNECTED,
    /** Broken (peer gone, protocol violation, remote error): outstanding requests flush with errors, posts answer {@link PostStatus#NOT_CONNECTED}. */
    ERROR,
    /** Closed locally: outstanding requests flush, posts answer {@link PostStatus#NOT_CONNECTED}. */
    CLOSED
}
