package io.dsf.frodo.virtq;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * One walked descriptor chain: its head and, per element, the guest region, offset, length and
 * direction, all already bounds-checked against the memory table. Device-readable elements come
 * first, device-writable ones after them (the walker enforces the order). Preallocated with a fixed
 * capacity, one per ring slot, and refilled by every walk. Owned by the virtqueue worker while it
 * walks, then by the request it belongs to; not thread safe.
 */
public final class DescriptorChain {
    private final int capacity;
    final int[] region;
    final long[] offset;
    final int[] length;
    int count;
    int readableCount;
    long readableBytes;
    long writableBytes;
    int head;
    GuestMemory memory;

    public DescriptorChain(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity " + capacity);
        this.capacity = capacity;
        this.region = new int[capacity];
        this.offset = new long[capacity];
        this.length = new int[capacity];
    }

    void reset(int head, GuestMemory memory) {
        this.head = head;
        this.memory = memory;
        count = 0;
        readableCount = 0;
        readableBytes = 0;
        writableBytes = 0;
    }

    /** Appends an element; false when the chain is full. */
    boolean add(int r, long off, int len, boolean writable) {
        if (count == capacity) return false;
        region[count] = r;
        offset[count] = off;
        length[count] = len;
        count++;
        if (writable) writableBytes += Integer.toUnsignedLong(len);
        else {
            readableCount++;
            readableBytes += Integer.toUnsignedLong(len);
        }
        return true;
    }

    public int capacity() { return capacity; }

    /** The head descriptor index (what goes into the used ring). */
    public int head() { return head; }

    /** Elements in the chain. */
    public int count() { return count; }

    /** Leading device-readable elements; elements from this index on are device-writable. */
    public int readableCount() { return readableCount; }

    public long readableBytes() { return readableBytes; }

    public long writableBytes() { return writableBytes; }

    public boolean writable(int i) { return i >= readableCount; }

    public int region(int i) { return region[i]; }

    public long offset(int i) { return offset[i]; }

    /** Length of element {@code i} in bytes (unsigned 32-bit, below 2^31 here: the walker refuses larger). */
    public int length(int i) { return length[i]; }

    /** The memory table the chain was walked against. */
    public GuestMemory memory() { return memory; }

    /** A segment over element {@code i} from {@code skip} bytes in, to its region's end (zero copy). */
    public MemorySegment slice(int i, long skip) {
        return memory.sliceFrom(region[i], offset[i] + skip);
    }

    /**
     * Copies up to {@code len} bytes starting {@code pos} bytes into the readable part of the chain
     * into {@code dst} at {@code dstOff}; returns the bytes copied (fewer when the readable part
     * ends). For small headers only.
     */
    public int readReadable(long pos, MemorySegment dst, long dstOff, int len) {
        int done = 0;
        long skip = pos;
        for (int i = 0; i < readableCount && done < len; i++) {
            long l = Integer.toUnsignedLong(length[i]);
            if (skip >= l) { skip -= l; continue; }
            int n = (int) Math.min(l - skip, len - done);
            MemorySegment.copy(memory.segment(region[i]), offset[i] + skip, dst, dstOff + done, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /**
     * Copies {@code len} bytes of {@code src} into the writable part of the chain starting
     * {@code pos} bytes in; returns the bytes copied.
     */
    public int writeWritable(long pos, MemorySegment src, long srcOff, int len) {
        int done = 0;
        long skip = pos;
        for (int i = readableCount; i < count && done < len; i++) {
            long l = Integer.toUnsignedLong(length[i]);
            if (skip >= l) { skip -= l; continue; }
            int n = (int) Math.min(l - skip, len - done);
            MemorySegment.copy(src, srcOff + done, memory.segment(region[i]), offset[i] + skip, n);
            done += n;
            skip = 0;
        }
        return done;
    }

    /** Writes one byte at {@code pos} of the writable part; false when out of range. */
    public boolean putWritableByte(long pos, byte b) {
        long skip = pos;
        for (int i = readableCount; i < count; i++) {
            long l = Integer.toUnsignedLong(length[i]);
            if (skip >= l) { skip -= l; continue; }
            memory.segment(region[i]).set(JAVA_BYTE, offset[i] + skip, b);
            return true;
        }
        return false;
    }
}
