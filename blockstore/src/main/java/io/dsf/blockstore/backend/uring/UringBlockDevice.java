package io.dsf.blockstore.backend.uring;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;

/** Placeholder until the uring: backend lands. */
public abstract class UringBlockDevice extends AbstractBlockDevice {
    private UringBlockDevice() { super(null, null); }

    public static UringBlockDevice open(DeviceUri u) {
        throw new UnsupportedOperationException("uring: backend not built yet: " + u.uri());
    }
}
