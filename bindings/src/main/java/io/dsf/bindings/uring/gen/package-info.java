/**
 * Threading: every class here is stateless (static handles, layouts, offsets) and thread safe;
 * errno is captured into per-thread segments. These are generated-style io_uring bindings from
 * linux/io_uring.h (jextract's layout, written by hand; regenerate with {@code ../jextract-uring.args}).
 */
package io.dsf.bindings.uring.gen;
