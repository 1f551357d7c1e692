package io.dsf.rdma.api;

/**
 * Access flags of a {@link MemoryRegion} (the values of {@code enum ibv_access_flags}, so the
 * verbs transport passes them through). Constants only; thread safe.
 */
public final class Access {
    private Access() {}

    /** The local side may receive into it. */
    public static final int LOCAL_WRITE = 1;
    /** Peers may RDMA-write into it (requires {@link #LOCAL_WRITE}, as in verbs). */
    public static final int REMOTE_WRITE = 1 << 1;
    /** Peers may RDMA-read it (registered for completeness; the SPI does not post reads yet). */
    public static final int REMOTE_READ = 1 << 2;
    /** The flags the SPI knows. */
    public static final int ALL = LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ;
}
