/**
 * Test fixtures shared by the transports' tests: {@link io.dsf.rdma.testing.Pair} (two connected
 * endpoints stepped by the test thread) and {@link io.dsf.rdma.testing.TransportConformance} (the
 * behaviour every transport promises). Single-threaded: the test thread drives both sides.
 */
package io.dsf.rdma.testing;
