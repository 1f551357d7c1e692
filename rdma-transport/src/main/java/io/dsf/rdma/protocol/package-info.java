/**
 * The tcp transport's wire format: {@link io.dsf.rdma.protocol.FrameDescriptor} (layout, version,
 * limits), {@link io.dsf.rdma.protocol.FrameFlyweight} (a view over a frame in a buffer) and {@link
 * io.dsf.rdma.protocol.HelloDescriptor} (the handshake payload). Stateless constants are thread
 * safe; a flyweight is owned by the thread that owns the buffer it views.
 */
package io.dsf.rdma.protocol;
