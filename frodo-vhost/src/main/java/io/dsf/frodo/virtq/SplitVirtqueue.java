package io.dsf.frodo.virtq;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A split virtqueue (virtio 1.x, little-endian x86) over guest memory: reads the available ring,
 * walks descriptor chains (direct and indirect) into {@link DescriptorChain}s with every address
 * bounds-checked, writes the used ring, and decides when the guest needs an interrupt
 * ({@code VIRTIO_RING_F_EVENT_IDX} or the {@code NO_INTERRUPT} flag).
 *
 * <pre>
 *   descriptor (16 bytes): addr u64 | len u32 | flags u16 (NEXT 1, WRITE 2, INDIRECT 4) | next u16
 *   avail: flags u16 | idx u16 | ring[size] u16 | used_event u16
 *   used:  flags u16 | idx u16 | ring[size] {id u32, len u32} | avail_event u16
 * </pre>
 *
 * Guest memory is untrusted and may change under us: every descriptor field is read once into a
 * local, checked, and only the checked copy is used. Owned by one virtqueue worker; not thread safe.
 */
public final class SplitVirtqueue {
    public static final int VIRTQ_DESC_F_NEXT = 1;
    public static final int VIRTQ_DESC_F_WRITE = 2;
    public static final int VIRTQ_DESC_F_INDIRECT = 4;
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
    public static final int MAX_SIZE = 32768;

    // ---- chain walk outcomes (0 = good chain)
    public static final int OK = 0;
    public static final int ERR_HEAD = -1;
    public static final int ERR_NEXT = -2;
    public static final int ERR_LOOP = -3;
    public static final int ERR_ADDRESS = -4;
    public static final int ERR_INDIRECT_SIZE = -5;
    public static final int ERR_INDIRECT_NESTED = -6;
    public static final int ERR_INDIRECT_NOT_NEGOTIATED = -7;
    public static final int ERR_INDIRECT_WITH_NEXT = -8;
    public static final int ERR_TOO_MANY_SEGMENTS = -9;
    public static final int ERR_ORDER = -10;
    public static final int ERR_LENGTH = -11;
    public static final int ERR_INDIRECT_NOT_HEAD = -12;

    private static final String[] ERRORS = {
        "ok", "head index out of range", "next index out of range", "chain loops or is longer than its table",
        "descriptor address outside guest memory", "indirect table length not a positive multiple of 16",
        "nested indirect table", "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC",
        "indirect descriptor with NEXT set", "more descriptors than the device takes",
        "device-readable descriptor after a device-writable one", "chain bytes exceed 2^31-1",
        "indirect descriptor not at the head of the chain"
    };

    /** Words for a walk outcome. */
    public static String describe(int code) {
        int i = -code;
        return i >= 0 && i < ERRORS.length ? ERRORS[i] : "error " + code;
    }

    private static final VarHandle SHORT = ValueLayout.JAVA_SHORT.varHandle();

    private final GuestMemory memory;
    private final int size;
    private final int mask;
    private final MemorySegment desc;
    private final MemorySegment avail;
    private final MemorySegment used;
    private final boolean eventIdx;
    private final boolean indirect;
    private final int usedEventOffset;
    private final int availEventOffset;

    private int lastAvail;       // 16-bit, next avail entry to consume
    private int usedIdx;         // 16-bit, shadow of used->idx including unpublished entries
    private int publishedUsed;   // 16-bit, last value stored to used->idx
    private int signalledUsed;   // 16-bit, used idx at the last interrupt decision
    private boolean signalledValid;

    private SplitVirtqueue(GuestMemory memory, int size, MemorySegment desc, MemorySegment avail, MemorySegment used,
                           boolean eventIdx, boolean indirect) {
        this.memory = memory;
        this.size = size;
        this.mask = size - 1;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.usedEventOffset = 4 + 2 * size;
        this.availEventOffset = 4 + 8 * size;
        this.usedIdx = Short.toUnsignedInt(used.get(JAVA_SHORT_UNALIGNED, 2));
        this.publishedUsed = usedIdx;
    }

