package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.SpdkLibrary;
import io.dsf.bindings.spdk.SpdkLibraryException;
import io.dsf.bindings.spdk.gen.spdk_env_opts;
import io.dsf.bindings.spdk.gen.spdk_nvme_ctrlr_opts;
import io.dsf.bindings.spdk.gen.spdk_nvme_h;
import io.dsf.bindings.spdk.gen.spdk_nvme_transport_id;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * The process-wide SPDK environment. On first use it loads the library named by
 * {@code DSF_SPDK_LIB} and starts the platform thread {@code dsf-spdk-env}, which calls
 * {@code spdk_env_opts_init}/{@code spdk_env_init} once (SPDK allows one initialisation per process,
 * and it pins the calling thread to one CPU, which threads created later by that thread inherit,
 * hence a dedicated thread that creates none). That thread then stays as the control thread: every
 * {@value #DEFAULT_ADMIN_POLL_MS} ms ({@code -Ddsf.spdk.adminPollMs}; 0 turns it off, for tests) it
 * runs {@code spdk_nvme_ctrlr_process_admin_completions} on each attached controller, which sends
 * keep-alives; SPDK processes a controller's admin queue under its own lock, independently of the
 * I/O qpairs that the queue threads poll. Controllers are attached once per transport id and shared.
 *
 * <p>Environment options, read once: {@code -Ddsf.spdk.noHuge=true} / {@code DSF_SPDK_NO_HUGE=1}
 * (no hugepages; then {@code -Ddsf.spdk.memMb} / {@code DSF_SPDK_MEM_MB} gives the memory size,
 * default 1024), {@code -Ddsf.spdk.coreMask}, {@code -Ddsf.spdk.noPci=true} (NVMe-oF only).
 * Thread safe; control plane only.
 */
final class SpdkEnvironment {
    private static final System.Logger LOG = System.getLogger(SpdkEnvironment.class.getName());
    static final long DEFAULT_ADMIN_POLL_MS = 100;
    private static final long INIT_TIMEOUT_S = 120;

    private static SpdkEnvironment instance; // guarded by SpdkEnvironment.class
    private static String initFailure;       // guarded by SpdkEnvironment.class: sticky, init is once per process

    private final Map<String, SpdkController> controllers = new HashMap<>(); // guarded by this
    private final CopyOnWriteArrayList<SpdkController> polled = new CopyOnWriteArrayList<>();
    private final long adminPollNanos;

    private SpdkEnvironment(long adminPollMs) {
        this.adminPollNanos = TimeUnit.MILLISECONDS.toNanos(adminPollMs);
    }

    /**
     * The environment, initialised on first call.
     *
     * @throws DeviceException naming {@code DSF_SPDK_LIB} when the library is missing, or when
     *                         {@code spdk_env_init} failed (then for the life of the process)
     */
    static synchronized SpdkEnvironment get(String uri) {
        if (instance != null) return instance;
        if (initFailure != null) throw new DeviceException(IoError.OTHER, uri, initFailure);
        try {
            SpdkLibrary.load();
        } catch (SpdkLibraryException e) {
            throw new DeviceException(IoError.OTHER, uri, e.getMessage());
        }
        SpdkEnvironment env = new SpdkEnvironment(Long.getLong("dsf.spdk.adminPollMs", DEFAULT_ADMIN_POLL_MS));
        CompletableFuture<Integer> init = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().daemon().name("dsf-spdk-env").unstarted(() -> env.run(init));
        t.start();
        int rc;
        try {
            rc = init.get(INIT_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            initFailure = "spdk_env_init did not return within " + INIT_TIMEOUT_S + " s";
            throw new DeviceException(IoError.OTHER, uri, initFailure);
        } catch (ExecutionException e) {
            initFailure = "SPDK environment thread failed: " + e.getCause();
            throw new DeviceException(IoError.OTHER, uri, initFailure);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeviceException(IoError.OTHER, uri, "interrupted while initialising the SPDK environment");
        }
        if (rc != 0) {
            initFailure = "spdk_env_init failed with " + rc + " (see SPDK's messages on stderr; DSF_SPDK_LIB="
                    + SpdkLibrary.path() + "); it runs once per process, so restart after fixing it (hugepages, or "
                    + "-Ddsf.spdk.noHuge=true -Ddsf.spdk.memMb=N; permissions for vfio/uio)";
            throw new DeviceException(IoError.OTHER, uri, initFailure);
        }
        instance = env;
        return env;
    }

    /** Body of the {@code dsf-spdk-env} thread: initialise, report, then poll admin queues forever. */
    private void run(CompletableFuture<Integer> init) {
        int rc;
        try {
            rc = initEnv();
        } catch (Throwable t) {
            init.completeExceptionally(t);
            return;
        }
        init.complete(rc);
        if (rc != 0) return;
        while (true) {
            if (adminPollNanos <= 0) {
                LockSupport.park(this);
                continue;
            }
            LockSupport.parkNanos(this, adminPollNanos);
            for (SpdkController c : polled) {
                try {
                    c.pollAdmin();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "admin poll of " + c + " failed", e);
                }
            }
        }
    }

    private static int initEnv() {
        Arena global = Arena.global(); // SPDK may keep pointers to the name and mask strings
        MemorySegment opts = spdk_env_opts.allocate(global);
        spdk_env_opts.opts_size(opts, spdk_env_opts.SIZEOF); // before spdk_env_opts_init, which keeps it
        spdk_nvme_h.spdk_env_opts_init(opts);
        spdk_env_opts.name(opts, global.allocateFrom(System.getProperty("dsf.spdk.name", "dsf")));
        String mask = System.getProperty("dsf.spdk.coreMask");
        if (mask != null && !mask.isBlank()) spdk_env_opts.core_mask(opts, global.allocateFrom(mask.trim()));
        if (flag("dsf.spdk.noHuge", "DSF_SPDK_NO_HUGE")) {
            spdk_env_opts.no_huge(opts, true);
            String mb = System.getProperty("dsf.spdk.memMb", System.getenv().getOrDefault("DSF_SPDK_MEM_MB", "1024"));
            spdk_env_opts.mem_size(opts, Integer.parseInt(mb.trim()));
        }
        if (flag("dsf.spdk.noPci", "DSF_SPDK_NO_PCI")) spdk_env_opts.no_pci(opts, true);
        return spdk_nvme_h.spdk_env_init(opts);
    }

    private static boolean flag(String property, String env) {
        String v = System.getProperty(property, System.getenv(env));
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes"));
    }

    /**
     * Returns the controller for {@code trid}, connecting on first use (blocking; SPDK's connect must
     * not run concurrently with itself, hence the lock). Pair with {@link #release}.
     *
     * @throws IllegalArgumentException when SPDK cannot parse the transport id
     * @throws DeviceException          when the connect fails
     */
    synchronized SpdkController attach(String uri, String trid) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = spdk_nvme_transport_id.allocate(a); // zeroed: parse leaves unset fields alone
            int rc = spdk_nvme_h.spdk_nvme_transport_id_parse(t, a.allocateFrom(trid));
            if (rc != 0 || spdk_nvme_transport_id.trtype(t) == 0)
                throw new IllegalArgumentException("spdk: cannot parse transport id '" + trid + "'"
                        + (rc != 0 ? " (spdk_nvme_transport_id_parse returned " + rc + ")" : " (no trtype)")
                        + "; expected e.g. spdk:trtype:PCIe traddr:0000:04:00.0 or "
                        + "spdk:trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2016-06.io.spdk:cnode1");
            String key = spdk_nvme_transport_id.trtype(t) + "|"
                    + spdk_nvme_transport_id.string(spdk_nvme_transport_id.traddr(t)).toLowerCase(Locale.ROOT) + "|"
                    + spdk_nvme_transport_id.string(spdk_nvme_transport_id.trsvcid(t)) + "|"
                    + spdk_nvme_transport_id.string(spdk_nvme_transport_id.subnqn(t));
            SpdkController c = controllers.get(key);
            if (c == null) {
                MemorySegment opts = spdk_nvme_ctrlr_opts.allocate(a);
                spdk_nvme_h.spdk_nvme_ctrlr_get_default_ctrlr_opts(opts, spdk_nvme_ctrlr_opts.SIZEOF);
                MemorySegment ctrlr = spdk_nvme_h.spdk_nvme_connect(t, opts, spdk_nvme_ctrlr_opts.SIZEOF);
                if (ctrlr.equals(MemorySegment.NULL))
                    throw new DeviceException(IoError.OTHER, uri, "spdk_nvme_connect failed for '" + trid
                            + "' (see SPDK's messages on stderr: device not bound to vfio-pci/uio, target unreachable, "
                            + "wrong subnqn, or attached by another process)");
                c = new SpdkController(key, trid, ctrlr);
                controllers.put(key, c);
                polled.add(c);
            }
            c.refs++;
            return c;
        }
    }

    /** Drops one reference; the last one detaches the controller. */
    synchronized void release(SpdkController c) {
        if (--c.refs > 0) return;
        controllers.remove(c.key);
        polled.remove(c);
        c.detach();
    }
}
