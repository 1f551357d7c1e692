package io.dsf.stargate.scsi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The per-target pool of 4 KiB-aligned bounce buffers, carved once out of one native region, used
 * only by commands whose buffers cannot go to the vDisk as they are (a segment that is not a whole
 * number of blocks, verify, compare, replicated WRITE SAME). A command that finds the pool empty
 * waits in a FIFO; a released buffer goes straight to the oldest waiter, which the releasing thread
 * then resumes. Thread safe: one monitor guards the free list and the waiters; it is held for a few
 * instructions and never on the zero-copy path.
 */
final class BouncePool implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] buffers;
    private final int bufferSize;
    private final int[] free;
    private int top;
    private ScsiTask waitHead, waitTail;
    private long waits;

    BouncePool(int bufferSize, int count) {
        this.bufferSize = bufferSize;
        MemorySegment region = arena.allocate((long) bufferSize * count, 4096);
        buffers = new MemorySegment[count];
        free = new int[count];
        for (int i = 0; i < count; i++) {
            buffers[i] = region.asSlice((long) i * bufferSize, bufferSize);
            free[i] = count - 1 - i;
        }
        top = count;
    }

    int bufferSize() { return bufferSize; }

    MemorySegment buffer(int id) { return buffers[id]; }

    /** Takes a buffer and returns its id; or queues {@code task} as a waiter and returns -1. */
    synchronized int acquireOrWait(ScsiTask task) {
        if (top > 0) return free[--top];
        waits++;
        task.nextWaiter = null;
        if (waitTail == null) waitHead = task; else waitTail.nextWaiter = task;
        waitTail = task;
        return -1;
    }

    /**
     * Returns a buffer. When a task waits, the buffer becomes that task's ({@link ScsiTask#bounceId})
     * and the task is returned: the caller must resume it. Otherwise returns null.
     */
    synchronized ScsiTask release(int id) {
        ScsiTask w = waitHead;
        if (w != null) {
            waitHead = w.nextWaiter;
            if (waitHead == null) waitTail = null;
            w.nextWaiter = null;
            w.bounceId = id;
            return w;
        }
        free[top++] = id;
        return null;
    }

    /** Removes a waiting task (it is being aborted); false when it is not waiting (it holds a buffer or never asked). */
    synchronized boolean cancel(ScsiTask task) {
        ScsiTask prev = null;
        for (ScsiTask w = waitHead; w != null; prev = w, w = w.nextWaiter) {
            if (w != task) continue;
            if (prev == null) waitHead = w.nextWaiter; else prev.nextWaiter = w.nextWaiter;
            if (waitTail == w) waitTail = prev;
            w.nextWaiter = null;
            return true;
        }
        return false;
    }

    synchronized int available() { return top; }

    /** How many times a command had to wait for a buffer. */
    synchronized long waits() { return waits; }

    @Override
    public void close() { arena.close(); }
}
