package io.dsf.frodo.virtq;

/**
 * The {@code shared} threading mode: a fixed set of {@link QueueRunner}s on which every virtqueue
 * worker of the servers using this pool runs, each new worker on the runner with the fewest agents
 * (as SPDK places vhost controllers on its reactors). A runner's thread exists only while it has
 * agents. Thread safe.
 */
public final class QueueRunners {
    private final QueueRunner[] runners;

    /**
     * @param name    thread name prefix; runner {@code i} is named {@code name-i}
     * @param threads runners (threads) in the pool, at least 1
     * @param idle    what a runner does when none of its agents had work
     */
    public QueueRunners(String name, int threads, IdleMode idle) {
        if (threads < 1 || threads > 256) throw new IllegalArgumentException("shared threads must be in 1..256: " + threads);
        runners = new QueueRunner[threads];
        for (int i = 0; i < threads; i++) runners[i] = new QueueRunner(name + "-" + i, idle);
    }

    public int threads() { return runners.length; }

    public QueueRunner runner(int i) { return runners[i]; }

    /** The runner with the fewest agents (the lowest index among equals). */
    public synchronized QueueRunner pick() {
        QueueRunner best = runners[0];
        int min = best.load();
        for (int i = 1; i < runners.length && min > 0; i++) {
            int l = runners[i].load();
            if (l < min) {
                min = l;
                best = runners[i];
            }
        }
        return best;
    }
}
