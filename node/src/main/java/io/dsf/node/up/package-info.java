/**
 * The running node of {@code dsf up}: control plane only; {@link io.dsf.node.up.Node} is started and
 * closed on one control thread (the command's, or its shutdown hook), while the data plane runs on
 * the threads of the modules it wires (Stargate shards, vhost-user accept threads and queue workers).
 */
package io.dsf.node.up;
