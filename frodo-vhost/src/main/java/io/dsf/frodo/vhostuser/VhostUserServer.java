package io.dsf.frodo.vhostuser;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.LibcMacros;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.frodo.virtq.QueueRunner;
import io.dsf.frodo.virtq.VirtioDevice;
import io.dsf.frodo.virtq.VirtqueueWorker;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.CountDownLatch;

/**
 * A vhost-user back-end listening on a unix socket for one {@link VirtioDevice}: an accept thread
 * serves one front-end connection at a time (QEMU connects once and reconnects after a restart);
 * each enabled virtqueue has its own {@link VirtqueueWorker}. {@link #close} drains the queues and
 * removes the socket; {@link #closeAbruptly} leaves everything as a crashed process would, for
 * reconnect tests. Thread safe: control methods may be called from any thread.
 */
public final class VhostUserServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VhostUserServer.class.getName());

    private final Path socket;
    private final VirtioDevice device;
    private final VhostOptions opts;
    private final int listenFd;
    private final Thread acceptor;
    private final VirtqueueWorker[] workers;
    private final long[] retiredRequests;
    private final CountDownLatch firstConnection = new CountDownLatch(1);
    private volatile VhostUserConnection current;
    private volatile boolean closing;
    private volatile long connections;

    private VhostUserServer(Path socket, VirtioDevice device, VhostOptions opts, int listenFd) {
        this.socket = socket;
        this.device = device;
        this.opts = opts;
        this.listenFd = listenFd;
        this.workers = new VirtqueueWorker[device.maxQueues()];
        this.retiredRequests = new long[workers.length];
        this.acceptor = new Thread(this::acceptLoop, "frodo-vhost-" + socket.getFileName());
        this.acceptor.setDaemon(true);
    }

    /**
     * Binds {@code socket} (replacing a stale socket file left by a crashed server) and starts
     * accepting front-ends.
     *
     * @throws IOException when the path exists and is not a socket, or binding fails
     */
    public static VhostUserServer start(Path socket, VirtioDevice device, VhostOptions opts) throws IOException {
        Path abs = socket.toAbsolutePath();
        if (Files.exists(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a = Files.readAttributes(abs, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (!a.isOther()) throw new IOException("refusing to replace " + abs + ": it exists and is not a socket");
            Files.delete(abs);
        }
        int fd = Libc.socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException("socket: " + Errno.describe(Errno.last()));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = LibcMacros.sockaddrUn(a, abs.toString());
            if (Libc.bind(fd, sa, LibcMacros.sockaddrUnLength(abs.toString())) < 0)
                throw new IOException("bind " + abs + ": " + Errno.describe(Errno.last()));
            if (Libc.listen(fd, 4) < 0) throw new IOException("listen " + abs + ": " + Errno.describe(Errno.last()));
        } catch (IOException | RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
        VhostUserServer s = new VhostUserServer(abs, device, opts, fd);
        for (int i = 0; i < s.workers.length; i++) s.workers[i] = new VirtqueueWorker(device.name(), i, device.newHandler(i));
        s.acceptor.start();
        return s;
    }

    public Path socket() { return socket; }

    public VirtioDevice device() { return device; }

    /** Queue {@code i}'s worker (connection thread). */
    VirtqueueWorker worker(int i) { return workers[i]; }

    /** Replaces an abandoned worker by a fresh one (connection thread). */
    void replaceWorker(int i) {
        VirtqueueWorker old = workers[i];
        retiredRequests[i] += old.requests();
        workers[i] = new VirtqueueWorker(device.name(), i, device.newHandler(i));
    }

    /** Requests each queue has taken from its ring since the server started. Any thread. */
    public long[] queueRequests() {
        long[] r = new long[workers.length];
        for (int i = 0; i < r.length; i++) r[i] = retiredRequests[i] + workers[i].requests();
        return r;
    }

    /** The runner (thread) queue {@code i} runs on, or null while the queue is stopped. Any thread (racy view). */
    public QueueRunner queueRunner(int i) {
        VirtqueueWorker w = workers[i];
        return w.running() ? w.runner() : null;
    }

    /** Interrupts sent to the guest per queue since the server started (call eventfd writes). Any thread. */
    public long[] queueInterrupts() {
        long[] r = new long[workers.length];
        for (int i = 0; i < r.length; i++) r[i] = workers[i].interrupts();
        return r;
    }

    /** Malformed chains refused, all queues. Any thread. */
    public long malformedChains() {
        long n = 0;
        for (VirtqueueWorker w : workers) n += w.malformed();
        return n;
    }

    /** Requests resubmitted from the in-flight area, all queues. Any thread. */
    public long resubmitted() {
        long n = 0;
        for (VirtqueueWorker w : workers) n += w.resubmitted();
        return n;
    }

    /** {@link VirtqueueWorker#state} of every started queue, one per line (failure messages). Any thread; racy. */
    public String queueStates() {
        StringBuilder b = new StringBuilder();
        for (VirtqueueWorker w : workers) if (w.running() || w.requests() > 0) b.append(w.state()).append('\n');
        return b.toString();
    }

    /** Front-end connections accepted so far. */
    public long connections() { return connections; }

    private void acceptLoop() {
        while (!closing) {
            int c = Libc.accept4(listenFd, MemorySegment.NULL, MemorySegment.NULL, Libc.SOCK_CLOEXEC);
            if (c < 0) {
                int e = Errno.last();
                if (closing) break;
                if (e == Libc.EINTR || e == Libc.ECONNRESET || e == Libc.EAGAIN) continue;
                LOG.log(System.Logger.Level.ERROR, "{0}: accept failed: {1}; the server stops", socket, Errno.describe(e));
                break;
            }
            VhostUserConnection conn = new VhostUserConnection(this, device, opts, c);
            current = conn;
            connections++;
            firstConnection.countDown();
            if (closing) conn.shutdown(false);
            conn.serve();
            current = null;
        }
    }

    /** Stops accepting, drains and closes the current connection, removes the socket file. */
    @Override
    public void close() {
        stop(false);
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: could not remove the socket: {1}", socket, e.toString());
        }
    }

    /**
     * Stops as a crash would: queues are abandoned without completing or publishing anything more,
     * the in-flight area keeps its state, the socket file stays. The server is unusable afterwards.
     */
    public void closeAbruptly() {
        stop(true);
    }

    private void stop(boolean abandon) {
        if (closing) return;
        closing = true;
        VhostUserConnection c = current;
        if (c != null) c.shutdown(abandon);
        Libc.shutdown(listenFd, Libc.SHUT_RDWR);
        try {
            acceptor.join(opts.stopTimeoutMillis() + 10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        c = current;
        if (c != null) c.shutdown(abandon); // a connection accepted while closing
        Libc.close(listenFd);
        if (!abandon) for (VirtqueueWorker w : workers) if (!w.running()) w.close();
    }
}
