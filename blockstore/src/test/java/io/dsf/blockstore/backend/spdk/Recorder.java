package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.spi.CompletionHandler;

import java.util.Arrays;

/** Records completions by tag (user data = index); fails on a tag completed twice. Single thread. */
final class Recorder implements CompletionHandler {
    static final int NONE = Integer.MIN_VALUE;
    final int[] status;
    int count;

    Recorder(int tags) {
        status = new int[tags];
        Arrays.fill(status, NONE);
    }

    @Override
    public void onComplete(long userData, int st) {
        int tag = (int) userData;
        if (status[tag] != NONE) throw new AssertionError("tag " + tag + " completed twice");
        status[tag] = st;
        count++;
    }

    boolean done(int tag) { return status[tag] != NONE; }
}
