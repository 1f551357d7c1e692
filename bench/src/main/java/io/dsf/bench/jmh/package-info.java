/**
 * JMH microbenchmarks of the device layer's hot paths; each benchmark's state is thread scoped,
 * so every JMH worker thread owns its own queue and pool exactly as a shard would. Run with
 * {@code bench/jmh.sh} (see {@code bench/README.md}).
 */
package io.dsf.bench.jmh;
