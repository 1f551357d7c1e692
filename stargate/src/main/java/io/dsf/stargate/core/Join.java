package io.dsf.stargate.core;

import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDiskStatus;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Joins the pieces of a request that spans shards: each shard reports its piece, the last one
 * completes the caller's request once, with the first error seen. Thread safe (atomics); pooled
 * per vDisk so the hot path does not allocate.
 */
final class Join {
    final AtomicInteger remaining = new AtomicInteger();
    final AtomicLong firstError = new AtomicLong();
    IoCallback cb;
    long tag;
    VDiskController owner;

    void arm(int parts, IoCallback cb, long tag) {
        this.cb = cb;
        this.tag = tag;
        firstError.set(VDiskStatus.OK);
        remaining.set(parts);
    }

    void part(int status) {
        if (status != VDiskStatus.OK) firstError.compareAndSet(VDiskStatus.OK, status);
        if (remaining.decrementAndGet() == 0) {
            IoCallback c = cb;
            long t = tag;
            int st = (int) firstError.get();
            cb = null;
            owner.releaseJoin(this);
            c.onComplete(t, st);
        }
    }
}
