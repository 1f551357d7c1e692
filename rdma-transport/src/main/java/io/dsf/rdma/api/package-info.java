/**
 * The RDMA-shaped transport SPI: a thread-safe {@link io.dsf.rdma.api.RdmaTransport} registers
 * memory and sets up connections on the control path, and every {@link io.dsf.rdma.api.Endpoint}
 * and {@link io.dsf.rdma.api.CompletionQueue} is then owned by the one thread that polls that
 * queue (posts, polls and closes happen on it; no locks on the hot path).
 *
 * <p>The model is the verbs one (and DiSNI's endpoint model as an API reference): memory regions
 * registered once with local and remote keys; reliable connected endpoints with a send queue and
 * a receive queue; two-sided {@code SEND} into receive buffers posted in advance; one-sided
 * {@code RDMA WRITE} (optionally with a 32-bit immediate, which consumes a posted receive at the
 * target and raises a completion there); completions delivered only by polling the owner's
 * {@link io.dsf.rdma.api.CompletionQueue} into a reusable {@link io.dsf.rdma.api.Completions}
 * batch. Posting never blocks and never throws for a bad request: it returns a
 * {@link io.dsf.rdma.api.PostStatus} code. Every accepted work request completes exactly once,
 * successfully or with a {@link io.dsf.rdma.api.CompletionStatus} error (a broken or closed
 * connection flushes whatever was outstanding), so no caller waits forever on a dead peer.
 * Control-path failures are {@link io.dsf.rdma.api.RdmaException}s with a {@link
 * io.dsf.rdma.api.RdmaException.Kind}.
 */
package io.dsf.rdma.api;
