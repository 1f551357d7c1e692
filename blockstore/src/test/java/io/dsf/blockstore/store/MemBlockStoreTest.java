package io.dsf.blockstore.store;

/** {@link BlockStoreTest} on {@code mem:} with 4 KiB blocks (the device object outlives the store, so reopen works). */
class MemBlockStoreTest extends BlockStoreTest {
    @Override
    protected String uriTemplate() { return "mem:SIZE?bs=4096"; }

    @Override
    protected boolean persistsAcrossOpens() { return false; }
}
