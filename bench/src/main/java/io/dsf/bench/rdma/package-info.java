/**
 * Transport benchmarks, each with one client thread (the caller) and one server thread per
 * connection, each owning its completion queue and sockets: {@link io.dsf.bench.rdma.RdmaVsRawBench}
 * (4 KiB round trips through the rdma-transport SPI against raw TCP ping-pongs of the same size) and
 * {@link io.dsf.bench.rdma.TcpPingPong} (a raw TCP ping-pong between two processes, the network
 * reference of {@code bench/rf-compare.sh}).
 */
package io.dsf.bench.rdma;
