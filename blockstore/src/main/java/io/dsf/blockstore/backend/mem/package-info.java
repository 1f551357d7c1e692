/**
 * {@code mem:SIZE}: thin in-memory device; the device is thread safe, each queue belongs to its opening thread.
 */
package io.dsf.blockstore.backend.mem;
