package io.dsf.blockstore.store;

/**
 * Receives the completions of one {@link StoreChannel}; called only on the channel's owner thread,
 * from {@link StoreChannel#poll}, {@link StoreChannel#await} or {@link StoreChannel#close}.
 */
@FunctionalInterface
public interface StoreCompletionHandler {
    /**
     * @param tag    the value given at submission
     * @param status 0 on success, else a negative {@link StoreStatus} or device error code
     */
    void onComplete(long tag, int status);
}
