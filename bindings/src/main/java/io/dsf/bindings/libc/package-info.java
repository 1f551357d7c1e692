/**
 * libc for dsf through Panama FFM: the generated-style header class and structs in {@code gen/},
 * hand-written helpers here ({@link io.dsf.bindings.libc.Errno} per-thread errno capture,
 * {@link io.dsf.bindings.libc.LibcMacros} for the C macros, {@link io.dsf.bindings.libc.ScmRights}
 * for descriptor passing over unix sockets). Threading: the static handles and macros are thread
 * safe; errno capture segments are per thread; an {@code ScmRights} instance is owned by one thread.
 *
 * <p>Regenerate {@code gen/} with jextract (where it and the headers exist):
 * {@code jextract @jextract-libc.args} from this folder, then restore the hand-written javadoc.
 */
package io.dsf.bindings.libc;
