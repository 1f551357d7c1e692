/**
 * A vhost-user front-end for tests and the load generator: one thread drives a connection and its
 * rings (what QEMU and the guest driver do together).
 */
package io.dsf.frodo.driver;
