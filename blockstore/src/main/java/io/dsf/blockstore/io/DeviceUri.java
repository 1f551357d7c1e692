package io.dsf.blockstore.io;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A parsed device URI {@code scheme:spec[?key=value&flag...]}. Wrappers ({@code faulty:}, {@code delay:})
 * keep the inner URI in {@link #spec()} untouched. Immutable.
 */
public record DeviceUri(String uri, String scheme, String spec, String path, Map<String, String> options) {

    public static DeviceUri parse(String uri) {
        if (uri == null || uri.isBlank()) throw new IllegalArgumentException("empty device URI");
        int c = uri.indexOf(':');
        if (c <= 0) throw new IllegalArgumentException("device URI needs a scheme: '" + uri + "' (" + io.dsf.blockstore.spi.BlockDevices.SCHEMES + ")");
        String scheme = uri.substring(0, c).toLowerCase(Locale.ROOT);
        String spec = uri.substring(c + 1);
        String path = spec;
        Map<String, String> opts = new LinkedHashMap<>();
        int q = spec.lastIndexOf('?');
        if (q >= 0) {
            path = spec.substring(0, q);
            for (String kv : spec.substring(q + 1).split("&")) {
                if (kv.isEmpty()) continue;
                int e = kv.indexOf('=');
                opts.put(e < 0 ? kv : kv.substring(0, e), e < 0 ? "true" : kv.substring(e + 1));
            }
        }
        return new DeviceUri(uri, scheme, spec, path, Map.copyOf(opts));
    }

    public String option(String key, String dflt) { return options.getOrDefault(key, dflt); }

    public boolean flag(String key) {
        String v = options.get(key);
        return v != null && !v.equals("0") && !v.equalsIgnoreCase("false");
    }

    /** Fails on options the backend does not know, so a typo is not silently ignored. */
    public void allowOnly(String... keys) {
        outer:
        for (String k : options.keySet()) {
            for (String a : keys) if (a.equals(k)) continue outer;
            throw new IllegalArgumentException("unknown option '" + k + "' in " + uri + " (known: " + String.join(", ", keys) + ")");
        }
    }

    /** Block size option {@code bs=} (default given), validated as a power of two >= 512. */
    public int blockSize(int dflt) {
        long bs = Sizes.parse(option("bs", Integer.toString(dflt)));
        if (bs < 512 || bs > (1 << 20) || Long.bitCount(bs) != 1)
            throw new IllegalArgumentException("bs must be a power of two between 512 and 1M: " + bs + " in " + uri);
        return (int) bs;
    }
}
