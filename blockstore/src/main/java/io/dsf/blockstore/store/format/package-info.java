/**
 * On-device format of the BlockStore (see {@code blockstore/FORMAT.md}): pure codecs for the
 * superblock, the layout derived from it, metadata page slots and journal pages and records.
 * Stateless and thread safe: every method works on buffers its caller owns, and every decoder
 * validates lengths, magic, version and CRC32C before it trusts a byte.
 */
package io.dsf.blockstore.store.format;
