package io.dsf.rdma.verbs;

import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.verbs.gen.ibv_mr;
import io.dsf.rdma.verbs.gen.ibverbs_h;

import java.lang.foreign.MemorySegment;

/**
 * A region registered with {@code ibv_reg_mr} (pinned; keys from the device). Thread safe:
 * immutable but for deregistration (control path).
 */
final class VerbsMemoryRegion implements MemoryRegion {
    final VerbsTransport transport;
    final MemorySegment segment;
    final MemorySegment mr;
    final long address;
    final long length;
    final int access;
    final int lkey;
    final int rkey;
    private volatile boolean open = true;

    VerbsMemoryRegion(VerbsTransport transport, MemorySegment segment, MemorySegment mr, int access) {
        this.transport = transport;
        this.segment = segment;
        this.mr = mr;
        this.address = segment.address();
        this.length = segment.byteSize();
        this.access = access;
        this.lkey = ibv_mr.lkey(mr);
        this.rkey = ibv_mr.rkey(mr);
    }

    @Override public MemorySegment segment() { return segment; }
    @Override public long length() { return length; }
    @Override public int access() { return access; }
    @Override public int lkey() { return lkey; }
    @Override public int rkey() { return rkey; }
    @Override public long remoteAddress(long offset) { return address + offset; }
    @Override public boolean isOpen() { return open; }

    @Override
    public synchronized void close() {
        if (!open) return;
        open = false;
        ibverbs_h.ibv_dereg_mr(mr);
    }
}
