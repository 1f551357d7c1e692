/**
 * virtio-blk over vhost-user: each request queue's worker thread parses and starts requests, vDisk
 * completions arrive on any thread and hand requests back through the worker's completion queue.
 *
 * <p>{@link io.dsf.frodo.blk.VhostUserBlkServer} is the entry point; {@link io.dsf.frodo.blk.VirtioBlkDevice}
 * is the device plug-in the generic engine in {@code vhostuser}/{@code virtq} runs.
 */
package io.dsf.frodo.blk;
