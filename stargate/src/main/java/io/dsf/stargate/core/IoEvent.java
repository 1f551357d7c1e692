package io.dsf.stargate.core;

import io.dsf.stargate.api.IoCallback;

import java.lang.foreign.MemorySegment;

/**
 * One entry of a shard's Disruptor ring: a request (or a piece of one) published by a frontend
 * thread and copied out by the shard thread. Written by one producer between {@code next()} and
 * {@code publish()}, then read by the shard; never shared otherwise.
 */
final class IoEvent {
    static final int READ = 1, WRITE = 2, ZERO = 3, SNAPSHOT = 5, STOP = 6, DRAIN_ALL = 7;
    /** Re-replication (control path): a pass begins, a conditional rewrite, a pass ends. */
    static final int PASS_START = 8, REWRITE = 9, PASS_END = 10;
    int kind;
    long offset;
    long length;
    MemorySegment buf;
    long bufOffset;
    long tag;
    IoCallback cb;
    Join join;
    long t0;
    Object arg;

    void clear() {
        buf = null;
        cb = null;
        join = null;
        arg = null;
    }
}
