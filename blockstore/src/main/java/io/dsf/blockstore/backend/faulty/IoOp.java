package io.dsf.blockstore.backend.faulty;

/** The operations a {@link FaultRule} can select. Thread safe (immutable). */
public enum IoOp {
    READ, WRITE, FLUSH, TRIM
}
