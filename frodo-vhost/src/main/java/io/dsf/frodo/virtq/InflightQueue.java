package io.dsf.frodo.virtq;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * One queue's part of the shared in-flight area ({@code VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD},
 * split-ring layout of the vhost-user specification), which outlives a back-end process so that a
 * restarted back-end can resubmit what was in flight:
 *
 * <pre>
 *   0  features u64 | 8 version u16 (1) | 10 desc_num u16 | 12 last_batch_head u16 | 14 used_idx u16
 *   16 desc[desc_num]: inflight u8 | pad[5] | next u16 | counter u64        (16 bytes each)
 *   per-queue size: align(16 + 16 * desc_num, 64)
 * </pre>
 *
 * A head is marked in flight (with a fetch counter) before its request is submitted; a batch of
 * completed heads is linked from {@code last_batch_head}; after the used ring's index is published
 * the batch's heads are cleared, then the used index is stored. Recovery clears a batch whose
 * used-ring update landed but whose used index was not yet stored, then resubmits the remaining heads
 * in fetch order. Owned by the queue's worker; not thread safe.
 */
public final class InflightQueue {
    public static final int HEADER = 16;
    public static final int DESC = 16;
    public static final int VERSION = 1;

    /** Bytes one queue of {@code queueSize} descriptors takes in the area. */
    public static long queueRegionSize(int queueSize) {
        return (HEADER + (long) DESC * queueSize + 63) & ~63L;
    }

    private final MemorySegment area;
    private long counter;
    private boolean resumed;

    /** @param area this queue's slice of the shared area, at least {@link #queueRegionSize} bytes */
    public InflightQueue(MemorySegment area) {
        this.area = area;
    }

    private long d(int head) { return HEADER + (long) DESC * head; }

    /**
     * Prepares the area for a ring of {@code size} whose used index in guest memory is
     * {@code guestUsed}; returns how many heads were in flight, written to {@code heads} in fetch
     * order. A fresh (or foreign) area is initialised and reports none.
     */
    public int recover(int size, int guestUsed, int[] heads) {
        if (area.byteSize() < queueRegionSize(size)) throw new IllegalArgumentException("in-flight area too small for " + size);
        int version = Short.toUnsignedInt(area.get(JAVA_SHORT_UNALIGNED, 8));
        int descNum = Short.toUnsignedInt(area.get(JAVA_SHORT_UNALIGNED, 10));
        resumed = version == VERSION && descNum == size;
        if (!resumed) {
            area.asSlice(0, queueRegionSize(size)).fill((byte) 0);
            area.set(JAVA_SHORT_UNALIGNED, 8, (short) VERSION);
            area.set(JAVA_SHORT_UNALIGNED, 10, (short) size);
            area.set(JAVA_SHORT_UNALIGNED, 14, (short) guestUsed);
            counter = 0;
            return 0;
        }
        int storedUsed = Short.toUnsignedInt(area.get(JAVA_SHORT_UNALIGNED, 14));
        if (storedUsed != guestUsed) {
            // the last batch reached the used ring but its flags were not cleared
            int n = Math.min((guestUsed - storedUsed) & 0xffff, size);
            int h = Short.toUnsignedInt(area.get(JAVA_SHORT_UNALIGNED, 12));
            for (int i = 0; i < n && h < size; i++) {
                area.set(JAVA_BYTE, d(h), (byte) 0);
                h = Short.toUnsignedInt(area.get(JAVA_SHORT_UNALIGNED, d(h) + 6));
            }
            area.set(JAVA_SHORT_UNALIGNED, 14, (short) guestUsed);
        }
        int n = 0;
        long max = 0;
        for (int h = 0; h < size; h++) {
            if (area.get(JAVA_BYTE, d(h)) != 0) {
                heads[n++] = h;
                max = Math.max(max, area.get(JAVA_LONG_UNALIGNED, d(h) + 8));
            }
        }
        // insertion sort by counter (control path, at most the queue size)
        for (int i = 1; i < n; i++) {
            int h = heads[i];
            long c = area.get(JAVA_LONG_UNALIGNED, d(h) + 8);
            int j = i - 1;
            while (j >= 0 && area.get(JAVA_LONG_UNALIGNED, d(heads[j]) + 8) > c) {
                heads[j + 1] = heads[j];
                j--;
            }
            heads[j + 1] = h;
        }
        counter = max;
        return n;
    }

    /** Whether the last {@link #recover} found this ring's earlier state (a restart or reconnect) rather than a fresh area. */
    public boolean resumed() { return resumed; }

    /** Marks {@code head} in flight, before its request is submitted. */
    public void begin(int head) {
        long at = d(head);
        area.set(JAVA_LONG_UNALIGNED, at + 8, ++counter);
        VarHandle.storeStoreFence();
        area.set(JAVA_BYTE, at, (byte) 1);
    }

    /** Links {@code head} into the batch about to be published to the used ring. */
    public void batchAdd(int head, boolean first) {
        long at = d(head);
        short prev = first ? (short) head : area.get(JAVA_SHORT_UNALIGNED, 12);
        area.set(JAVA_SHORT_UNALIGNED, at + 6, prev);
        area.set(JAVA_SHORT_UNALIGNED, 12, (short) head);
    }

    /**
     * After the used index was published: clears the batch's heads, then records the used index (the
     * specification's order). A crash at any point leaves a recoverable area: before the record,
     * {@link #recover} sees the used ring ahead of {@code used_idx} and clears the batch again (the
     * heads it reaches are completed); recording first would leave a window where completed heads
     * still look in flight while {@code used_idx} already matches, and a restart would run them twice
     * and start fetching past entries it never took.
     */
    public void batchCommit(int usedIdx, int[] heads, int n) {
        batchClear(heads, n);
        batchRecord(usedIdx);
    }

    /** First half of {@link #batchCommit} (crash-point tests). */
    void batchClear(int[] heads, int n) {
        VarHandle.storeStoreFence(); // the used ring's index is stored before the flags are cleared
        for (int i = 0; i < n; i++) area.set(JAVA_BYTE, d(heads[i]), (byte) 0);
    }

    /** Second half of {@link #batchCommit} (crash-point tests). */
    void batchRecord(int usedIdx) {
        VarHandle.storeStoreFence();
        area.set(JAVA_SHORT_UNALIGNED, 14, (short) usedIdx);
    }

    /** Whether {@code head} is marked in flight (tests). */
    public boolean inFlight(int head) { return area.get(JAVA_BYTE, d(head)) != 0; }
}
