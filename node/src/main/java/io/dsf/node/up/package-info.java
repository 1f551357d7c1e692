/**
 * The running node of {@code dsf up}: control plane only; {@link io.dsf.node.up.Node} serialises its
 * operations (start, attach, detach, create..., close) on its monitor, called from the command's
 * thread, admin connection threads and the shutdown hook, while the data plane runs on the threads
 * of the modules it wires (Stargate shards, vhost-user accept threads and queue workers).
 */
package io.dsf.node.up;
