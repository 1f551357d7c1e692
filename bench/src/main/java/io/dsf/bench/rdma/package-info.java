/**
 * Transport benchmarks: {@link io.dsf.bench.rdma.RdmaVsRawBench} (4 KiB round trips through the
 * rdma-transport SPI against raw TCP ping-pongs of the same size). Threading: one client thread
 * (the caller) and one server thread, each owning its completion queue and sockets.
 */
package io.dsf.bench.rdma;
