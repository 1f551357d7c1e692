package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;

/** Placeholder until the faulty: backend lands. */
public abstract class FaultyBlockDevice extends AbstractBlockDevice {
    private FaultyBlockDevice() { super(null, null); }

    public static FaultyBlockDevice open(DeviceUri u) {
        throw new UnsupportedOperationException("faulty: backend not built yet: " + u.uri());
    }
}
