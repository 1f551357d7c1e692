/**
 * The SPDK NVMe driver subset dsf uses, laid out the way jextract lays out {@code spdk/env.h} and
 * {@code spdk/nvme.h} (v24.09, x86_64): one header class {@link io.dsf.bindings.spdk.gen.spdk_nvme_h}
 * with a {@code static final MethodHandle name$mh} and a wrapper per function, and one class per
 * struct with its {@code MemoryLayout}, offsets and {@code VarHandle}s. Written by hand because
 * neither jextract nor the SPDK headers exist on the build machines; {@code jextract.args} regenerates
 * it where they do. Threading: the handles and layouts are immutable and thread safe; calls obey
 * SPDK's threading rules. Do not edit casually: the layouts are asserted against notes/spdk.md.
 */
package io.dsf.bindings.spdk.gen;
