package io.dsf.stargate.scsi;

/**
 * Receives a finished {@link ScsiTask}, exactly once per {@link ScsiNexus#execute}. Runs on the
 * thread that called {@code execute} (before it returns), on a vDisk completion thread, on the
 * thread that released a bounce buffer the task waited for, or on the thread running a task
 * management function that aborted it; it must not block. The task may be reused as soon as this
 * method is entered; nothing of the target touches it afterwards.
 */
@FunctionalInterface
public interface ScsiTaskCallback {
    void onTaskComplete(ScsiTask task);
}
