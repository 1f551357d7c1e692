package io.dsf.rdma.api;

/**
 * A reusable batch of completions filled by {@link CompletionQueue#poll}: entry {@code i} of
 * {@code [0, count())} is read with the accessors (struct of arrays, so polling allocates
 * nothing). Owned by the polling thread; not thread safe. The {@code add}/{@code clear} methods are
 * for transport implementations.
 */
public final class Completions {
    private final long[] wrId;
    private final int[] opcode;
    private final int[] status;
    private final int[] byteLength;
    private final int[] imm;
    private final boolean[] hasImm;
    private final Endpoint[] endpoint;
    private int count;

    public Completions(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be positive: " + capacity);
        wrId = new long[capacity];
        opcode = new int[capacity];
        status = new int[capacity];
        byteLength = new int[capacity];
        imm = new int[capacity];
        hasImm = new boolean[capacity];
        endpoint = new Endpoint[capacity];
    }

    public int capacity() {
        return wrId.length;
    }

    /** Entries filled by the last poll. */
    public int count() {
        return count;
    }

    /** The {@code wrId} given when the request was posted. */
    public long wrId(int i) {
        return wrId[check(i)];
    }

    /** An {@link Opcode}. */
    public int opcode(int i) {
        return opcode[check(i)];
    }

    /** A {@link CompletionStatus}. */
    public int status(int i) {
        return status[check(i)];
    }

    public boolean isSuccess(int i) {
        return status[check(i)] == CompletionStatus.SUCCESS;
    }

    /** Bytes received or written ({@link Opcode#RECV}: the message length; writes with immediate: the length written). */
    public int byteLength(int i) {
        return byteLength[check(i)];
    }

    /** The immediate, when {@link #hasImm(int)}. */
    public int imm(int i) {
        return imm[check(i)];
    }

    public boolean hasImm(int i) {
        return hasImm[check(i)];
    }

    /** The endpoint the request was posted on. */
    public Endpoint endpoint(int i) {
        return endpoint[check(i)];
    }

    private int check(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("completion " + i + " of " + count);
        return i;
    }

    // ------------------------------------------------------------------ for transport implementations

    public void clear() {
        count = 0;
    }

    public boolean isFull() {
        return count == wrId.length;
    }

    /** Appends one entry; returns false when full. */
    public boolean add(Endpoint ep, long id, int op, int st, int length, int immediate, boolean withImm) {
        int i = count;
        if (i == wrId.length) return false;
        endpoint[i] = ep;
        wrId[i] = id;
        opcode[i] = op;
        status[i] = st;
        byteLength[i] = length;
        imm[i] = immediate;
        hasImm[i] = withImm;
        count = i + 1;
        return true;
    }

    /** A one-line description of entry {@code i} (allocates: for tests and logs). */
    public String describe(int i) {
        return Opcode.name(opcode(i)) + " wrId=" + wrId(i) + " " + CompletionStatus.name(status(i)) + " len=" + byteLength(i)
                + (hasImm(i) ? " imm=" + imm(i) : "");
    }
}
