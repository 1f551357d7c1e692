/**
 * Verifies a BlockStore without writing to it: every structure the loader reads, every journal
 * page in the replay range, the unit table against the bitmap and the objects, and the checksum of
 * every data slice. Threading: a check runs on the calling thread, with its own device queue.
 */
package io.dsf.blockstore.store.check;
