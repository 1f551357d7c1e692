package io.dsf.stargate.scsi;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One task management function request (SAM-5 §7), preallocated by a frontend's control path and
 * reused: the function, the LUN it addresses, the tag of the task it names, a callback; and, once
 * complete, the service response and how many tasks it aborted.
 *
 * <p>What is guaranteed: when the callback runs with {@link #FUNCTION_COMPLETE}, every task the
 * function aborted has had its own completion delivered (status TASK ABORTED) and has no vDisk
 * request in flight, so its buffers will not be read or written again; no vDisk request was
 * submitted for it after the abort took hold. Requests already submitted ran to completion: an
 * aborted WRITE may have written any subset of its blocks. A task that was already finishing when
 * the function ran is not aborted (it completes with its own status, possibly just after the
 * function's callback, but its data transfer is over by then). A task already being aborted by
 * another function is not waited for by this one.
 *
 * <p>Threading: filled and submitted by one thread (a virtio-scsi control queue, an iSCSI
 * connection); completes on that thread or on the thread finishing the last aborted task.
 */
public final class ScsiTmf {
    /** ABORT TASK: the task with {@link #tag()} on {@link #lun()} of this nexus. */
    public static final int ABORT_TASK = 1;
    /** ABORT TASK SET: every task of this nexus on the LUN. */
    public static final int ABORT_TASK_SET = 2;
    /** CLEAR TASK SET: every task of every nexus on the LUN (one shared task set per LUN). */
    public static final int CLEAR_TASK_SET = 3;
    /** LOGICAL UNIT RESET: CLEAR TASK SET plus a unit attention (29/03) for every nexus. */
    public static final int LOGICAL_UNIT_RESET = 4;
    /** I_T NEXUS RESET: every task of this nexus on any LUN, plus a unit attention (29/07) on this nexus. */
    public static final int I_T_NEXUS_RESET = 5;
    /** QUERY TASK: FUNCTION SUCCEEDED when the tagged task is still executing. */
    public static final int QUERY_TASK = 6;
    /** QUERY TASK SET: FUNCTION SUCCEEDED when any task of this nexus executes on the LUN. */
    public static final int QUERY_TASK_SET = 7;

    public static final int FUNCTION_COMPLETE = 0;
    public static final int FUNCTION_SUCCEEDED = 1;
    public static final int FUNCTION_REJECTED = 2;
    public static final int INCORRECT_LUN = 3;

    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(ScsiTmf.class, "pending", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private int function, lun;
    private long tag;
    private ScsiTmfCallback callback;
    private Object attachment;
    private int response, tasksAborted;
    @SuppressWarnings("unused") private volatile int pending;
    private volatile boolean running;

    /** Sets the request; returns this. */
    public ScsiTmf set(int function, int lun, long tag, ScsiTmfCallback callback) {
        if (running) throw new IllegalStateException("task management function still running");
        this.function = function;
        this.lun = lun;
        this.tag = tag;
        this.callback = callback;
        return this;
    }

    public ScsiTmf attachment(Object attachment) { this.attachment = attachment; return this; }

    public int function() { return function; }
    public int lun() { return lun; }
    public long tag() { return tag; }
    public Object attachment() { return attachment; }

    /** The service response: {@link #FUNCTION_COMPLETE}, {@link #FUNCTION_SUCCEEDED}, {@link #FUNCTION_REJECTED} or {@link #INCORRECT_LUN}. */
    public int response() { return response; }

    /** Tasks this function aborted (each completed with TASK ABORTED before the callback). */
    public int tasksAborted() { return tasksAborted; }

    void begin() {
        if (callback == null) throw new IllegalStateException("no callback set");
        if (running) throw new IllegalStateException("task management function still running");
        running = true;
        response = FUNCTION_COMPLETE;
        tasksAborted = 0;
        PENDING.setVolatile(this, 1);
    }

    void response(int r) { response = r; }

    /** Called by the scanning thread for each task it claimed, before it drops its guard. */
    void addPending() {
        tasksAborted++;
        int before = (int) PENDING.getAndAdd(this, 1);
    }

    /** One aborted task finished, or the scanner dropped its guard. */
    void taskDone() {
        if ((int) PENDING.getAndAdd(this, -1) != 1) return;
        running = false;
        callback.onTmfComplete(this);
    }
}
