/**
 * {@code file:PATH}: portable emulation over a regular file through the page cache; the device is thread safe, each queue belongs to its opening thread and runs its I/O at submission.
 */
package io.dsf.blockstore.backend.file;
