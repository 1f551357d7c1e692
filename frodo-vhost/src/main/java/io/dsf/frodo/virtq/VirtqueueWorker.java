package io.dsf.frodo.virtq;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs one virtqueue: a thread (in {@code dedicated} mode) whose duty cycle drains completed
 * requests into the used ring, fetches and walks new chains from the available ring and submits them
 * to the device, then publishes the used index and interrupts the guest at most once per cycle.
 * Requests are the preallocated slots indexed by head; completions come back from any thread through
 * an intrusive lock-free stack of those slots (push by CAS, the worker takes the whole stack at once:
 * no allocation, no lock, no ABA since only the worker removes).
 *
 * <p>The connection thread configures the worker while it is stopped and starts/stops it; the call
 * eventfd may be replaced while it runs ({@link #replaceCallFd}). The ring state (last available
 * index) survives stop/start. Control methods: connection thread only. {@link #onComplete}: any
 * thread.
 */
public final class VirtqueueWorker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VirtqueueWorker.class.getName());
    private static final int NO_CHANGE = Integer.MIN_VALUE;
    private static final MemorySegment ONE;
    private static final VarHandle COMPLETED;
    static {
        ONE = Arena.global().allocate(8, 8);
        ONE.set(JAVA_LONG, 0, 1L);
        try {
            COMPLETED = MethodHandles.lookup().findVarHandle(VirtqueueWorker.class, "completed", VirtqRequest.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int index;
    private final VirtqueueHandler handler;
    private final String name;
    private final int wakeFd;
    private final AtomicInteger pendingCallFd = new AtomicInteger(NO_CHANGE);
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong resubmitted = new AtomicLong();

    // ---- configured by the connection thread while stopped
    private VirtqRequest[] slots = new VirtqRequest[0];
    @SuppressWarnings("unused") private volatile VirtqRequest completed; // top of the completion stack
    private int[] batchHeads;
    private SplitVirtqueue vq;
    private InflightQueue inflight;
    private int kickFd = -1;
    private int callFd = -1;
    private int errFd = -1;
    private IdleMode idleMode = IdleMode.BLOCK;
    private Thread thread;
    private volatile boolean stopRequested;
    private volatile boolean abandoned;
    private volatile boolean sleeping;
    private volatile Throwable failure;

    // ---- worker thread state
    private int inFlightCount;
    private int batchCount;
    private boolean broken;
    private int malformedLogged;
    private MemorySegment capture;
    private MemorySegment events;
    private MemorySegment scratch;
    private int epfd = -1;

    public VirtqueueWorker(String deviceName, int index, VirtqueueHandler handler) {
        this.index = index;
        this.handler = handler;
        this.name = deviceName + " vq" + index;
        this.wakeFd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
    }

    public int index() { return index; }

    /** Requests taken from the ring (including resubmitted ones). Any thread. */
    public long requests() { return requests.get(); }

    /** Chains refused as malformed. Any thread. */
    public long malformed() { return malformed.get(); }

    /** Requests resubmitted from the in-flight area after a reconnect. Any thread. */
    public long resubmitted() { return resubmitted.get(); }

    public boolean running() { return thread != null; }

    /** The last available index consumed; meaningful while stopped. */
    public int lastAvail() { return vq == null ? 0 : vq.lastAvail(); }

    /**
     * Starts the worker thread on a ring (connection thread, while stopped).
     *
     * @param lastAvail the ring base (SET_VRING_BASE), overridden by the in-flight area when it holds state
     * @param inflight  this queue's in-flight area, or null
     * @throws IllegalArgumentException when the ring cannot be mapped
     */
    public void start(GuestMemory memory, int size, long descUva, long availUva, long usedUva, int lastAvail,
                      boolean eventIdx, boolean indirect, int kickFd, int errFd, InflightQueue inflight, IdleMode idle) {
        if (thread != null) throw new IllegalStateException(name + " already running");
        SplitVirtqueue q = SplitVirtqueue.attach(memory, size, descUva, availUva, usedUva, eventIdx, indirect);
        q.lastAvail(lastAvail);
        if (slots.length != size) {
            slots = new VirtqRequest[size];
            for (int i = 0; i < size; i++) {
                VirtqRequest r = handler.newRequest();
                r.worker = this;
                slots[i] = r;
            }
            batchHeads = new int[size];
        }
        this.vq = q;
        this.inflight = inflight;
        this.kickFd = kickFd;
        this.errFd = errFd;
        this.idleMode = idle;
        this.stopRequested = false;
        this.abandoned = false;
        this.failure = null;
        Thread t = new Thread(this::run, "frodo-" + name.replace(' ', '-'));
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    /** Sets the call eventfd while stopped (-1: none); the worker owns and closes it afterwards. */
    public void setCallFd(int fd) {
        if (thread != null) { replaceCallFd(fd); return; }
        if (callFd >= 0) Libc.close(callFd);
        callFd = fd;
    }

    /** Replaces the call eventfd while running; the worker switches at its next cycle and closes the old one. */
    public void replaceCallFd(int fd) {
        int old = pendingCallFd.getAndSet(fd);
        if (old != NO_CHANGE && old >= 0) Libc.close(old);
        wake();
    }

    /**
     * Stops fetching, waits for the requests in flight to complete and be published, and joins the
     * thread. Returns the last available index.
     *
     * @throws IllegalStateException when requests are still in flight after {@code timeoutMillis}
     */
    public int stop(long timeoutMillis) {
        Thread t = thread;
        if (t == null) return lastAvail();
        stopRequested = true;
        wake();
        try {
            t.join(timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            throw new IllegalStateException(name + ": requests still in flight " + timeoutMillis + " ms after stop");
        }
        thread = null;
        return vq.lastAvail();
    }

    /**
     * Leaves the ring without touching it again, as a crashed process would: no completion is
     * published afterwards (the in-flight area keeps what was in flight). For crash tests and for a
     * connection torn down with requests stuck in the device.
     */
    public void abandon() {
        Thread t = thread;
        if (t == null) return;
        abandoned = true;
        stopRequested = true;
        wake();
        try {
            t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread = null;
    }

    /** Closes the eventfds the worker owns (stopped workers only). */
    @Override
    public void close() {
        if (thread != null) throw new IllegalStateException(name + " still running");
        int p = pendingCallFd.getAndSet(NO_CHANGE);
        if (p != NO_CHANGE && p >= 0) Libc.close(p);
        if (callFd >= 0) Libc.close(callFd);
        callFd = -1;
        Libc.close(wakeFd);
    }

    /** Called by {@link VirtqRequest#complete}: any thread. */
    void onComplete(VirtqRequest r) {
        VirtqRequest top;
        do {
            top = (VirtqRequest) COMPLETED.getVolatile(this);
            r.nextCompleted = top;
        } while (!COMPLETED.compareAndSet(this, top, r));
        if (sleeping) wake();
    }

    private void wake() {
        try {
            long rc = (long) Libc.write$mh.invokeExact(Errno.segment(), wakeFd, ONE, 8L);
            assert rc == 8 || rc == -1; // -1: EAGAIN when the counter is saturated, still readable
        } catch (Throwable t) {
            throw Libc.rethrowPublic(t);
        }
    }

    // ======================================================================== worker thread

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            capture = Errno.allocate(arena);
            scratch = arena.allocate(8, 8);
            events = epoll_event.allocateArray(4, arena);
            epfd = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
            try {
                addEpoll(arena, wakeFd, 1);
                if (kickFd >= 0) addEpoll(arena, kickFd, 0);
                broken = false;
                inFlightCount = 0;
                batchCount = 0;
                recoverInflight();
                loop();
            } finally {
                Libc.close(epfd);
                epfd = -1;
            }
        } catch (Throwable t) {
            failure = t;
            LOG.log(System.Logger.Level.ERROR, name + ": worker stopped on an internal error", t);
        }
    }

    private void addEpoll(Arena arena, int fd, long data) {
        MemorySegment ev = epoll_event.allocate(arena);
        epoll_event.events(ev, 0, Libc.EPOLLIN);
        epoll_event.data(ev, 0, data);
        Errno.check(Libc.epoll_ctl(epfd, Libc.EPOLL_CTL_ADD, fd, ev), "epoll_ctl " + name);
    }

    private void recoverInflight() {
        if (inflight == null) return;
        int[] heads = batchHeads;
        int guestUsed = vq.guestUsedIdx();
        int n = inflight.recover(vq.size(), guestUsed, heads);
        vq.lastAvail(guestUsed + n);
        if (n == 0) return;
        int[] copy = java.util.Arrays.copyOf(heads, n); // control path: once per reconnect
        LOG.log(System.Logger.Level.INFO, "{0}: resubmitting {1} requests in flight before the reconnect", name, n);
        for (int head : copy) {
            VirtqRequest r = slots[head];
            int rc = vq.walk(head, r.chain());
            resubmitted.incrementAndGet();
            if (rc != SplitVirtqueue.OK) {
                malformed(head, rc);
                continue;
            }
            r.inFlight = true;
            inFlightCount++;
            requests.lazySet(requests.get() + 1);
            submit(r);
        }
        publishAndNotify();
    }

    private void loop() {
        int idle = 0;
        while (!stopRequested) {
            int work = doWork();
            if (work > 0) {
                idle = 0;
                continue;
            }
            idle++;
            switch (idleMode) {
                case SPIN -> Thread.onSpinWait();
                case BACKOFF -> backoff(idle);
                case BLOCK -> block(1000);
            }
        }
        if (abandoned) return;
        handler.onStop();
        // drain: no new requests, wait for the ones in flight
        while (inFlightCount > 0 && !abandoned) {
            int w = drainCompletions();
            publishAndNotify();
            if (w == 0) block(10);
        }
        if (!abandoned) publishAndNotify();
    }

    /** Spins, then yields, then parks for 1 us doubling up to 1 ms. */
    private static void backoff(int idle) {
        if (idle < 64) Thread.onSpinWait();
        else if (idle < 80) Thread.yield();
        else LockSupport.parkNanos(1000L << Math.min(10, idle - 80));
    }

    /** One duty cycle; returns the work done. */
    int doWork() {
        int p = pendingCallFd.get();
        if (p != NO_CHANGE) {
            p = pendingCallFd.getAndSet(NO_CHANGE);
            if (callFd >= 0) Libc.close(callFd);
            callFd = p;
            signalGuest(); // the new eventfd may have missed an interrupt
        }
        int work = drainCompletions();
        work += fetch();
        work += drainCompletions();
        publishAndNotify();
        return work;
    }

    private int drainCompletions() {
        int n = 0;
        VirtqRequest r = (VirtqRequest) COMPLETED.getAndSet(this, (VirtqRequest) null);
        if (r == null) return 0;
        // the stack is newest first: reverse it so the used ring follows completion order
        VirtqRequest prev = null;
        while (r != null) {
            VirtqRequest next = r.nextCompleted;
            r.nextCompleted = prev;
            prev = r;
            r = next;
        }
        for (r = prev; r != null; r = r.nextCompleted) {
            if (abandoned) return n;
            if (!r.inFlight) {
                LOG.log(System.Logger.Level.ERROR, "{0}: request {1} completed twice; ignored", name, r.chain().head());
                continue;
            }
            r.inFlight = false;
            inFlightCount--;
            putUsed(r.chain().head(), r.usedLen);
            n++;
        }
        return n;
    }

    private int fetch() {
        if (broken) return 0;
        int n = vq.pending();
        if (n < 0) {
            markBroken("the available index moved by more than the queue size");
            return 0;
        }
        int size = vq.size();
        for (int i = 0; i < n; i++) {
            int head = vq.nextHead();
            if (head >= size) {
                markBroken("available ring entry " + head + " is outside the queue of " + size);
                return i;
            }
            VirtqRequest r = slots[head];
            if (r.inFlight) {
                markBroken("head " + head + " made available while already in flight");
                return i;
            }
            if (inflight != null) inflight.begin(head);
            int rc = vq.walk(head, r.chain());
            if (rc != SplitVirtqueue.OK) {
                malformed(head, rc);
                continue;
            }
            r.inFlight = true;
            inFlightCount++;
            requests.lazySet(requests.get() + 1);
            submit(r);
        }
        return n;
    }

    private void submit(VirtqRequest r) {
        try {
            handler.submit(r);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, name + ": device failed to submit request " + r.chain().head(), e);
            markBroken("device error: " + e);
        }
    }

    private void malformed(int head, int rc) {
        malformed.lazySet(malformed.get() + 1);
        if (malformedLogged < 16) {
            malformedLogged++;
            LOG.log(System.Logger.Level.WARNING, "{0}: malformed descriptor chain at head {1}: {2}; returned unused",
                    name, head, SplitVirtqueue.describe(rc));
        }
        putUsed(head, 0);
    }

    private void putUsed(int head, int len) {
        if (batchCount == batchHeads.length) publishAndNotify();
        vq.putUsed(head, len);
        if (inflight != null) inflight.batchAdd(head, batchCount == 0);
        batchHeads[batchCount++] = head;
    }

    private void publishAndNotify() {
        if (batchCount == 0) return;
        vq.publishUsed();
        if (inflight != null) inflight.batchCommit(vq.usedIdx(), batchHeads, batchCount);
        batchCount = 0;
        if (vq.needsInterrupt()) signalGuest();
    }

    private void signalGuest() {
        if (callFd < 0) return;
        try {
            long rc = (long) Libc.write$mh.invokeExact(capture, callFd, ONE, 8L);
            assert rc == 8 || rc == -1;
        } catch (Throwable t) {
            throw Libc.rethrowPublic(t);
        }
    }

    private void markBroken(String why) {
        if (broken) return;
        broken = true;
        LOG.log(System.Logger.Level.ERROR, "{0}: {1}; the queue stops until the driver resets it", name, why);
        if (errFd >= 0) {
            try {
                long rc = (long) Libc.write$mh.invokeExact(capture, errFd, ONE, 8L);
                assert rc == 8 || rc == -1;
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
        }
    }

    /** Whether the queue stopped on a driver error (tests; meaningful while stopped). */
    public boolean broken() { return broken; }

    private void block(int timeoutMillis) {
        sleeping = true;
        try {
            if (!broken && !stopRequested) vq.requestKickAt(vq.lastAvail());
            if (COMPLETED.getVolatile(this) != null || (!broken && !stopRequested && vq.pending() != 0)
                    || (stopRequested && inFlightCount == 0) || pendingCallFd.get() != NO_CHANGE) return;
            int timeout = kickFd >= 0 || stopRequested ? timeoutMillis : 1;
            int n;
            try {
                n = (int) Libc.epoll_wait$mh.invokeExact(capture, epfd, events, 4, timeout);
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
            if (n < 0) {
                int e = Errno.get(capture);
                if (e != Libc.EINTR) throw new ErrnoException(name + ": epoll_wait", e);
                return;
            }
            for (int i = 0; i < n; i++) {
                int fd = epoll_event.data(events, i) == 0 ? kickFd : wakeFd;
                try {
                    long rc = (long) Libc.read$mh.invokeExact(capture, fd, scratch, 8L);
                    assert rc == 8 || rc == -1;
                } catch (Throwable t) {
                    throw Libc.rethrowPublic(t);
                }
            }
        } finally {
            sleeping = false;
        }
    }
}
