package io.dsf.rdma.tcp;

import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;

/**
 * Fixed-capacity FIFO of completions waiting to be polled (struct of arrays, no allocation after
 * construction). Owned by the completion queue's thread; not thread safe.
 */
final class CompletionRing {
    private final long[] wrId;
    private final int[] opcode;
    private final int[] status;
    private final int[] byteLength;
    private final int[] imm;
    private final boolean[] hasImm;
    private final Endpoint[] endpoint;
    private int head;
    private int size;

    CompletionRing(int capacity) {
        wrId = new long[capacity];
        opcode = new int[capacity];
        status = new int[capacity];
        byteLength = new int[capacity];
        imm = new int[capacity];
        hasImm = new boolean[capacity];
        endpoint = new Endpoint[capacity];
    }

    int free() {
        return wrId.length - size;
    }

    int size() {
        return size;
    }

    /** Appends; the caller has checked {@link #free()} (a full ring is a bug: it throws). */
    void add(Endpoint ep, long id, int op, int st, int length, int immediate, boolean withImm) {
        if (size == wrId.length) throw new IllegalStateException("completion ring overrun");
        int i = head + size;
        if (i >= wrId.length) i -= wrId.length;
        endpoint[i] = ep;
        wrId[i] = id;
        opcode[i] = op;
        status[i] = st;
        byteLength[i] = length;
        imm[i] = immediate;
        hasImm[i] = withImm;
        size++;
    }

    /** Moves as many as fit into {@code out}; returns how many moved. */
    int drainTo(Completions out) {
        int moved = 0;
        while (size > 0 && !out.isFull()) {
            int i = head;
            out.add(endpoint[i], wrId[i], opcode[i], status[i], byteLength[i], imm[i], hasImm[i]);
            endpoint[i] = null;
            head = i + 1 == wrId.length ? 0 : i + 1;
            size--;
            moved++;
        }
        return moved;
    }
}