    /**
     * Maps a ring whose three parts are at the given front-end user addresses.
     *
     * @throws IllegalArgumentException when the size is not a power of two up to 32768, a part is
     *                                  misaligned, or a part is not inside one region
     */
    public static SplitVirtqueue attach(GuestMemory memory, int size, long descUva, long availUva, long usedUva,
                                        boolean eventIdx, boolean indirect) {
        if (size < 1 || size > MAX_SIZE || Integer.bitCount(size) != 1)
            throw new IllegalArgumentException("queue size " + size + " is not a power of two in 1.." + MAX_SIZE);
        if ((descUva & 15) != 0 || (availUva & 1) != 0 || (usedUva & 3) != 0)
            throw new IllegalArgumentException("ring parts misaligned: desc 0x" + Long.toHexString(descUva)
                    + " avail 0x" + Long.toHexString(availUva) + " used 0x" + Long.toHexString(usedUva));
        MemorySegment d = part(memory, descUva, 16L * size, "descriptor table");
        MemorySegment a = part(memory, availUva, 6L + 2L * size, "available ring");
        MemorySegment u = part(memory, usedUva, 6L + 8L * size, "used ring");
        return new SplitVirtqueue(memory, size, d, a, u, eventIdx, indirect);
    }

    private static MemorySegment part(GuestMemory memory, long uva, long len, String what) {
        int r = memory.findUva(uva, len);
        if (r < 0) throw new IllegalArgumentException(what + " at 0x" + Long.toHexString(uva) + " (" + len
                + " bytes) is not inside one guest memory region");
        return memory.segment(r).asSlice(uva - memory.regionUva(r), len);
    }

    public int size() { return size; }

    public GuestMemory memory() { return memory; }

    public boolean eventIdx() { return eventIdx; }

    /** The next available-ring index the device consumes (what GET_VRING_BASE reports). */
    public int lastAvail() { return lastAvail; }

    public void lastAvail(int idx) { lastAvail = idx & 0xffff; }

    /** The used index including entries not yet published. */
    public int usedIdx() { return usedIdx; }

    /** The used index in guest memory. */
    public int guestUsedIdx() { return Short.toUnsignedInt((short) SHORT.getAcquire(used, 2L)); }

    /** The available index in guest memory (diagnostics). */
    public int guestAvailIdx() { return Short.toUnsignedInt((short) SHORT.getAcquire(avail, 2L)); }

    /** The driver's {@code used_event} (the used index after which it wants an interrupt; diagnostics). */
    public int usedEvent() { return Short.toUnsignedInt(avail.get(JAVA_SHORT_UNALIGNED, usedEventOffset)); }

    /**
     * Entries the driver made available beyond {@link #lastAvail()}, or -1 when the available index
     * moved by more than the queue size (a broken driver). Acquire: ring entries read afterwards are
     * at least as new as the index.
     */
    public int pending() {
        int idx = Short.toUnsignedInt((short) SHORT.getAcquire(avail, 2L));
        int n = (idx - lastAvail) & 0xffff;
        return n > size ? -1 : n;
    }

    /** Consumes the next available entry and returns its head index (unchecked: {@link #walk} checks it). */
    public int nextHead() {
        int head = Short.toUnsignedInt(avail.get(JAVA_SHORT_UNALIGNED, 4L + 2L * (lastAvail & mask)));
        lastAvail = (lastAvail + 1) & 0xffff;
        return head;
    }

