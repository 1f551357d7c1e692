package io.dsf.frodo.virtq;

import io.dsf.bindings.libc.gen.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Runs one virtqueue as an agent: its duty cycle drains completed requests into the used ring,
 * fetches and walks new chains from the available ring and submits them to the device, then
 * publishes the used index and interrupts the guest at most once per cycle (and only when the
 * driver asked for it: {@code EVENT_IDX} or the {@code NO_INTERRUPT} flag). The cycle runs on a
 * {@link QueueRunner}: a runner of its own in {@code dedicated} threading, a runner shared with
 * other queues in {@code shared} threading. Requests are the preallocated slots indexed by head;
 * completions come back from any thread through an intrusive lock-free stack of those slots (push
 * by CAS, the worker takes the whole stack at once: no allocation, no lock, no ABA since only the
 * worker removes).
 *
 * <p>The connection thread configures the worker while it is stopped and starts/stops it; the call
 * eventfd may be replaced while it runs ({@link #replaceCallFd}). The ring state (last available
 * index) survives stop/start. Control methods: connection thread only. {@link #onComplete}: any
 * thread. The cycle methods: the runner thread the worker is attached to.
 */
public final class VirtqueueWorker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VirtqueueWorker.class.getName());
    private static final int NO_CHANGE = Integer.MIN_VALUE;
    /** Within a long batch of new requests, completions are published every this many (a power of two). */
    static final int PUBLISH_EVERY = 8;
    /** {@link #cycle} result: the worker stopped (drained or abandoned) and leaves its runner. */
    static final int DETACH = -1;
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
    private final AtomicInteger pendingCallFd = new AtomicInteger(NO_CHANGE);
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong resubmitted = new AtomicLong();
    private final AtomicLong interrupts = new AtomicLong();
    private final AtomicLong completions = new AtomicLong();

    // ---- configured by the connection thread while stopped
    private VirtqRequest[] slots = new VirtqRequest[0];
    @SuppressWarnings("unused") private volatile VirtqRequest completed; // top of the completion stack
    private int[] batchHeads;
    private SplitVirtqueue vq;
    private InflightQueue inflight;
    private int kickFd = -1;
    private int callFd = -1;
    private int errFd = -1;
    private QueueRunner dedicated;
    private volatile QueueRunner runner;
    private CountDownLatch detached;
    private volatile boolean attached; // written by the connection thread; read racily for stats
    private volatile boolean stopRequested;
    private volatile boolean abandoned;
    private volatile Throwable failure;

    // ---- runner thread state (while attached)
    private int inFlightCount;
    private int batchCount;
    private boolean broken;
    private boolean stopping;
    private int malformedLogged;
    private MemorySegment capture;

    public VirtqueueWorker(String deviceName, int index, VirtqueueHandler handler) {
        this.index = index;
        this.handler = handler;
        this.name = deviceName + " vq" + index;
    }

    public int index() { return index; }

    public String name() { return name; }

    /** Requests taken from the ring (including resubmitted ones). Any thread. */
    public long requests() { return requests.get(); }

    /** Chains refused as malformed. Any thread. */
    public long malformed() { return malformed.get(); }

    /** Requests resubmitted from the in-flight area after a reconnect. Any thread. */
    public long resubmitted() { return resubmitted.get(); }

    /** Used elements published to the guest (completed requests and refused chains). Any thread. */
    public long completions() { return completions.get(); }

    /** Interrupts sent to the guest (call eventfd writes). Any thread. */
    public long interrupts() { return interrupts.get(); }

    /** Whether the worker is started (attached to a runner, or stuck stopping). Connection thread. */
    public boolean running() { return attached; }

    /**
     * A one-line view of the ring for failure messages: guest-visible indices (read from guest memory
     * now), the worker's shadows and counters. Any thread; racy, never used for decisions.
     */
    public String state() {
        SplitVirtqueue q = vq;
        StringBuilder b = new StringBuilder(name).append(attached ? " running" : " stopped");
        if (q != null && attached) {
            b.append(" avail=").append(q.guestAvailIdx()).append(" lastAvail=").append(q.lastAvail())
                    .append(" used=").append(q.guestUsedIdx()).append(" usedEvent=").append(q.usedEvent());
        }
        return b.append(" inFlight=").append(inFlightCount).append(" requests=").append(requests.get())
                .append(" completions=").append(completions.get()).append(" interrupts=").append(interrupts.get())
                .append(" resubmitted=").append(resubmitted.get()).append(broken ? " broken" : "").toString();
    }

    /** The runner the worker runs (or last ran) on, or null. */
    public QueueRunner runner() { return runner; }

    /** The internal error that stopped the worker, or null. */
    public Throwable failure() { return failure; }

    /** The last available index consumed; meaningful while stopped. */
    public int lastAvail() { return vq == null ? 0 : vq.lastAvail(); }

    /**
     * This worker's own runner for {@code dedicated} threading (made on first use, closed with the
     * worker). Connection thread.
     */
    public QueueRunner dedicatedRunner(IdleMode idle) {
        if (dedicated == null || dedicated.idleMode() != idle) {
            if (dedicated != null) dedicated.close();
            dedicated = new QueueRunner("frodo-" + name.replace(' ', '-'), idle);
        }
        return dedicated;
    }

    /**
     * Starts the worker on {@code on} (connection thread, while stopped).
     *
     * @param lastAvail the ring base (SET_VRING_BASE), overridden by the in-flight area when it holds state
     * @param inflight  this queue's in-flight area, or null
     * @param on        the runner whose thread runs the duty cycle
     * @throws IllegalArgumentException when the ring cannot be mapped
     */
    public void start(GuestMemory memory, int size, long descUva, long availUva, long usedUva, int lastAvail,
                      boolean eventIdx, boolean indirect, int kickFd, int errFd, InflightQueue inflight, QueueRunner on) {
        configure(memory, size, descUva, availUva, usedUva, lastAvail, eventIdx, indirect, kickFd, errFd, inflight, on);
        on.attach(this);
    }

    /** {@link #start} without handing the worker to its runner: unit tests then step {@link #cycle} by hand. */
    void configure(GuestMemory memory, int size, long descUva, long availUva, long usedUva, int lastAvail,
                   boolean eventIdx, boolean indirect, int kickFd, int errFd, InflightQueue inflight, QueueRunner on) {
        if (attached) throw new IllegalStateException(name + " already running");
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
        this.stopRequested = false;
        this.abandoned = false;
        this.failure = null;
        this.detached = new CountDownLatch(1);
        this.runner = on;
        attached = true;
    }

    /** Sets the call eventfd while stopped (-1: none); the worker owns and closes it afterwards. */
    public void setCallFd(int fd) {
        if (attached) { replaceCallFd(fd); return; }
        if (callFd >= 0) Libc.close(callFd);
        callFd = fd;
    }

    /** Replaces the call eventfd while running; the worker switches at its next cycle and closes the old one. */
    public void replaceCallFd(int fd) {
        int old = pendingCallFd.getAndSet(fd);
        if (old != NO_CHANGE && old >= 0) Libc.close(old);
        QueueRunner r = runner;
        if (r != null) r.wake();
    }

    /**
     * Stops fetching, waits for the requests in flight to complete and be published, and leaves the
     * runner. Returns the last available index.
     *
     * @throws IllegalStateException when requests are still in flight after {@code timeoutMillis}
     */
    public int stop(long timeoutMillis) {
        if (!attached) return lastAvail();
        requestStop();
        runner.wake();
        if (!awaitDetached(timeoutMillis))
            throw new IllegalStateException(name + ": requests still in flight " + timeoutMillis + " ms after stop");
        attached = false;
        return vq.lastAvail();
    }

    /**
     * Leaves the ring without touching it again, as a crashed process would: no completion is
     * published afterwards (the in-flight area keeps what was in flight). For crash tests and for a
     * connection torn down with requests stuck in the device.
     */
    public void abandon() {
        if (!attached) return;
        abandoned = true;
        stopRequested = true;
        runner.wake();
        if (!awaitDetached(TimeUnit.SECONDS.toMillis(5)))
            LOG.log(System.Logger.Level.ERROR, "{0}: its runner did not let it go within 5 s", name);
        attached = false;
    }

    /** Asks the duty cycle to stop taking requests and finish those in flight (any thread). */
    void requestStop() {
        stopRequested = true;
    }

    private boolean awaitDetached(long timeoutMillis) {
        try {
            return detached.await(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Closes the eventfds the worker owns (stopped workers only). */
    @Override
    public void close() {
        if (attached) throw new IllegalStateException(name + " still running");
        int p = pendingCallFd.getAndSet(NO_CHANGE);
        if (p != NO_CHANGE && p >= 0) Libc.close(p);
        if (callFd >= 0) Libc.close(callFd);
        callFd = -1;
        if (dedicated != null) dedicated.close();
        dedicated = null;
    }

    /** Called by {@link VirtqRequest#complete}: any thread. */
    void onComplete(VirtqRequest r) {
        VirtqRequest top;
        do {
            top = (VirtqRequest) COMPLETED.getVolatile(this);
            r.nextCompleted = top;
        } while (!COMPLETED.compareAndSet(this, top, r));
        QueueRunner on = runner;
        if (on.sleeping) on.wake();
    }

    // ======================================================================== runner thread

    int kickFd() { return kickFd; }

    boolean stopping() { return stopping; }

    /** The runner took the worker: reset the per-run state, resubmit what the in-flight area holds. */
    void onAttach(MemorySegment errnoCapture) {
        capture = errnoCapture;
        broken = false;
        stopping = false;
        inFlightCount = 0;
        batchCount = 0;
        boolean resumed = recoverInflight();
        if (resumed || vq.guestUsedIdx() != 0) {
            // The ring already holds used elements, and the driver may never have been told about the
            // last of them: the previous back-end can have published them and died before its eventfd
            // write, or signalled an eventfd the front-end had already let go (QEMU tears the old
            // connection's guest notifiers down and makes new ones for the new connection). With
            // nothing else in flight on this ring the driver would wait for them forever, so it gets
            // one interrupt now; a spurious one costs it a look at the used index. (A fresh ring,
            // used index 0 and no in-flight state, owes nothing.)
            signalGuest();
        }
    }

    /** The runner let the worker go (it no longer touches the ring). */
    void onDetached() {
        detached.countDown();
    }

    /** An internal error on the runner thread: the worker stops (it is detached next). */
    void failed(Throwable t) {
        if (failure == null) failure = t;
        LOG.log(System.Logger.Level.ERROR, name + ": worker stopped on an internal error", t);
        try {
            if (capture != null) markBroken("internal error: " + t); // tells the front-end on the err eventfd
        } catch (RuntimeException ignored) {
            // best effort: the queue stops either way
        }
    }

    /**
     * One duty cycle of the runner for this queue: the normal work, or the stop (no new requests,
     * wait for those in flight, publish). Returns the work done, or {@link #DETACH} once stopped.
     */
    int cycle() {
        if (!stopRequested) return doWork();
        if (abandoned) return DETACH;
        if (!stopping) {
            stopping = true;
            handler.onStop();
        }
        int w = drainCompletions();
        publishAndNotify();
        if (abandoned) return DETACH;
        return inFlightCount == 0 ? DETACH : w;
    }

    /**
     * Before the runner sleeps: asks the guest for a kick at the next available entry (event
     * index), then reports whether there is nothing to do (no completion, no new entry, no pending
     * call eventfd, no stop to finish). The runner has set its sleeping flag before this.
     */
    boolean readyToSleep() {
        if (stopRequested && (!stopping || abandoned || inFlightCount == 0)) return false;
        if (!broken && !stopRequested) vq.requestKickAt(vq.lastAvail());
        return COMPLETED.getVolatile(this) == null && (broken || stopRequested || vq.pending() == 0)
                && pendingCallFd.get() == NO_CHANGE;
    }

    /** Resubmits what the in-flight area holds; true when the area held this ring's earlier state. */
    private boolean recoverInflight() {
        if (inflight == null) return false;
        int[] heads = batchHeads;
        int guestUsed = vq.guestUsedIdx();
        int n = inflight.recover(vq.size(), guestUsed, heads);
        vq.lastAvail(guestUsed + n);
        if (n == 0) return inflight.resumed();
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
        return true;
    }

    /** The running queue's duty cycle; returns the work done. */
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
            if ((i & (PUBLISH_EVERY - 1)) == PUBLISH_EVERY - 1 && i + 1 < n) {
                // a long batch: hand back what already completed so the driver works on it meanwhile
                drainCompletions();
                publishAndNotify();
            }
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
        completions.lazySet(completions.get() + batchCount);
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
        interrupts.lazySet(interrupts.get() + 1);
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
}
