/**
 * The load generator behind {@code dsf bench}: each job is one thread that owns its device
 * queue, buffers and latency histogram (single writer, no locks, no allocation per I/O); the
 * control thread (the caller) only starts the jobs, reads their interval recorders for progress
 * and merges their results after joining them.
 *
 * <p>Flow: {@link io.dsf.bench.BenchConfig} -> {@link io.dsf.bench.Targets#open} ->
 * {@link io.dsf.bench.LoadGenerator#run} (optional {@code Prefill}, then {@code BenchJob} threads)
 * -> {@link io.dsf.bench.BenchResult} (human summary and the one-line JSON of the CLI contract).
 * {@code --verify} stamps blocks per {@link io.dsf.bench.VerifyBlockDescriptor}.
 */
package io.dsf.bench;
