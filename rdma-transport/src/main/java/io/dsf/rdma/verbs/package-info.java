/**
 * The verbs transport on rdma-core through FFM ({@link io.dsf.rdma.verbs.gen}): connection setup
 * with {@code rdma_cm} runs on the calling (control) thread; an endpoint's posts and its
 * completion queue's polls run on the queue's owner thread, which calls the native shim's
 * {@code dsf_ibv_post_send}/{@code dsf_ibv_post_recv}/{@code dsf_ibv_poll_cq} directly (no locks, no
 * allocation per request). {@link io.dsf.rdma.verbs.VerbsLibrary} tells whether it can run here.
 */
package io.dsf.rdma.verbs;
