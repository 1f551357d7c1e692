package io.dsf.stargate.scsi;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * An I_T nexus of a {@link ScsiTarget}: one initiator's view of it (a virtio-scsi device with all
 * its queues, an iSCSI session). It creates the frontend's {@link ScsiTask}s, executes them, runs
 * task management functions over them, and holds the unit attention conditions reported to this
 * initiator. Thread safe: {@link #execute} may be called from any number of threads at once (one
 * per virtqueue), each with its own tasks; task creation and closing are control-plane operations.
 */
public final class ScsiNexus implements AutoCloseable {
    private static final VarHandle LUNS_CHANGED;

    static {
        try {
            LUNS_CHANGED = MethodHandles.lookup().findVarHandle(ScsiNexus.class, "lunsChanged", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final ScsiTarget target;
    final int id;
    private final String name;
    private volatile ScsiTask[] tasks = new ScsiTask[0];
    @SuppressWarnings("unused") private volatile int lunsChanged;
    private volatile boolean closed;

    ScsiNexus(ScsiTarget target, int id, String name) {
        this.target = target;
        this.id = id;
        this.name = name;
    }

    /** The initiator's name as given at open (an IQN, a socket path). */
    public String name() { return name; }

    public ScsiTarget target() { return target; }

    /**
     * Creates a task whose scatter list holds up to {@code maxSegments} segments. Control plane:
     * frontends create their tasks up front and reuse them; task management scans them.
     */
    public synchronized ScsiTask newTask(int maxSegments) {
        if (closed) throw new IllegalStateException("nexus closed");
        ScsiTask t = new ScsiTask(this, maxSegments);
        ScsiTask[] a = Arrays.copyOf(tasks, tasks.length + 1);
        a[a.length - 1] = t;
        tasks = a;
        return t;
    }

    /**
     * Executes the command described by {@code task}; its callback runs exactly once, possibly
     * before this returns. Never throws for anything the command contains (a bad CDB is a CHECK
     * CONDITION); throws for frontend programming errors only: {@link IllegalStateException} for a
     * task still executing or without a callback, {@link IllegalArgumentException} for a task of
     * another nexus or a read-only segment in a data-in buffer (the callback then does not run).
     */
    public void execute(ScsiTask task) {
        if (task.nexus != this) throw new IllegalArgumentException("task belongs to another nexus");
        target.execute(task);
    }

    /** Runs a task management function; its callback runs exactly once, possibly before this returns. */
    public void taskManagement(ScsiTmf tmf) { target.taskManagement(this, tmf); }

    ScsiTask[] tasks() { return tasks; }

    boolean lunsChangedPending() { return lunsChanged != 0; }

    void raiseLunsChanged() { LUNS_CHANGED.setVolatile(this, 1); }

    /** Takes the REPORTED LUNS DATA HAS CHANGED condition; true when this call took it. */
    boolean takeLunsChanged() { return lunsChanged != 0 && LUNS_CHANGED.compareAndSet(this, 1, 0); }

    /** Closes the nexus (I_T nexus loss): its tasks must be idle; its id is reused. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            for (ScsiTask t : tasks) if (t.state() != ScsiTask.IDLE) throw new IllegalStateException("a task is still executing: " + t);
            closed = true;
        }
        target.closeNexus(this);
    }

    @Override
    public String toString() { return "nexus " + id + " (" + name + ")"; }
}
