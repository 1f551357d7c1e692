package io.dsf.frodo.driver;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

import static io.dsf.frodo.vhostuser.VhostUserProtocol.VIRTIO_RING_F_EVENT_IDX;
import static io.dsf.frodo.vhostuser.VhostUserProtocol.VIRTIO_RING_F_INDIRECT_DESC;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * A load-generating request queue over one split ring of a {@link VhostUserDriver}: virtio-blk or
 * virtio-scsi (READ(16)/WRITE(16)/SYNCHRONIZE CACHE) requests issued from preallocated slots, the
 * way a guest driver does it, without allocating per request. Each slot owns its request header,
 * status/response area and (with {@code VIRTIO_RING_F_INDIRECT_DESC}, as Linux uses it) a
 * three-entry indirect table in guest memory; without indirect descriptors a slot owns three ring
 * descriptors. Requests are staged by {@link #read}/{@link #write}/{@link #flush}, made available
 * with one index store and at most one kick per {@link #submit} (the kick is skipped when the device
 * did not ask for it: event index or {@code NO_NOTIFY}), and completed by polling the used ring
 * ({@link #poll}); {@link #await} arms the interrupt and sleeps on the call eventfd.
 *
 * <pre>
 *   slot (256 bytes): indirect table 3 x 16 @0 | header @64 (blk 16 / scsi 51) | status @128 (blk 1 / scsi response 108)
 * </pre>
 * Owned by one thread (the one issuing and polling); not thread safe. Setting up and stopping the
 * ring goes through the driver's socket: callers serialise those with other control calls.
 */
public final class RequestQueue implements AutoCloseable {
    /** Which request format the queue speaks. */
    public enum Kind { BLK, SCSI }

    /** Receives each completed request on the polling thread: {@code status} 0 is success. */
    @FunctionalInterface
    public interface Completion {
        void onComplete(long tag, int status);
    }

    /** Submission results besides {@link #OK}. */
    public static final int OK = 0, FULL = -1, BAD_BUFFER = -2;
    /** Completion status for a request the device answered but did not understand (blk UNSUPP). */
    public static final int UNSUPPORTED = 2;

    static final int SLOT = 256, TABLE = 0, HEADER = 64, STATUS = 128;
    static final int BLK_T_IN = 0, BLK_T_OUT = 1, BLK_T_FLUSH = 4, BLK_T_DISCARD = 11;
    static final int SCSI_REQ = 51, SCSI_RESP = 108;
    private static final int F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
    private static final VarHandle SHORT = ValueLayout.JAVA_SHORT.varHandle();
    private static final ValueLayout.OfLong BE_LONG = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final VhostUserDriver driver;
    private final DriverQueue q;
    private final Kind kind;
    private final int depth;
    private final boolean indirect;
    private final boolean eventIdx;
    private final int blockShift;
    private final int lun;
    private final MemorySegment guest;
    private final long guestGpa;
    private final long slotsOff;     // offset of slot 0 in guest memory
    private final long slotsGpa;
    private final int mask;
    private final int usedEventOff, availEventOff;
    private final long[] tags;
    private final int[] doneSlot, doneStatus;
    private final int[] free;
    private int freeCount;
    private int availIdx;           // next avail index to write (16-bit)
    private int publishedAvail;     // last value stored to avail->idx
    private int lastUsed;           // next used entry to take
    private long kicks, interrupts, idSeq;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment capture = Errno.allocate(arena);
    private final MemorySegment one = arena.allocate(8, 8);
    private final MemorySegment scratch = arena.allocate(8, 8);
    private final MemorySegment events = epoll_event.allocateArray(1, arena);
    private final int epfd;

    private RequestQueue(VhostUserDriver driver, DriverQueue q, Kind kind, int depth, boolean indirect, int blockSize, int lun) {
        this.driver = driver;
        this.q = q;
        this.kind = kind;
        this.depth = depth;
        this.indirect = indirect;
        this.eventIdx = (driver.features() & VIRTIO_RING_F_EVENT_IDX) != 0;
        this.blockShift = Integer.numberOfTrailingZeros(blockSize);
        this.lun = lun;
        this.guest = driver.guest();
        this.guestGpa = VhostUserDriver.GPA_BASE;
        this.slotsGpa = driver.alloc((long) SLOT * depth, 64);
        this.slotsOff = slotsGpa - guestGpa;
        this.mask = q.size - 1;
        this.usedEventOff = 4 + 2 * q.size;
        this.availEventOff = 4 + 8 * q.size;
        this.tags = new long[depth];
        this.doneSlot = new int[depth];
        this.doneStatus = new int[depth];
        this.free = new int[depth];
        for (int i = 0; i < depth; i++) free[freeCount++] = depth - 1 - i;
        one.set(JAVA_LONG, 0, 1L);
        epfd = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
        MemorySegment ev = epoll_event.allocate(arena);
        epoll_event.events(ev, 0, Libc.EPOLLIN);
        Errno.check(Libc.epoll_ctl(epfd, Libc.EPOLL_CTL_ADD, q.callFd, ev), "epoll_ctl");
        // a polling driver does not want interrupts: put the used event half the index space away
        q.usedEvent(0x7fff);
        prepareSlots();
    }

    /**
     * Sets up vring {@code vring} for up to {@code depth} requests in flight and starts it.
     *
     * @param blockSize the device's logical block size (scsi LBAs; blk sectors are always 512 bytes)
     * @param lun       the SCSI LUN addressed (scsi only)
     */
    public static RequestQueue start(VhostUserDriver driver, Kind kind, int vring, int depth, int blockSize, int lun,
                                     boolean useIndirect) throws IOException {
        if (depth < 1 || depth > 4096) throw new IllegalArgumentException("depth must be in 1..4096: " + depth);
        if (blockSize < 512 || Integer.bitCount(blockSize) != 1) throw new IllegalArgumentException("block size " + blockSize);
        boolean ind = useIndirect && (driver.features() & VIRTIO_RING_F_INDIRECT_DESC) != 0;
        int need = ind ? depth : 3 * depth;
        int size = Math.max(2, Integer.highestOneBit(need - 1) << 1);
        if (size > 32768) throw new IllegalArgumentException("depth " + depth + " needs a ring of " + size + " entries");
        DriverQueue q = driver.startQueue(vring, size, true);
        return new RequestQueue(driver, q, kind, depth, ind, blockSize, lun);
    }

    private long slot(int s) { return slotsOff + (long) SLOT * s; }

    private long slotGpa(int s) { return slotsGpa + (long) SLOT * s; }

    /** Writes what never changes: the descriptors to each slot's header and status (and the chain links). */
    private void prepareSlots() {
        int hdrLen = kind == Kind.BLK ? 16 : SCSI_REQ;
        int stLen = kind == Kind.BLK ? 1 : SCSI_RESP;
        for (int s = 0; s < depth; s++) {
            if (indirect) {
                q.desc(s, slotGpa(s) + TABLE, 48, F_INDIRECT, 0);
                tableEntry(s, 0, slotGpa(s) + HEADER, hdrLen, F_NEXT, 1);
            } else {
                q.desc(3 * s, slotGpa(s) + HEADER, hdrLen, F_NEXT, 3 * s + 1);
            }
            if (kind == Kind.SCSI) {
                long h = slot(s) + HEADER;
                guest.asSlice(h, SCSI_REQ).fill((byte) 0);
                guest.set(JAVA_BYTE, h, (byte) 1);
                guest.set(JAVA_BYTE, h + 2, (byte) (0x40 | (lun >> 8)));
                guest.set(JAVA_BYTE, h + 3, (byte) lun);
            }
        }
        if (!indirect) for (int s = 0; s < depth; s++) q.desc(3 * s + 2, slotGpa(s) + STATUS, stLen, F_WRITE, 0);
    }

    private void tableEntry(int s, int i, long addr, int len, int flags, int next) {
        long at = slot(s) + TABLE + 16L * i;
        guest.set(JAVA_LONG_UNALIGNED, at, addr);
        guest.set(JAVA_INT_UNALIGNED, at + 8, len);
        guest.set(JAVA_SHORT_UNALIGNED, at + 12, (short) flags);
        guest.set(JAVA_SHORT_UNALIGNED, at + 14, (short) next);
    }

    /** Sets descriptor {@code i} (0 header, 1 middle, 2 last) of slot {@code s}'s chain. */
    private void chainEntry(int s, int i, long addr, int len, int flags) {
        if (indirect) tableEntry(s, i, addr, len, flags | (i < 2 ? F_NEXT : 0), i + 1);
        else q.desc(3 * s + i, addr, len, flags | (i < 2 ? F_NEXT : 0), 3 * s + i + 1);
    }

    public Kind kind() { return kind; }

    public int depth() { return depth; }

    /** Ring entries (the queue size). */
    public int ringSize() { return q.size; }

    public boolean indirect() { return indirect; }

    /** Requests staged or in flight. */
    public int inFlight() { return depth - freeCount; }

    /** Kicks sent (kick eventfd writes). */
    public long kicks() { return kicks; }

    /** Wake-ups on the call eventfd while waiting. */
    public long interrupts() { return interrupts; }

    /** The guest-physical address of {@code buf}, or -1 when it is not inside the driver's guest memory. */
    public long gpaOf(MemorySegment buf, long len) {
        long off = buf.address() - guest.address();
        if (off < 0 || len < 0 || off > guest.byteSize() - len) return -1;
        return guestGpa + off;
    }

    /** Stages a read of {@code len} bytes at byte {@code offset} into guest buffer {@code bufGpa}. */
    public int read(long offset, long bufGpa, int len, long tag) {
        return data(true, offset, bufGpa, len, tag);
    }

    /** Stages a write of {@code len} bytes at byte {@code offset} from guest buffer {@code bufGpa}. */
    public int write(long offset, long bufGpa, int len, long tag) {
        return data(false, offset, bufGpa, len, tag);
    }

    private int data(boolean read, long offset, long bufGpa, int len, long tag) {
        if (freeCount == 0) return FULL;
        if (bufGpa < guestGpa || len <= 0) return BAD_BUFFER;
        int s = free[--freeCount];
        tags[s] = tag;
        long h = slot(s) + HEADER;
        if (kind == Kind.BLK) {
            guest.set(JAVA_INT_UNALIGNED, h, read ? BLK_T_IN : BLK_T_OUT);
            guest.set(JAVA_LONG_UNALIGNED, h + 8, offset >>> 9);
            guest.set(JAVA_BYTE, slot(s) + STATUS, (byte) 0xff);
            chainEntry(s, 1, bufGpa, len, read ? F_WRITE : 0);
            chainEntry(s, 2, slotGpa(s) + STATUS, 1, F_WRITE);
        } else {
            guest.set(JAVA_LONG_UNALIGNED, h + 8, ++idSeq);
            guest.set(JAVA_BYTE, h + 19, (byte) (read ? 0x88 : 0x8a));
            guest.set(JAVA_BYTE, h + 20, (byte) 0);
            guest.set(BE_LONG, h + 21, offset >>> blockShift);
            guest.set(BE_INT, h + 29, len >>> blockShift);
            guest.set(JAVA_BYTE, slot(s) + STATUS + 11, (byte) 0xff);
            if (read) {
                chainEntry(s, 1, slotGpa(s) + STATUS, SCSI_RESP, F_WRITE);
                chainEntry(s, 2, bufGpa, len, F_WRITE);
            } else {
                chainEntry(s, 1, bufGpa, len, 0);
                chainEntry(s, 2, slotGpa(s) + STATUS, SCSI_RESP, F_WRITE);
            }
        }
        stage(s);
        return OK;
    }

    /**
     * Stages a SCSI command with a data-in buffer (scsi only; control-path queries such as READ
     * CAPACITY(16)): the CDB bytes are copied into the slot's request.
     */
    public int command(byte[] cdb, long bufGpa, int len, long tag) {
        if (kind != Kind.SCSI || cdb.length > 32) return BAD_BUFFER;
        if (freeCount == 0) return FULL;
        int s = free[--freeCount];
        tags[s] = tag;
        long h = slot(s) + HEADER;
        guest.set(JAVA_LONG_UNALIGNED, h + 8, ++idSeq);
        guest.asSlice(h + 19, 32).fill((byte) 0);
        MemorySegment.copy(cdb, 0, guest, JAVA_BYTE, h + 19, cdb.length);
        guest.set(JAVA_BYTE, slot(s) + STATUS + 11, (byte) 0xff);
        chainEntry(s, 1, slotGpa(s) + STATUS, SCSI_RESP, F_WRITE);
        chainEntry(s, 2, bufGpa, len, F_WRITE);
        stage(s);
        return OK;
    }

    /** Sense key and additional sense code of the last response in slot {@code s} (scsi; diagnostics). */
    public int senseOf(long tag) {
        for (int s = 0; s < depth; s++) {
            if (tags[s] == tag) {
                long r = slot(s) + STATUS;
                return (guest.get(JAVA_BYTE, r + 12 + 2) & 0xf) << 8 | Byte.toUnsignedInt(guest.get(JAVA_BYTE, r + 12 + 12));
            }
        }
        return -1;
    }

    /** Stages a flush (blk FLUSH, scsi SYNCHRONIZE CACHE(10)). */
    public int flush(long tag) {
        if (freeCount == 0) return FULL;
        int s = free[--freeCount];
        tags[s] = tag;
        long h = slot(s) + HEADER;
        if (kind == Kind.BLK) {
            guest.set(JAVA_INT_UNALIGNED, h, BLK_T_FLUSH);
            guest.set(JAVA_LONG_UNALIGNED, h + 8, 0L);
            guest.set(JAVA_BYTE, slot(s) + STATUS, (byte) 0xff);
            // header + status only: a two-descriptor chain
            if (indirect) {
                tableEntry(s, 1, slotGpa(s) + STATUS, 1, F_WRITE, 0);
                q.desc(s, slotGpa(s) + TABLE, 32, F_INDIRECT, 0);
            } else {
                q.desc(3 * s, slotGpa(s) + HEADER, 16, F_NEXT, 3 * s + 2);
            }
        } else {
            guest.set(JAVA_LONG_UNALIGNED, h + 8, ++idSeq);
            guest.asSlice(h + 19, 16).fill((byte) 0);
            guest.set(JAVA_BYTE, h + 19, (byte) 0x35);
            guest.set(JAVA_BYTE, slot(s) + STATUS + 11, (byte) 0xff);
            if (indirect) {
                tableEntry(s, 1, slotGpa(s) + STATUS, SCSI_RESP, F_WRITE, 0);
                q.desc(s, slotGpa(s) + TABLE, 32, F_INDIRECT, 0);
            } else {
                q.desc(3 * s, slotGpa(s) + HEADER, SCSI_REQ, F_NEXT, 3 * s + 2);
                q.desc(3 * s + 2, slotGpa(s) + STATUS, SCSI_RESP, F_WRITE, 0);
            }
        }
        stageTwo(s);
        return OK;
    }

    /** Stages a blk DISCARD of one range (scsi: {@link #UNSUPPORTED} is not staged: returns BAD_BUFFER). */
    public int discard(long offset, long len, long tag) {
        if (kind != Kind.BLK) return BAD_BUFFER;
        if (freeCount == 0) return FULL;
        int s = free[--freeCount];
        tags[s] = tag;
        long h = slot(s) + HEADER;
        guest.set(JAVA_INT_UNALIGNED, h, BLK_T_DISCARD);
        guest.set(JAVA_LONG_UNALIGNED, h + 8, 0L);
        long range = slot(s) + HEADER + 32; // 16 bytes after the header, still inside the slot
        guest.set(JAVA_LONG_UNALIGNED, range, offset >>> 9);
        guest.set(JAVA_INT_UNALIGNED, range + 8, (int) (len >>> 9));
        guest.set(JAVA_INT_UNALIGNED, range + 12, 0);
        guest.set(JAVA_BYTE, slot(s) + STATUS, (byte) 0xff);
        chainEntry(s, 1, slotGpa(s) + HEADER + 32, 16, 0);
        chainEntry(s, 2, slotGpa(s) + STATUS, 1, F_WRITE);
        stage(s);
        return OK;
    }

    /** Makes slot {@code s} available (not yet published) with its three-descriptor chain. */
    private void stage(int s) {
        if (indirect) {
            q.desc(s, slotGpa(s) + TABLE, 48, F_INDIRECT, 0);
            putAvail(s);
        } else {
            q.desc(3 * s, slotGpa(s) + HEADER, kind == Kind.BLK ? 16 : SCSI_REQ, F_NEXT, 3 * s + 1);
            putAvail(3 * s);
        }
    }

    private void stageTwo(int s) {
        if (indirect) {
            tableEntry(s, 0, slotGpa(s) + HEADER, kind == Kind.BLK ? 16 : SCSI_REQ, F_NEXT, 1);
            putAvail(s);
        } else {
            putAvail(3 * s);
        }
    }

    private void putAvail(int head) {
        q.avail.set(JAVA_SHORT_UNALIGNED, 4L + 2L * (availIdx & mask), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
    }

    /**
     * Publishes every staged request with one release store of the available index and kicks the
     * device if it asked for it. Returns the requests published.
     */
    public int submit() {
        int old = publishedAvail, now = availIdx;
        if (old == now) return 0;
        SHORT.setRelease(q.avail, 2L, (short) now);
        publishedAvail = now;
        VarHandle.fullFence(); // the index store before reading the device's wish
        boolean kick;
        if (eventIdx) {
            int event = Short.toUnsignedInt(q.used.get(JAVA_SHORT_UNALIGNED, availEventOff));
            kick = ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
        } else {
            kick = (Short.toUnsignedInt(q.used.get(JAVA_SHORT_UNALIGNED, 0)) & 1) == 0;
        }
        if (kick) {
            try {
                long rc = (long) Libc.write$mh.invokeExact(capture, q.kickFd, one, 8L);
                assert rc == 8 || rc == -1;
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
            kicks++;
        }
        return (now - old) & 0xffff;
    }

    /**
     * Delivers up to {@code max} completed requests to {@code c}; never blocks. Returns how many.
     * The used entries and their status bytes are read first, all of them, then the callbacks run:
     * the status lines the device just wrote are fetched in parallel rather than one per callback.
     */
    public int poll(int max, Completion c) {
        int used = Short.toUnsignedInt((short) SHORT.getAcquire(q.used, 2L));
        int n = Math.min(Math.min(max, depth), (used - lastUsed) & 0xffff);
        for (int k = 0; k < n; k++) {
            long at = 4L + 8L * ((lastUsed + k) & mask);
            int id = q.used.get(JAVA_INT_UNALIGNED, at);
            int s = indirect ? id : id / 3;
            if (s < 0 || s >= depth) throw new IllegalStateException("used ring names descriptor " + id + " that is no request of this queue");
            doneSlot[k] = s;
            if (kind == Kind.BLK) {
                doneStatus[k] = Byte.toUnsignedInt(guest.get(JAVA_BYTE, slot(s) + STATUS));
            } else {
                long r = slot(s) + STATUS;
                int response = Byte.toUnsignedInt(guest.get(JAVA_BYTE, r + 11));
                int scsi = Byte.toUnsignedInt(guest.get(JAVA_BYTE, r + 10));
                doneStatus[k] = response != 0 ? 0x100 | response : scsi;
            }
        }
        lastUsed = (lastUsed + n) & 0xffff;
        for (int k = 0; k < n; k++) {
            int s = doneSlot[k];
            free[freeCount++] = s;
            c.onComplete(tags[s], doneStatus[k]);
        }
        return n;
    }

    /**
     * Publishes staged requests, then waits up to {@code timeoutNanos} for a completion (the
     * interrupt is armed at the next used entry and the used ring re-checked before sleeping), then
     * polls. Returns the completions delivered.
     */
    public int await(int max, long timeoutNanos, Completion c) {
        submit();
        int n = poll(max, c);
        if (n > 0 || inFlight() == 0) return n;
        if (eventIdx) q.usedEvent(lastUsed);
        else q.avail.set(JAVA_SHORT_UNALIGNED, 0, (short) 0);
        VarHandle.fullFence();
        if (Short.toUnsignedInt((short) SHORT.getAcquire(q.used, 2L)) == lastUsed) {
            int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (timeoutNanos + 999_999) / 1_000_000));
            int rc;
            try {
                rc = (int) Libc.epoll_wait$mh.invokeExact(capture, epfd, events, 1, ms);
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
            if (rc < 0 && Errno.get(capture) != Libc.EINTR) throw new ErrnoException("epoll_wait", Errno.get(capture));
            if (rc > 0) {
                try {
                    long r = (long) Libc.read$mh.invokeExact(capture, q.callFd, scratch, 8L);
                    assert r == 8 || r == -1;
                } catch (Throwable t) {
                    throw Libc.rethrowPublic(t);
                }
                interrupts++;
            }
        }
        // back to polling: interrupts off again
        if (eventIdx) q.usedEvent(lastUsed + 0x7fff);
        else q.avail.set(JAVA_SHORT_UNALIGNED, 0, (short) 1);
        return poll(max, c);
    }

    /**
     * Stops the ring (GET_VRING_BASE, which waits for the device to finish what it took) and frees
     * the queue's descriptors. Requests never completed are reported to {@code leftover} with
     * {@code status} -1. The caller serialises this with other control calls on the driver.
     */
    public void stop(Completion leftover) throws IOException {
        submit();
        try {
            driver.getVringBase(q.index);
        } finally {
            poll(depth, leftover);
            for (int s = 0; s < depth && freeCount < depth; s++) {
                boolean isFree = false;
                for (int k = 0; k < freeCount; k++) if (free[k] == s) { isFree = true; break; }
                if (!isFree) {
                    free[freeCount++] = s;
                    leftover.onComplete(tags[s], -1);
                }
            }
        }
    }

    /** Closes the queue's eventfds and epoll descriptor (after {@link #stop}). */
    @Override
    public void close() {
        Libc.close(epfd);
        q.close();
        arena.close();
    }
}
