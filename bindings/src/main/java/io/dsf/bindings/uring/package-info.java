/**
 * Threading: a {@link io.dsf.bindings.uring.Uring} is owned by the one thread that submits to
 * and reaps it (single producer of SQEs, single consumer of CQEs, the kernel on the other side);
 * the static handles and macros are stateless and thread safe. This package drives io_uring
 * through Panama FFM and the raw system calls: generated-style UAPI bindings in {@code gen/}, the
 * SQE prep helpers liburing keeps inline ({@link io.dsf.bindings.uring.UringMacros}) and
 * {@code Uring}, one mapped ring.
 *
 * <p>Regenerate {@code gen/} with jextract (where it and the headers exist):
 * {@code jextract @jextract-uring.args} from this folder.
 */
package io.dsf.bindings.uring;
