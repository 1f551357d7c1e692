/**
 * Threading: every class here is stateless (static handles, layouts and accessors) and thread
 * safe; errno is captured into per-thread segments ({@link io.dsf.bindings.libc.Errno}). These are
 * generated-style libc bindings (jextract's layout, written by hand from the headers; regenerate
 * with {@code ../jextract-libc.args}); struct classes carry the C names, as jextract names them.
 */
package io.dsf.bindings.libc.gen;
