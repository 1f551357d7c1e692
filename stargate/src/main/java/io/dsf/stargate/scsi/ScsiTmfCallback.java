package io.dsf.stargate.scsi;

/**
 * Receives a finished {@link ScsiTmf}, exactly once per {@link ScsiNexus#taskManagement}: on the
 * calling thread, or on the thread that completed the last task the function aborted. Must not block.
 */
@FunctionalInterface
public interface ScsiTmfCallback {
    void onTmfComplete(ScsiTmf tmf);
}
