package io.dsf.blockstore.backend.delay;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;

/** Placeholder until the delay: backend lands. */
public abstract class DelayBlockDevice extends AbstractBlockDevice {
    private DelayBlockDevice() { super(null, null); }

    public static DelayBlockDevice open(DeviceUri u) {
        throw new UnsupportedOperationException("delay: backend not built yet: " + u.uri());
    }
}
