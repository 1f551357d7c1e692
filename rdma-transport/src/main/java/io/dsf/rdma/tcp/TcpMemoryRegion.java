package io.dsf.rdma.tcp;

import io.dsf.rdma.api.MemoryRegion;

import java.lang.foreign.MemorySegment;

/**
 * A region registered with a {@link TcpTransport}: nothing is pinned, the key indexes the
 * transport's registration table. Thread safe: immutable but for the open flag (volatile).
 */
final class TcpMemoryRegion implements MemoryRegion {
    final TcpTransport transport;
    final MemorySegment segment;
    final long address;
    final long length;
    final int access;
    final int key;
    private volatile boolean open = true;

    TcpMemoryRegion(TcpTransport transport, MemorySegment segment, int access, int key) {
        this.transport = transport;
        this.segment = segment;
        this.address = segment.address();
        this.length = segment.byteSize();
        this.access = access;
        this.key = key;
    }

    @Override public MemorySegment segment() { return segment; }
    @Override public long length() { return length; }
    @Override public int access() { return access; }
    @Override public int lkey() { return key; }
    @Override public int rkey() { return key; }
    @Override public long remoteAddress(long offset) { return address + offset; }
    @Override public boolean isOpen() { return open; }

    @Override
    public void close() {
        if (!open) return;
        open = false;
        transport.deregister(this);
    }

    @Override
    public String toString() {
        return "TcpMemoryRegion[key=" + Integer.toHexString(key) + ", length=" + length + "]";
    }
}
