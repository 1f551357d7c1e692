package io.dsf.rdma.api;

import java.lang.foreign.MemorySegment;

/**
 * A native memory range registered once with a transport ({@code ibv_reg_mr}): posts name it by
 * reference plus an offset, peers name it by {@link #remoteAddress(long)} plus {@link #rkey()}.
 * Thread safe: immutable after registration; {@link #close()} (deregistration) is control path and
 * must not race with work requests that use the region.
 */
public interface MemoryRegion extends AutoCloseable {
    /** The registered memory (native, at least as long as {@link #length()}). */
    MemorySegment segment();

    /** Bytes registered. */
    long length();

    /** The {@link Access} flags it was registered with. */
    int access();

    /** Key that local work requests use (verbs: {@code lkey}). */
    int lkey();

    /** Key peers put in their writes to this region (verbs: {@code rkey}); send it with {@link #remoteAddress}. */
    int rkey();

    /** The address a peer writes to, to reach byte {@code offset} of this region (verbs: a virtual address). */
    default long remoteAddress(long offset) {
        return segment().address() + offset;
    }

    /** Whether it is still registered. */
    boolean isOpen();

    /** Deregisters; later posts naming it answer {@link PostStatus#BAD_BUFFER}, peers' writes to it are refused. Idempotent. */
    @Override
    void close();
}
