/**
 * {@code null:SIZE}: discards writes, reads zeros; the device is thread safe, each queue belongs to its opening thread.
 */
package io.dsf.blockstore.backend.nulldev;
