/**
 * FFM bindings to rdma-core, laid out as jextract lays them out (one header class per library
 * with its constants and function handles, one class per struct with its layout and accessors):
 * {@link io.dsf.rdma.verbs.gen.ibverbs_h} (libibverbs), {@link io.dsf.rdma.verbs.gen.rdma_cma_h}
 * (librdmacm) and {@link io.dsf.rdma.verbs.gen.verbs_shim_h} (the inline data-path calls exported
 * by {@code native/}'s {@code libdsf_verbs_shim.so}). Thread safe: stateless constants and
 * handles; each library is looked up the first time one of its handles is used, so a machine
 * without rdma-core loads these classes' constants without failing. {@code jextract-verbs.args}
 * regenerates them where jextract and the headers exist; {@code VerbsAbiTest} checks every layout
 * and constant against the installed headers through {@code native/abi-probe}.
 */
package io.dsf.rdma.verbs.gen;
