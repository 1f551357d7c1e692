/**
 * The node's admin socket (JSON lines over a unix socket) and its client: control plane only; the
 * server runs an accept thread and one thread per connection, calling its handler concurrently; the
 * client is used by one thread at a time per connection.
 */
package io.dsf.node.admin;
