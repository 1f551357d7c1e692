package io.dsf.blockstore.backend.faulty;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code faulty:MODE[,key=value...]:URI}: wraps the device opened from {@code URI} and injects
 * faults, as SPDK's {@code error} bdev does, plus a volatile-write-cache emulation for crash tests.
 * {@code MODE} runs up to the first {@code ':'}; the rest, query options included, is the inner
 * URI, untouched: {@code faulty:eio-read,every=10:mem:64m},
 * {@code faulty:powerloss,leak=0.5,seed=7:file:/tmp/d?size=1g}.
 *
 * <h2>Modes</h2>
 * <ul>
 *   <li>{@code none}: injects nothing until armed through {@link #injector()}.</li>
 *   <li>{@code eio-read}, {@code eio-write}, {@code eio-flush}, {@code eio-trim}: the selected
 *       requests complete with {@link IoError#IO_ERROR}; {@code enospc-write}: with
 *       {@link IoError#NO_SPACE}. A failed write writes nothing.</li>
 *   <li>{@code corrupt-read}: flips one bit per device block in the data the selected reads
 *       return (the device content stays intact); {@code corrupt-write}: stores the selected
 *       writes with one flipped bit per block (the caller's buffer is restored on completion).</li>
 *   <li>{@code powerloss}: a volatile write cache; see {@link PowerLossCache} and below.</li>
 * </ul>
 * Selection keys of the error and corrupt modes, combined with AND (see {@link FaultRule}):
 * {@code every=N} (every N-th matching request), {@code after=N} (all after the first N),
 * {@code prob=P} with {@code seed=S} (each with probability P, reproducibly),
 * {@code offset=START-END} (only requests overlapping byte offsets [START, END), sizes such as
 * {@code 4k-1m} allowed; not for flush), {@code count=N} (at most N faults). Without keys every
 * matching request is hit.
 *
 * <h2>powerloss</h2>
 * Writes not yet covered by a completed flush live in an in-memory overlay and not on the inner
 * device; reads see them (read-your-writes). A completed flush writes the overlay through to the
 * inner device and flushes it. Each cached write also reaches the inner device early with
 * probability {@code leak=P} (default 0.3): whole or (half of the time, when longer than
 * {@code tear=SIZE}, default the block size) as a prefix of whole {@code tear} units; decisions
 * are reproducible from {@code seed=S} (default 1) and the write's sequence number. So after a
 * {@code kill -9} the inner device holds every flushed write plus a random, possibly torn subset
 * of the unflushed ones. {@link FaultInjector#crash()} simulates the power cut in-process.
 * {@code max=SIZE} (default 256 MiB) bounds the overlay: a write that does not fit goes straight
 * to the inner device, whole, and completes when it is there (it then survives a crash). Closing
 * the device without a crash writes the overlay through, as a drive's orderly shutdown does. The
 * overlay is guarded by one device-wide lock: this backend is a test fixture, not for benchmarks.
 *
 * <h2>Other keys</h2>
 * {@code name=NAME} (any mode) registers the injector under NAME while the device is open, for
 * tests whose device is opened by URI deep inside other code: {@link #injector(String)}.
 *
 * <p>Thread safe; each queue is owned by the thread that opened it.
 */
public final class FaultyBlockDevice extends AbstractBlockDevice {
    /** Valid {@code MODE}s. */
    public static final String MODES = "none, eio-read, eio-write, eio-flush, eio-trim, enospc-write, corrupt-read, corrupt-write, powerloss";
    private static final String RULE_KEYS = "every, after, prob, seed, offset, count, name";
    private static final String POWERLOSS_KEYS = "leak, tear, max, seed, name";
    public static final double DEFAULT_LEAK = 0.3;
    public static final long DEFAULT_MAX = 256L << 20;
    public static final long DEFAULT_SEED = 1;
    private static final Map<String, FaultInjector> NAMED = new ConcurrentHashMap<>();

    private final BlockDevice inner;
    private final FaultInjector injector;
    private final PowerLossCache cache; // null unless powerloss
    private final String name;          // null unless name=

    private FaultyBlockDevice(String uri, Geometry g, BlockDevice inner, Config cfg) {
        super(uri, g);
        this.inner = inner;
        this.name = cfg.name;
        this.injector = new FaultInjector(this);
        this.cache = cfg.powerloss ? new PowerLossCache(inner, g, injector, cfg.leak, cfg.tear, cfg.max, cfg.seed) : null;
        if (cfg.rule != null) injector.arm(cfg.rule);
    }

    /**
     * Opens {@code faulty:MODE:URI}.
     *
     * @throws IllegalArgumentException for an unknown mode or key, a malformed value, or a missing inner URI
     * @throws DeviceException          when the inner device cannot be opened
     */
    public static FaultyBlockDevice open(DeviceUri u) {
        String spec = u.spec();
        int c = spec.indexOf(':');
        if (c < 0) throw new IllegalArgumentException("faulty: expects faulty:MODE:URI (MODE one of " + MODES + "), e.g. faulty:eio-read,every=10:mem:64m; got '" + u.uri() + "'");
        Config cfg = Config.parse(spec.substring(0, c), u.uri());
        String innerUri = spec.substring(c + 1);
        if (innerUri.isBlank()) throw new IllegalArgumentException("faulty: missing inner device URI in '" + u.uri() + "' (faulty:MODE:URI)");
        BlockDevice inner = BlockDevices.open(innerUri);
        try {
            Geometry ig = inner.geometry();
            if (cfg.tear != 0 && cfg.tear % ig.blockSize() != 0)
                throw new IllegalArgumentException("faulty: tear=" + cfg.tear + " must be a multiple of the block size " + ig.blockSize() + " in '" + u.uri() + "'");
            Geometry g = cfg.powerloss ? new Geometry(ig.capacity(), ig.blockSize(), ig.bufferAlignment(), ig.maxTransfer(),
                    ig.trimSupported(), ig.trimReadsZero(), true) : ig;
            FaultyBlockDevice d = new FaultyBlockDevice(u.uri(), g, inner, cfg);
            if (cfg.name != null && NAMED.putIfAbsent(cfg.name, d.injector) != null)
                throw new IllegalArgumentException("faulty: a device named '" + cfg.name + "' is already open");
            return d;
        } catch (RuntimeException | Error e) {
            inner.close();
            throw e;
        }
    }

    /**
     * The injector of the open device registered with {@code name=NAME}.
     *
     * @throws IllegalArgumentException when no open faulty device has that name
     */
    public static FaultInjector injector(String name) {
        FaultInjector i = NAMED.get(name);
        if (i == null) throw new IllegalArgumentException("no open faulty device named '" + name + "' (open it with faulty:MODE,name=" + name + ":URI)");
        return i;
    }

    /** Arms faults and simulates crashes on this device. Thread safe. */
    public FaultInjector injector() { return injector; }

    /** The wrapped device (still usable after {@link FaultInjector#crash()}, to inspect the post-crash state). */
    public BlockDevice inner() { return inner; }

    PowerLossCache cache() { return cache; }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new FaultyQueue(this, depth, handler);
    }

    /** Called by each {@link FaultyQueue} once, from its close. */
    void onQueueClosed() { queueClosed(); }

    @Override
    public MemorySegment allocateDma(long size) {
        if (isClosed()) throw new DeviceException(IoError.CLOSED, uri, "cannot allocate DMA memory");
        return inner.allocateDma(size);
    }

    @Override
    protected void release() {
        try {
            if (cache != null) cache.shutdown(injector);
        } finally {
            if (name != null) NAMED.remove(name, injector);
            inner.close();
        }
    }

    /** A parsed {@code MODE[,key=value...]}. Immutable. */
    record Config(String mode, FaultRule rule, boolean powerloss, double leak, long tear, long max, long seed, String name) {

        static Config parse(String modeSpec, String uri) {
            String[] parts = modeSpec.split(",", -1);
            String mode = parts[0].trim().toLowerCase(Locale.ROOT);
            IoOp op;
            IoError err = null;
            switch (mode) {
                case "none", "powerloss" -> op = null;
                case "eio-read" -> { op = IoOp.READ; err = IoError.IO_ERROR; }
                case "eio-write" -> { op = IoOp.WRITE; err = IoError.IO_ERROR; }
                case "eio-flush" -> { op = IoOp.FLUSH; err = IoError.IO_ERROR; }
                case "eio-trim" -> { op = IoOp.TRIM; err = IoError.IO_ERROR; }
                case "enospc-write" -> { op = IoOp.WRITE; err = IoError.NO_SPACE; }
                case "corrupt-read" -> op = IoOp.READ;
                case "corrupt-write" -> op = IoOp.WRITE;
                default -> throw new IllegalArgumentException("faulty: unknown mode '" + parts[0] + "' in '" + uri + "' (valid modes: " + MODES + ")");
            }
            boolean powerloss = mode.equals("powerloss");
            String validKeys = powerloss ? POWERLOSS_KEYS : mode.equals("none") ? "name" : RULE_KEYS;
            long every = 1, after = 0, count = 0, seed = DEFAULT_SEED, start = -1, end = -1, tear = 0, max = DEFAULT_MAX;
            double prob = 1.0, leak = DEFAULT_LEAK;
            boolean seedGiven = false;
            String name = null;
            for (int i = 1; i < parts.length; i++) {
                String kv = parts[i].trim();
                int e = kv.indexOf('=');
                if (e <= 0 || e == kv.length() - 1)
                    throw new IllegalArgumentException("faulty: expected key=value, got '" + kv + "' in '" + uri + "' (keys for " + mode + ": " + validKeys + ")");
                String key = kv.substring(0, e).trim().toLowerCase(Locale.ROOT);
                String val = kv.substring(e + 1).trim();
                if (!(", " + validKeys + ",").contains(", " + key + ","))
                    throw new IllegalArgumentException("faulty: unknown key '" + key + "' for mode " + mode + " in '" + uri + "' (valid: " + validKeys + ")");
                try {
                    switch (key) {
                        case "every" -> every = positive(key, Long.parseLong(val));
                        case "after" -> after = nonNegative(key, Long.parseLong(val));
                        case "count" -> count = positive(key, Long.parseLong(val));
                        case "seed" -> { seed = Long.parseLong(val); seedGiven = true; }
                        case "prob" -> prob = probability(key, Double.parseDouble(val), false);
                        case "leak" -> leak = probability(key, Double.parseDouble(val), true);
                        case "tear" -> tear = positive(key, Sizes.parse(val));
                        case "max" -> max = Sizes.parse(val);
                        case "name" -> name = val;
                        case "offset" -> {
                            int d = val.indexOf('-');
                            if (d <= 0) throw new IllegalArgumentException("offset must be START-END");
                            start = Sizes.parse(val.substring(0, d));
                            end = Sizes.parse(val.substring(d + 1));
                            if (end <= start) throw new IllegalArgumentException("offset END must be above START");
                        }
                        default -> throw new AssertionError(key);
                    }
                } catch (IllegalArgumentException ex) { // NumberFormatException included
                    throw new IllegalArgumentException("faulty: bad value for " + key + " in '" + uri + "': " + ex.getMessage(), ex);
                }
            }
            if (!powerloss && seedGiven && prob == 1.0)
                throw new IllegalArgumentException("faulty: seed= needs prob= in '" + uri + "'");
            FaultRule rule = null;
            if (op != null) {
                rule = err != null ? FaultRule.fail(op, err) : FaultRule.corrupt(op);
                try {
                    if (every > 1) rule = rule.every(every);
                    if (after > 0) rule = rule.after(after);
                    if (count > 0) rule = rule.limit(count);
                    if (prob < 1.0) rule = rule.probability(prob, seed);
                    if (start >= 0) rule = rule.inRange(start, end - start);
                } catch (IllegalArgumentException ex) {
                    throw new IllegalArgumentException("faulty: " + ex.getMessage() + " in '" + uri + "'", ex);
                }
            }
            return new Config(mode, rule, powerloss, leak, tear, max, seed, name);
        }

        private static long positive(String key, long v) {
            if (v < 1) throw new IllegalArgumentException(key + " must be >= 1: " + v);
            return v;
        }

        private static long nonNegative(String key, long v) {
            if (v < 0) throw new IllegalArgumentException(key + " must be >= 0: " + v);
            return v;
        }

        private static double probability(String key, double p, boolean zeroOk) {
            if (!(zeroOk ? p >= 0 && p <= 1 : p > 0 && p <= 1))
                throw new IllegalArgumentException(key + " must be in " + (zeroOk ? "[0, 1]" : "(0, 1]") + ": " + p);
            return p;
        }
    }
}
