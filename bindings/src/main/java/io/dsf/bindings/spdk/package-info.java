/**
 * Hand-written helpers beside the jextract-style SPDK NVMe bindings in {@code gen/}: the run-time
 * library loader ({@link io.dsf.bindings.spdk.SpdkLibrary}, {@code DSF_SPDK_LIB}), completion status
 * decoding ({@link io.dsf.bindings.spdk.SpdkCpl}), the allocation-free completion callback stub and
 * the emulator-only extensions. Threading: everything here is stateless or initialised once and
 * thread safe; the SPDK objects the handles operate on carry SPDK's own rules (one thread per qpair,
 * environment initialised once per process), which callers must follow.
 */
package io.dsf.bindings.spdk;
