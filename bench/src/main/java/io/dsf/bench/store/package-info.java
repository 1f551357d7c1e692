/**
 * BlockStore benchmarks: {@link io.dsf.bench.store.StoreChannelBenchmark} (JMH: software cost and
 * allocation of a request through a channel) and {@link io.dsf.bench.store.StoreVsRawBench} (sync
 * latency and write throughput through objects as ratios to the raw device). Threading: each
 * benchmark drives one channel or queue from its own thread; the store's journal thread runs beside it.
 */
package io.dsf.bench.store;
