package io.dsf.bench;

import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;

import java.util.Locale;

/**
 * {@code device:URI}: a raw {@link BlockDevice} opened with {@link BlockDevices#open}; the job
 * thread that submits also runs the backend's completion path (client=server thread).
 * Control plane only; the device is thread safe.
 */
public final class DeviceTarget implements Target {
    private final String spec;
    private final BlockDevice device;
    private final String innerScheme;

    private DeviceTarget(String spec, BlockDevice device) {
        this.spec = spec;
        this.device = device;
        this.innerScheme = innermostScheme(device.uri());
    }

    /**
     * Opens {@code device:URI} ({@code rest} is the URI).
     *
     * @throws BenchException usage for a malformed URI, failure when the device cannot be opened
     */
    public static DeviceTarget open(String rest) {
        String spec = "device:" + rest;
        if (rest.isBlank()) throw BenchException.usage("target 'device:' needs a device URI (" + BlockDevices.SCHEMES + ")");
        final BlockDevice dev;
        try {
            dev = BlockDevices.open(rest);
        } catch (IllegalArgumentException e) {
            throw BenchException.usage("bad device URI in --target " + spec + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw BenchException.failure("cannot open " + spec + ": " + e.getMessage(), e);
        }
        return new DeviceTarget(spec, dev);
    }

    /** Wraps an already open device (tests, embedding); closing the target closes it. */
    public static DeviceTarget of(BlockDevice device) {
        return new DeviceTarget("device:" + device.uri(), device);
    }

    @Override public String spec() { return spec; }

    @Override public BlockDevice device() { return device; }

    @Override public String serverPlacement() { return "client=server thread"; }

    @Override public boolean retainsWrites() { return !innerScheme.equals("null"); }

    /**
     * Every device that keeps data reads it slower than holes, the mem device too: a hole is a zero
     * fill, data a copy out of memory no cache holds (raw mem randread 7.6 M IOPS on holes). A vDisk
     * read run is prefilled, so the raw side it is compared with must be as well.
     */
    @Override public boolean prefillUseful() { return !innerScheme.equals("null"); }

    @Override public void close() { device.close(); }

    /** The scheme under any {@code faulty:MODE:} / {@code delay:USEC:} wrappers. */
    static String innermostScheme(String uri) {
        String u = uri;
        for (int depth = 0; depth < 8; depth++) {
            DeviceUri p;
            try {
                p = DeviceUri.parse(u);
            } catch (IllegalArgumentException e) {
                return "";
            }
            String s = p.scheme().toLowerCase(Locale.ROOT);
            if (!s.equals("faulty") && !s.equals("delay")) return s;
            int c = p.spec().indexOf(':');
            if (c < 0) return s;
            u = p.spec().substring(c + 1);
        }
        return "";
    }
}
