package io.dsf.frodo.virtq;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.ErrnoException;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.epoll_event;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One thread running a set of virtqueue agents ({@link VirtqueueWorker}s): a composite duty cycle
 * that runs every agent's cycle in turn, then idles per {@link IdleMode} when none had work
 * ({@code BLOCK}: one {@code epoll_wait} on every agent's kick eventfd and the runner's wake
 * eventfd). In {@code dedicated} threading each worker has a runner of its own; in {@code shared}
 * threading a {@link QueueRunners} pool places many workers on few runners. The thread starts when
 * the first agent attaches and ends when the last one detached.
 *
 * <pre>
 *   attach (connection thread) --lock--> pending list --(top of the cycle)--> agents[] (runner thread only)
 *   cycle:   for each agent: stop requested? drain, detach : doWork()
 *   idle:    spin | backoff (poll 32 us, then block) | block: arm every ring's kick, re-check, epoll_wait(kicks + wake)
 * </pre>
 *
 * Thread safe: {@link #attach} and {@link #wake} may be called from any thread; the agents array,
 * the epoll set and the capture segment belong to the runner thread.
 */
public final class QueueRunner {
    private static final System.Logger LOG = System.getLogger(QueueRunner.class.getName());
    private static final long WAKE = -1L;
    private static final int MAX_EVENTS = 16;
    /** {@code backoff}: how long an idle runner keeps polling before it sleeps (QEMU's poll-max-ns default). */
    static final long POLL_NANOS = 32_000;
    private static final MemorySegment ONE;
    static {
        ONE = Arena.global().allocate(8, 8);
        ONE.set(JAVA_LONG, 0, 1L);
    }

    private final String name;
    private final IdleMode idleMode;
    private final int wakeFd;
    private final Object lock = new Object();

    // ---- guarded by lock (control path)
    private final List<VirtqueueWorker> pending = new ArrayList<>();
    private Thread thread;
    private int load;

    /** Tests: run by a runner thread that served its last agent, before it releases its epoll set. */
    static volatile Runnable leavingHook;

    /** Set by the runner thread around its sleep; completions wake it only then. */
    volatile boolean sleeping;
    /** Something waits in {@link #pending}: checked at the top of every cycle. */
    private volatile boolean commands;

    // ---- runner thread only
    private VirtqueueWorker[] agents = new VirtqueueWorker[4];
    private int count;
    private MemorySegment capture;
    private MemorySegment scratch;
    private MemorySegment events;
    private int epfd = -1;

    /**
     * @param name thread name prefix ("frodo-virtio-blk-vdisk0-vq2", "frodo-shared-0")
     * @param idle what the thread does when a cycle found no work
     */
    public QueueRunner(String name, IdleMode idle) {
        this.name = name;
        this.idleMode = idle;
        this.wakeFd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
    }

    public String name() { return name; }

    public IdleMode idleMode() { return idleMode; }

    /** Agents attached or about to be (control view; the pool places new agents by it). */
    public int load() {
        synchronized (lock) {
            return load;
        }
    }

    /** The running thread, or null while no agent is attached (tests: which thread serves a queue). */
    public Thread thread() {
        synchronized (lock) {
            return thread;
        }
    }

    /** Hands {@code w} to the runner thread, starting it if needed; the worker begins at the runner's next cycle. */
    void attach(VirtqueueWorker w) {
        synchronized (lock) {
            pending.add(w);
            load++;
            commands = true;
            if (thread == null) {
                Thread t = new Thread(this::run, name);
                t.setDaemon(true);
                thread = t;
                t.start();
                return;
            }
        }
        wake();
    }

    /** Wakes the runner thread from its sleep (any thread). */
    void wake() {
        if (idleMode == IdleMode.SPIN) return; // a spinning runner sees everything at its next cycle
        try {
            long rc = (long) Libc.write$mh.invokeExact(Errno.segment(), wakeFd, ONE, 8L);
            assert rc == 8 || rc == -1; // -1: EAGAIN when the counter is saturated, still readable
        } catch (Throwable t) {
            throw Libc.rethrowPublic(t);
        }
    }

    /**
     * Closes the wake eventfd once the thread (whose last agent has left) has ended; only for a
     * runner nothing references any more.
     *
     * @throws IllegalStateException when agents are still attached
     */
    void close() {
        Thread t;
        synchronized (lock) {
            if (load != 0) throw new IllegalStateException(name + ": agents still attached");
            t = thread;
        }
        if (t != null) {
            try {
                t.join(5000); // it is on its way out: its last agent detached
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (t.isAlive()) {
                LOG.log(System.Logger.Level.WARNING, "{0}: thread still running; its wake eventfd stays open", name);
                return;
            }
        }
        Libc.close(wakeFd);
    }

    // ======================================================================== runner thread

    /**
     * The thread: serves agents until none is left, then releases its epoll set and memory, and only
     * then, under the lock, either ends (clearing {@link #thread}) or, when an agent attached
     * meanwhile, starts over with fresh ones. A runner's thread is never replaced while the old one
     * still holds its epoll descriptor (a queue stopped and started again at once, as a device reset
     * or a reconnect does: the leaving thread closed the descriptor of the one that replaced it).
     */
    private void run() {
        while (true) {
            try (Arena arena = Arena.ofConfined()) {
                capture = Errno.allocate(arena);
                scratch = arena.allocate(8, 8);
                events = epoll_event.allocateArray(MAX_EVENTS, arena);
                epfd = Errno.check(Libc.epoll_create1(Libc.EPOLL_CLOEXEC), "epoll_create1");
                try {
                    epollAdd(arena, wakeFd, WAKE);
                    loop(arena);
                    Runnable hook = leavingHook;
                    if (hook != null) hook.run();
                } finally {
                    Libc.close(epfd);
                    epfd = -1;
                }
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, name + ": queue runner stopped on an internal error", t);
                failAll(t);
                return;
            }
            synchronized (lock) {
                if (pending.isEmpty()) {
                    thread = null;
                    return;
                }
            }
        }
    }

    /** Runs the agents' duty cycles; returns once the last agent has left and none waits to attach. */
    private void loop(Arena arena) {
        int idle = 0;
        long idleSince = 0;
        while (true) {
            if (commands) takePending(arena);
            if (count == 0) {
                synchronized (lock) {
                    if (pending.isEmpty()) return; // run() decides, after the clean-up, whether the thread ends
                }
                continue;
            }
            int work = 0;
            for (int i = 0; i < count; i++) {
                VirtqueueWorker w = agents[i];
                int r;
                try {
                    r = w.cycle();
                } catch (Throwable t) {
                    w.failed(t);
                    r = VirtqueueWorker.DETACH;
                }
                if (r == VirtqueueWorker.DETACH) {
                    detach(i);
                    i--;
                    work++;
                } else {
                    work += r;
                }
            }
            if (work > 0) {
                idle = 0;
                continue;
            }
            switch (idleMode) {
                case SPIN -> Thread.onSpinWait();
                case BACKOFF -> {
                    // poll for up to POLL_NANOS after the last work, as QEMU's adaptive polling does, then sleep
                    if (idle == 0) idleSince = System.nanoTime();
                    if ((idle & 63) != 63 || System.nanoTime() - idleSince < POLL_NANOS) Thread.onSpinWait();
                    else block(1000);
                }
                case BLOCK -> block(1000);
            }
            idle++;
        }
    }

    private void takePending(Arena arena) {
        VirtqueueWorker[] add;
        synchronized (lock) {
            commands = false;
            add = pending.toArray(new VirtqueueWorker[0]); // control path: once per attach
            pending.clear();
        }
        for (VirtqueueWorker w : add) {
            if (count == agents.length) agents = java.util.Arrays.copyOf(agents, 2 * count);
            agents[count++] = w;
            try {
                if (w.kickFd() >= 0) epollAdd(arena, w.kickFd(), w.kickFd());
                w.onAttach(capture);
            } catch (Throwable t) {
                w.failed(t);
                detach(count - 1);
            }
        }
    }

    private void detach(int i) {
        VirtqueueWorker w = agents[i];
        int kick = w.kickFd();
        if (kick >= 0) Libc.epoll_ctl(epfd, Libc.EPOLL_CTL_DEL, kick, MemorySegment.NULL); // ENOENT when the add failed: fine
        System.arraycopy(agents, i + 1, agents, i, count - i - 1);
        agents[--count] = null;
        synchronized (lock) {
            load--;
        }
        w.onDetached();
    }

    private void failAll(Throwable t) {
        for (int i = count - 1; i >= 0; i--) {
            agents[i].failed(t);
            try {
                detach(i);
            } catch (RuntimeException ignored) {
                // the epoll set may be gone; the worker is released either way
            }
        }
        List<VirtqueueWorker> left;
        synchronized (lock) {
            left = new ArrayList<>(pending);
            pending.clear();
            load -= left.size();
            thread = null;
        }
        for (VirtqueueWorker w : left) {
            w.failed(t);
            w.onDetached();
        }
    }

    private void epollAdd(Arena arena, int fd, long data) {
        MemorySegment ev = epoll_event.allocate(arena); // control path: once per attach
        epoll_event.events(ev, 0, Libc.EPOLLIN);
        epoll_event.data(ev, 0, data);
        Errno.check(Libc.epoll_ctl(epfd, Libc.EPOLL_CTL_ADD, fd, ev), "epoll_ctl " + name);
    }

    /**
     * Sleeps until a kick, a completion, a wake-up or the timeout, unless an agent has work: every
     * agent arms its kick first (event index) and re-checks its rings and completion stack after
     * {@link #sleeping} is set, so nothing arriving meanwhile is missed.
     */
    private void block(int timeoutMillis) {
        sleeping = true;
        try {
            if (commands) return;
            boolean pollOnly = false;
            for (int i = 0; i < count; i++) {
                VirtqueueWorker w = agents[i];
                if (!w.readyToSleep()) return;
                pollOnly |= w.kickFd() < 0 && !w.stopping();
            }
            int n;
            try {
                n = (int) Libc.epoll_wait$mh.invokeExact(capture, epfd, events, MAX_EVENTS, pollOnly ? 1 : timeoutMillis);
            } catch (Throwable t) {
                throw Libc.rethrowPublic(t);
            }
            if (n < 0) {
                int e = Errno.get(capture);
                if (e != Libc.EINTR) throw new ErrnoException(name + ": epoll_wait", e);
                return;
            }
            for (int i = 0; i < n; i++) {
                long data = epoll_event.data(events, i);
                int fd = data == WAKE ? wakeFd : (int) data;
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
