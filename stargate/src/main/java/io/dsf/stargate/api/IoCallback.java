package io.dsf.stargate.api;

/**
 * Receives the completion of one accepted {@link VDisk} request, exactly once; runs on a Stargate
 * shard thread, or on the submitting thread before the submit call returns, and must not block.
 */
@FunctionalInterface
public interface IoCallback {
    /**
     * @param tag    the value given at submission
     * @param status {@link VDiskStatus#OK} or a negative {@link VDiskStatus} code
     */
    void onComplete(long tag, int status);
}
