package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;

/** Placeholder until the spdk: backend lands. */
public abstract class SpdkBlockDevice extends AbstractBlockDevice {
    private SpdkBlockDevice() { super(null, null); }

    public static SpdkBlockDevice open(DeviceUri u) {
        throw new UnsupportedOperationException("spdk: backend not built yet: " + u.uri());
    }
}