    /**
     * Walks the chain starting at {@code head} into {@code chain}.
     *
     * @return {@link #OK} or a negative {@code ERR_*} code ({@link #describe})
     */
    public int walk(int head, DescriptorChain chain) {
        chain.reset(head, memory);
        if (head < 0 || head >= size) return ERR_HEAD;
        int idx = head;
        boolean seenWritable = false;
        for (int walked = 0; ; walked++) {
            if (walked >= size) return ERR_LOOP;
            long base = 16L * idx;
            long addr = desc.get(JAVA_LONG_UNALIGNED, base);
            int len = desc.get(JAVA_INT_UNALIGNED, base + 8);
            int flags = Short.toUnsignedInt(desc.get(JAVA_SHORT_UNALIGNED, base + 12));
            int next = Short.toUnsignedInt(desc.get(JAVA_SHORT_UNALIGNED, base + 14));
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!indirect) return ERR_INDIRECT_NOT_NEGOTIATED;
                if ((flags & VIRTQ_DESC_F_NEXT) != 0) return ERR_INDIRECT_WITH_NEXT;
                if (walked != 0) return ERR_INDIRECT_NOT_HEAD;
                return walkIndirect(addr, len, chain);
            }
            if (len < 0) return ERR_LENGTH;
            boolean w = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (!w && seenWritable) return ERR_ORDER;
            seenWritable |= w;
            int rc = append(chain, addr, len, w);
            if (rc != OK) return rc;
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) return OK;
            if (next >= size) return ERR_NEXT;
            idx = next;
        }
    }

    private int walkIndirect(long tableAddr, int tableLen, DescriptorChain chain) {
        if (tableLen <= 0 || (tableLen & 15) != 0) return ERR_INDIRECT_SIZE;
        int n = tableLen >>> 4;
        if (n > chain.capacity()) return ERR_TOO_MANY_SEGMENTS;
        int r = memory.findGpa(tableAddr, tableLen);
        if (r < 0) return ERR_ADDRESS;
        MemorySegment seg = memory.segment(r);
        long tbase = tableAddr - memory.regionGpa(r);
        int idx = 0;
        boolean seenWritable = false;
        for (int walked = 0; ; walked++) {
            if (walked >= n) return ERR_LOOP;
            long base = tbase + 16L * idx;
            long addr = seg.get(JAVA_LONG_UNALIGNED, base);
            int len = seg.get(JAVA_INT_UNALIGNED, base + 8);
            int flags = Short.toUnsignedInt(seg.get(JAVA_SHORT_UNALIGNED, base + 12));
            int next = Short.toUnsignedInt(seg.get(JAVA_SHORT_UNALIGNED, base + 14));
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) return ERR_INDIRECT_NESTED;
            if (len < 0) return ERR_LENGTH;
            boolean w = (flags & VIRTQ_DESC_F_WRITE) != 0;
            if (!w && seenWritable) return ERR_ORDER;
            seenWritable |= w;
            int rc = append(chain, addr, len, w);
            if (rc != OK) return rc;
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) return OK;
            if (next >= n) return ERR_NEXT;
            idx = next;
        }
    }

    private int append(DescriptorChain chain, long addr, int len, boolean writable) {
        int r = memory.findGpa(addr, len);
        if (r < 0) return ERR_ADDRESS;
        if (chain.readableBytes + chain.writableBytes + len > Integer.MAX_VALUE) return ERR_LENGTH;
        if (!chain.add(r, addr - memory.regionGpa(r), len, writable)) return ERR_TOO_MANY_SEGMENTS;
        return OK;
    }

    /** Appends a used element (not yet visible to the driver: see {@link #publishUsed}). */
    public void putUsed(int head, int len) {
        long at = 4L + 8L * (usedIdx & mask);
        used.set(JAVA_INT_UNALIGNED, at, head);
        used.set(JAVA_INT_UNALIGNED, at + 4, len);
        usedIdx = (usedIdx + 1) & 0xffff;
    }

    /** Makes every used element put so far visible to the driver (release store of used->idx). */
    public boolean publishUsed() {
        if (usedIdx == publishedUsed) return false;
        SHORT.setRelease(used, 2L, (short) usedIdx);
        publishedUsed = usedIdx;
        return true;
    }

    /**
     * Whether the driver wants an interrupt for the used elements published since the last call
     * that returned true (event index: {@code vring_need_event}; else the NO_INTERRUPT flag).
     */
    public boolean needsInterrupt() {
        VarHandle.fullFence(); // the used index store must be visible before we read the driver's wish
        int now = publishedUsed;
        int old = signalledUsed;
        boolean valid = signalledValid;
        if (now == old && valid) return false;
        if (eventIdx) {
            signalledUsed = now;
            signalledValid = true;
            if (!valid) return true;
            int event = Short.toUnsignedInt(avail.get(JAVA_SHORT_UNALIGNED, usedEventOffset));
            return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
        }
        signalledUsed = now;
        signalledValid = true;
        return (Short.toUnsignedInt((short) SHORT.getAcquire(avail, 0L)) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
    }

    /** With EVENT_IDX: asks the driver to kick once it makes entry {@code idx} available; a full fence follows. */
    public void requestKickAt(int idx) {
        if (!eventIdx) return;
        SHORT.setRelease(used, (long) availEventOffset, (short) idx);
        VarHandle.fullFence();
    }
}
