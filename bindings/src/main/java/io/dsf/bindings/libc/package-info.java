/**
 * Threading: the static handles and macros here are stateless and thread safe, errno capture
 * segments are per thread, and an {@link io.dsf.bindings.libc.ScmRights} instance is owned by one
 * thread. This package binds libc through Panama FFM: the generated-style header class and structs
 * live in {@code gen/}, the hand-written helpers here ({@link io.dsf.bindings.libc.Errno}
 * per-thread errno capture, {@link io.dsf.bindings.libc.LibcMacros} for the C macros,
 * {@link io.dsf.bindings.libc.ScmRights} for descriptor passing over unix sockets).
 *
 * <p>Regenerate {@code gen/} with jextract (where it and the headers exist):
 * {@code jextract @jextract-libc.args} from this folder, then restore the errno-capturing
 * descriptors and the hand-written javadoc.
 */
package io.dsf.bindings.libc;
