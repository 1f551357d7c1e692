package io.dsf.frodo.driver;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The driver side of one split ring in a {@link VhostUserDriver}'s guest memory: writes descriptors
 * and available entries, kicks, and reads the used ring, waiting on the call eventfd. Tests may
 * write any descriptor they like ({@link #desc}). Owned by one thread; not thread safe.
 */
public final class DriverQueue implements AutoCloseable {
    private static final VarHandle SHORT = ValueLayout.JAVA_SHORT.varHandle();
    private final VhostUserDriver d;
    public final int index;
    public final int size;
    public final long descGpa, availGpa, usedGpa;
    final int kickFd;
    int callFd;
    final MemorySegment desc, avail, used;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment eight = arena.allocate(8, 8);
    private int availIdx;
    private int lastUsed;
    private int nextFree;

    DriverQueue(VhostUserDriver d, int index, int size) {
        this.d = d;
        this.index = index;
        this.size = size;
        this.descGpa = d.alloc(16L * size, 16);
        this.availGpa = d.alloc(6L + 2L * size, 2);
        this.usedGpa = d.alloc(6L + 8L * size, 4);
        this.desc = d.at(descGpa, 16L * size);
        this.avail = d.at(availGpa, 6L + 2L * size);
        this.used = d.at(usedGpa, 6L + 8L * size);
        this.kickFd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        this.callFd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
    }

    /** Writes descriptor {@code i}. */
    public void desc(int i, long addr, int len, int flags, int next) {
        long at = 16L * i;
        desc.set(JAVA_LONG_UNALIGNED, at, addr);
        desc.set(JAVA_INT_UNALIGNED, at + 8, len);
        desc.set(JAVA_SHORT_UNALIGNED, at + 12, (short) flags);
        desc.set(JAVA_SHORT_UNALIGNED, at + 14, (short) next);
    }

    /** Writes a chain into the next free descriptors (wrapping); returns its head. */
    public int chain(long[] addr, int[] len, boolean[] writable) {
        int n = addr.length;
        int head = nextFree;
        for (int k = 0; k < n; k++) {
            int i = (head + k) % size;
            int next = (head + k + 1) % size;
            desc(i, addr[k], len[k], (writable[k] ? 2 : 0) | (k < n - 1 ? 1 : 0), k < n - 1 ? next : 0);
        }
        nextFree = (head + n) % size;
        return head;
    }

    /** Makes {@code head} available (release store of the index). */
    public void offer(int head) {
        stage(head);
        publish();
    }

    /** Writes {@code head} into the next available entry without publishing it (see {@link #publish}). */
    public void stage(int head) {
        avail.set(JAVA_SHORT_UNALIGNED, 4L + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
    }

    /** Publishes every staged entry with one release store of the available index. */
    public void publish() {
        SHORT.setRelease(avail, 2L, (short) availIdx);
    }

    /** Sets the available index directly (malformed-driver tests). */
    public void availIdx(int idx) {
        availIdx = idx & 0xffff;
        SHORT.setRelease(avail, 2L, (short) availIdx);
    }

    /**
     * Sets the avail ring's used_event field (event index) and keeps it: {@link #awaitUsed} no longer
     * moves it (tests of interrupt suppression).
     */
    public void usedEvent(int v) {
        usedEventPinned = true;
        setUsedEvent(v);
    }

    private boolean usedEventPinned;

    private void setUsedEvent(int v) { avail.set(JAVA_SHORT_UNALIGNED, 4L + 2L * size, (short) v); }

    /** The used ring's avail_event field written by the device. */
    public int availEvent() { return Short.toUnsignedInt(used.get(JAVA_SHORT_UNALIGNED, 4L + 8L * size)); }

    public void kick() {
        eight.set(JAVA_LONG, 0, 1L);
        Libc.write(kickFd, eight, 8);
    }

    /** The used index the device published. */
    public int usedIdx() { return Short.toUnsignedInt((short) SHORT.getAcquire(used, 2L)); }

    /**
     * Waits until at least {@code count} new used entries exist or the deadline passes; returns how
     * many new ones there are (blocking on the call eventfd between checks).
     */
    public int awaitUsed(int count, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try (Arena a = Arena.ofConfined()) {
            int ep = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
            try {
                MemorySegment ev = epoll_event.allocateArray(1, a);
                epoll_event.events(ev, 0, Libc.EPOLLIN);
                Errno.check(Libc.epoll_ctl(ep, Libc.EPOLL_CTL_ADD, callFd, ev), "epoll_ctl");
                while (true) {
                    int n = (usedIdx() - lastUsed) & 0xffff;
                    if (n >= count) return n;
                    if (!usedEventPinned) { // with the event index: an interrupt once the count-th entry is used
                        setUsedEvent(lastUsed + count - 1);
                        VarHandle.fullFence();
                        n = (usedIdx() - lastUsed) & 0xffff;
                        if (n >= count) return n;
                    }
                    long left = (deadline - System.nanoTime()) / 1_000_000L;
                    if (left <= 0) return n;
                    if (Libc.epoll_wait(ep, ev, 1, (int) Math.min(left, 50)) > 0 && Libc.read(callFd, eight, 8) == 8)
                        interrupts += eight.get(JAVA_LONG, 0);
                }
            } finally {
                Libc.close(ep);
            }
        }
    }

    /**
     * Closes the call eventfd, with any signal it holds, and makes a new one that the next
     * {@link VhostUserDriver#resumeQueue} passes: QEMU lets a crashed back-end's guest notifiers go
     * and makes new ones for the new connection.
     */
    public void replaceCallFd() {
        int fd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        Libc.close(callFd);
        callFd = fd;
    }

    /**
     * Waits up to {@code timeoutMillis} for the device to signal the call eventfd (without looking at
     * the used ring: a driver learns of completions from the interrupt); true when it did.
     */
    public boolean awaitInterrupt(long timeoutMillis) {
        try (Arena a = Arena.ofConfined()) {
            int ep = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
            try {
                MemorySegment ev = epoll_event.allocateArray(1, a);
                epoll_event.events(ev, 0, Libc.EPOLLIN);
                Errno.check(Libc.epoll_ctl(ep, Libc.EPOLL_CTL_ADD, callFd, ev), "epoll_ctl");
                if (Libc.epoll_wait(ep, ev, 1, (int) Math.min(timeoutMillis, Integer.MAX_VALUE)) <= 0) return false;
                if (Libc.read(callFd, eight, 8) == 8) interrupts += eight.get(JAVA_LONG, 0);
                return true;
            } finally {
                Libc.close(ep);
            }
        }
    }

    /** Takes the next used entry: returns {@code id} in the high and {@code len} in the low 32 bits. */
    public long takeUsed() {
        long at = 4L + 8L * (lastUsed % size);
        int id = used.get(JAVA_INT_UNALIGNED, at);
        int len = used.get(JAVA_INT_UNALIGNED, at + 4);
        lastUsed = (lastUsed + 1) & 0xffff;
        return ((long) id << 32) | Integer.toUnsignedLong(len);
    }

    /** Interrupts (call eventfd signals) received since the last call, including those seen while waiting. */
    public long interrupts() {
        long r = Libc.read(callFd, eight, 8);
        long n = interrupts + (r == 8 ? eight.get(JAVA_LONG, 0) : 0);
        interrupts = 0;
        return n;
    }

    private long interrupts;

    public VhostUserDriver driver() { return d; }

    @Override
    public void close() {
        Libc.close(kickFd);
        Libc.close(callFd);
        arena.close();
    }
}
