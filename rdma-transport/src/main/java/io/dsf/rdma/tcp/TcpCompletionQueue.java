package io.dsf.rdma.tcp;

import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Completions;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Completion queue of the tcp transport, and the progress engine of its endpoints: {@link #poll}
 * sends due acknowledgements, flushes unsent bytes, reads every readable socket (one selector),
 * checks and applies the frames, and hands out the completions that produces. Owned by the thread
 * that polls it; not thread safe, except {@link #handOver}, which any thread may call.
 */
final class TcpCompletionQueue implements CompletionQueue {
    private static final System.Logger LOG = System.getLogger(TcpCompletionQueue.class.getName());

    final TcpTransport transport;
    final CompletionRing ring;
    private final int capacity;
    private final Selector selector;
    private final Consumer<SelectionKey> onReady = this::onReady;
    /** Endpoints set up by other threads, waiting for the owner to adopt them. */
    private final ConcurrentLinkedQueue<TcpEndpoint> handoff = new ConcurrentLinkedQueue<>();
    private TcpEndpoint[] endpoints = new TcpEndpoint[4];
    private int endpointCount;
    private volatile boolean closed;

    TcpCompletionQueue(TcpTransport transport, int capacity) throws io.dsf.rdma.api.RdmaException {
        this.transport = transport;
        this.capacity = capacity;
        this.ring = new CompletionRing(capacity);
        try {
            this.selector = Selector.open();
        } catch (IOException e) {
            throw new io.dsf.rdma.api.RdmaException(io.dsf.rdma.api.RdmaException.Kind.IO, "selector: " + e.getMessage(), e);
        }
    }

    @Override
    public int capacity() {
        return capacity;
    }

    boolean isClosed() {
        return closed;
    }

    /** Any thread: queues a new endpoint for the owner, which adopts it on its next poll. */
    void handOver(TcpEndpoint e) {
        handoff.add(e);
        selector.wakeup();
    }

    @Override
    public void wakeup() {
        selector.wakeup();
    }

    @Override
    public int poll(Completions out) {
        out.clear();
        if (closed) return 0;
        progress();
        ring.drainTo(out);
        return out.count();
    }

    @Override
    public int await(Completions out, long timeoutNanos) {
        out.clear();
        if (closed) return 0;
        if (ring.size() > 0 || timeoutNanos <= 0) {
            progress();
        } else {
            // one blocking select does the work of poll's selectNow: it returns at once when a socket is ready
            if (!handoff.isEmpty()) adopt();
            long now = System.nanoTime(), wait = timeoutNanos;
            for (int i = 0; i < endpointCount; i++) {
                endpoints[i].beforeRead();
                endpoints[i].updateInterest();
                wait = Math.min(wait, endpoints[i].ackDueIn(now)); // an acknowledgement falling due ends the wait
            }
            reap(); // an endpoint that broke just now has completions to flush: no waiting then
            if (ring.size() == 0) {
                try {
                    selector.select(onReady, Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "select failed: " + e.getMessage());
                }
            }
            reap();
        }
        ring.drainTo(out);
        return out.count();
    }

    private void progress() {
        if (!handoff.isEmpty()) adopt();
        for (int i = 0; i < endpointCount; i++) endpoints[i].beforeRead();
        try {
            selector.selectNow(onReady);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "select failed: " + e.getMessage());
        }
        reap();
    }

    /** Flushes broken or closed endpoints into the ring; drops those with nothing left. */
    private void reap() {
        for (int i = 0; i < endpointCount; ) {
            TcpEndpoint e = endpoints[i];
            if (e.afterRead()) {
                remove(i); // flushed and closed: it will never complete anything again
            } else {
                i++;
            }
        }
    }

    private void onReady(SelectionKey key) {
        ((TcpEndpoint) key.attachment()).onReady(key);
    }

    private void adopt() {
        TcpEndpoint e;
        while ((e = handoff.poll()) != null) {
            if (endpointCount == endpoints.length) endpoints = Arrays.copyOf(endpoints, endpointCount * 2);
            endpoints[endpointCount++] = e;
            try {
                e.attach(selector);
            } catch (ClosedChannelException ex) {
                e.fail(io.dsf.rdma.api.CompletionStatus.TRANSPORT_ERROR, "channel closed before adoption", false);
            } catch (IOException ex) {
                e.fail(io.dsf.rdma.api.CompletionStatus.TRANSPORT_ERROR, "register: " + ex.getMessage(), false);
            }
        }
    }

    private void remove(int i) {
        endpoints[i] = endpoints[--endpointCount];
        endpoints[endpointCount] = null;
    }

    @Override
    public void close() {
        if (closed) return;
        adopt();
        for (int i = 0; i < endpointCount; i++) {
            endpoints[i].close();
            endpoints[i].release(); // closing the queue drops the flushed completions with it
        }
        Arrays.fill(endpoints, null);
        endpointCount = 0;
        closed = true;
        try {
            selector.close();
        } catch (IOException ignored) {
            // dropping it
        }
    }
}
