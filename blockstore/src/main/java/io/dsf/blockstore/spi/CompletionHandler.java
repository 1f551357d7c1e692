package io.dsf.blockstore.spi;

/**
 * Receives completions of one {@link DeviceQueue}; called only on the queue's owner thread,
 * from inside {@link DeviceQueue#poll} / {@link DeviceQueue#close}. Implementations must not
 * allocate on the hot path (use {@code userData} to index a preallocated descriptor).
 */
@FunctionalInterface
public interface CompletionHandler {
    /**
     * @param userData the value given at submission
     * @param status   {@code 0} on success, otherwise a negative {@link IoError#code()}
     */
    void onComplete(long userData, int status);
}
