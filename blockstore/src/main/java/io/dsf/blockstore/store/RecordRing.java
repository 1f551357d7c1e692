package io.dsf.blockstore.store;

import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.LE;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A channel's journal records (slice checksums) waiting for the journal thread: a single
 * producer (the channel's thread), single consumer (the journal thread) byte ring. A record
 * never wraps: when it does not fit before the end, a PAD record fills the rest. Space for a
 * request's records is reserved when it is submitted, so appending at completion never fails.
 * Allocation free after construction.
 */
final class RecordRing {
    private static final VarHandle TAIL, HEAD;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TAIL = l.findVarHandle(RecordRing.class, "tail", long.class);
            HEAD = l.findVarHandle(RecordRing.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final byte[] buf;
    private final int mask;
    @SuppressWarnings("unused") private long tail; // written by the producer (release)
    @SuppressWarnings("unused") private long head; // written by the consumer (release)
    private long ptail;      // producer's copy of tail
    private long reserved;   // producer only

    RecordRing(int capacity) {
        if (Integer.bitCount(capacity) != 1 || capacity < 4 * JournalRecord.MAX_LEN)
            throw new IllegalArgumentException("record ring capacity must be a power of two >= " + 4 * JournalRecord.MAX_LEN);
        buf = new byte[capacity];
        mask = capacity - 1;
    }

    int capacity() { return buf.length; }

    // ------------------------------------------------------------- producer

    /** Bytes used by records not yet drained (producer side view). */
    long used() { return ptail - (long) HEAD.getAcquire(this); }

    /** Reserves room for records of {@code bytes} (worst case, padding included); false when full. */
    boolean reserve(int bytes) {
        if (buf.length - used() - reserved < bytes) return false;
        reserved += bytes;
        return true;
    }

    void unreserve(int bytes) { reserved -= bytes; }

    /** Worst-case reservation for records totalling {@code bytes} in {@code records} records. */
    static int worstCase(int bytes, int records) { return bytes + records * JournalRecord.MAX_LEN; }

    /** Starts a record of {@code len} bytes (a multiple of 4, reserved before); returns its offset in {@link #buf}. */
    int begin(int len) {
        int pos = (int) (ptail & mask);
        int room = buf.length - pos;
        if (room < len) {
            LE.u16(buf, pos, JournalRecord.PAD);
            LE.u16(buf, pos + 2, room == buf.length ? 0 : room);
            ptail += room;
            pos = 0;
        }
        return pos;
    }

    /** Publishes the record started by {@link #begin}. */
    void commit(int len) {
        ptail += len;
        TAIL.setRelease(this, ptail);
    }

    // ------------------------------------------------------------- consumer

    long tailAcquire() { return (long) TAIL.getAcquire(this); }

    long headPlain() { return (long) HEAD.getOpaque(this); }

    int offset(long position) { return (int) (position & mask); }

    void release(long newHead) { HEAD.setRelease(this, newHead); }
}
