package io.dsf.frodo.vhostuser;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.frodo.virtq.InflightQueue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The shared in-flight area of all queues (one memfd, {@code num_queues} regions of
 * {@link InflightQueue#queueRegionSize} bytes), created for GET_INFLIGHT_FD or mapped from the
 * descriptor SET_INFLIGHT_FD passes back (also after a back-end restart). Control plane only; the
 * per-queue views it hands out belong to the queue workers.
 */
final class InflightArea implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment area;
    private final int numQueues;
    private final int queueSize;
    private final long perQueue;

    private InflightArea(int fd, long mmapSize, long mmapOffset, int numQueues, int queueSize) {
        long total = mmapOffset + mmapSize;
        MemorySegment m = Libc.mmap(MemorySegment.NULL, total, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (m.address() == Libc.MAP_FAILED.address()) throw new ErrnoException("mmap of the in-flight area", Errno.last());
        long addr = m.address();
        this.area = m.reinterpret(total, arena, s -> Libc.munmap(MemorySegment.ofAddress(addr), total)).asSlice(mmapOffset, mmapSize);
        this.numQueues = numQueues;
        this.queueSize = queueSize;
        this.perQueue = InflightQueue.queueRegionSize(queueSize);
    }

    static long size(int numQueues, int queueSize) {
        return numQueues * InflightQueue.queueRegionSize(queueSize);
    }

    /** Creates a zeroed area; returns it and, in {@code fdOut[0]}, the memfd to pass (caller closes it). */
    static InflightArea create(int numQueues, int queueSize, int[] fdOut) {
        long size = size(numQueues, queueSize);
        int fd;
        try (Arena a = Arena.ofConfined()) {
            fd = Errno.check(Libc.memfd_create(a.allocateFrom("frodo-inflight"), Libc.MFD_CLOEXEC), "memfd_create");
        }
        try {
            Errno.check(Libc.ftruncate(fd, size), "ftruncate of the in-flight area");
            InflightArea ia = new InflightArea(fd, size, 0, numQueues, queueSize);
            fdOut[0] = fd;
            return ia;
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** Maps an area the front-end passed back; the caller keeps (and closes) {@code fd}. */
    static InflightArea map(int fd, long mmapSize, long mmapOffset, int numQueues, int queueSize) {
        return new InflightArea(fd, mmapSize, mmapOffset, numQueues, queueSize);
    }

    long mmapSize() { return area.byteSize(); }

    int numQueues() { return numQueues; }

    int queueSize() { return queueSize; }

    /** The view of queue {@code index}, or null when the area does not cover it or was made for another ring size. */
    InflightQueue queue(int index, int ringSize) {
        if (index >= numQueues || ringSize != queueSize) return null;
        return new InflightQueue(area.asSlice(index * perQueue, perQueue));
    }

    @Override
    public void close() {
        arena.close();
    }
}
