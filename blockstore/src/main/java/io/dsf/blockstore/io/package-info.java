/**
 * Building blocks shared by the backends and their users: request validation, completion rings,
 * buffer pools and device lifecycle. Each type states its owner: pools, rings and queues belong to
 * one thread; device lifecycle and URI parsing are thread safe.
 */
package io.dsf.blockstore.io;
