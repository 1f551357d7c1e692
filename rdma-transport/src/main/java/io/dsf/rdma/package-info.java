/**
 * Entry point of the transport module: {@link io.dsf.rdma.Transports} opens a transport by name;
 * thread safe (control path only).
 */
package io.dsf.rdma;
