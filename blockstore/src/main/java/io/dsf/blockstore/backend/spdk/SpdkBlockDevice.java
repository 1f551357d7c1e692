package io.dsf.blockstore.backend.spdk;

import io.dsf.bindings.spdk.gen.spdk_nvme_h;
import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@code spdk:TRID[?ns=N]}: one namespace of an NVMe controller driven by SPDK's user-space driver,
 * e.g. {@code spdk:trtype:PCIe traddr:0000:04:00.0} or
 * {@code spdk:trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2016-06.io.spdk:cnode1}
 * (pairs separated by spaces or commas; parsed by SPDK's {@code spdk_nvme_transport_id_parse}).
 * The namespace is {@code ns}, default the first active one. The library comes from
 * {@code DSF_SPDK_LIB}; in CI that is {@code native/}'s emulator, which runs this same code.
 *
 * <p>Devices opened on the same transport id share one controller ({@link SpdkEnvironment}); each
 * {@link DeviceQueue} is an SPDK I/O qpair owned by the thread that opened it ({@link SpdkQueue}).
 * Geometry comes from the namespace: sector size, size, the maximum transfer SPDK reports, trim when
 * it supports deallocate (reading zeros when it reports so), a volatile cache when flush is supported.
 * I/O buffers must come from {@link #allocateDma} ({@code spdk_zmalloc}): any other buffer is refused
 * with {@code BAD_BUFFER}, as SPDK could not translate it. Thread safe; queues per thread.
 */
public final class SpdkBlockDevice extends AbstractBlockDevice {
    private static final int DEFAULT_MAX_TRANSFER = 128 << 10;

    private final SpdkEnvironment env;
    private final SpdkController controller;
    private final MemorySegment ns;
    private final int nsid;
    private final DmaRegions dma = new DmaRegions();
    private final Object dmaLock = new Object();
    private Arena dmaArena;       // guarded by dmaLock; spdk_free runs when it closes
    private boolean dmaReleased;  // guarded by dmaLock

    private SpdkBlockDevice(String uri, Geometry g, SpdkEnvironment env, SpdkController controller, MemorySegment ns, int nsid) {
        super(uri, g);
        this.env = env;
        this.controller = controller;
        this.ns = ns;
        this.nsid = nsid;
    }

    /**
     * @throws IllegalArgumentException for a malformed URI or transport id
     * @throws DeviceException          when the library, the environment, the controller or the namespace is unavailable
     */
    public static SpdkBlockDevice open(DeviceUri u) {
        u.allowOnly("ns");
        String trid = u.path().replace(',', ' ').trim();
        if (trid.isEmpty() || trid.length() > 1024 || trid.indexOf('\0') >= 0)
            throw new IllegalArgumentException("spdk: needs a transport id, e.g. 'spdk:trtype:PCIe traddr:0000:04:00.0' or "
                    + "'spdk:trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2016-06.io.spdk:cnode1': " + u.uri());
        int wantNs = 0;
        String nsOpt = u.options().get("ns");
        if (nsOpt != null) {
            try {
                wantNs = Integer.parseInt(nsOpt);
            } catch (NumberFormatException e) {
                wantNs = -1;
            }
            if (wantNs <= 0) throw new IllegalArgumentException("spdk: ns must be a positive namespace id: " + u.uri());
        }
        SpdkEnvironment env = SpdkEnvironment.get(u.uri());
        SpdkController c = env.attach(u.uri(), trid);
        try {
            int nsid = wantNs != 0 ? wantNs : spdk_nvme_h.spdk_nvme_ctrlr_get_first_active_ns(c.ctrlr);
            if (nsid == 0) throw new DeviceException(IoError.OTHER, u.uri(), "controller has no active namespace");
            MemorySegment ns = spdk_nvme_h.spdk_nvme_ctrlr_get_ns(c.ctrlr, nsid);
            if (ns.equals(MemorySegment.NULL) || !spdk_nvme_h.spdk_nvme_ns_is_active(ns))
                throw new DeviceException(IoError.OTHER, u.uri(), "namespace " + nsid + " is not active (controller has "
                        + spdk_nvme_h.spdk_nvme_ctrlr_get_num_ns(c.ctrlr) + " namespace ids)");
            return new SpdkBlockDevice(u.uri(), geometryOf(u.uri(), ns), env, c, ns, nsid);
        } catch (RuntimeException e) {
            env.release(c);
            throw e;
        }
    }

    private static Geometry geometryOf(String uri, MemorySegment ns) {
        int sector = spdk_nvme_h.spdk_nvme_ns_get_sector_size(ns);
        if (sector < 512 || Integer.bitCount(sector) != 1)
            throw new DeviceException(IoError.UNSUPPORTED, uri, "sector size " + Integer.toUnsignedString(sector)
                    + " is not supported (needs a power of two without interleaved metadata)");
        long size = spdk_nvme_h.spdk_nvme_ns_get_size(ns);
        long capacity = size - Long.remainderUnsigned(size, sector);
        if (capacity <= 0) throw new DeviceException(IoError.OTHER, uri, "namespace is empty");
        long xfer = Integer.toUnsignedLong(spdk_nvme_h.spdk_nvme_ns_get_max_io_xfer_size(ns));
        if (xfer == 0) xfer = DEFAULT_MAX_TRANSFER;
        xfer = Math.min(xfer, 1L << 30);
        int maxTransfer = (int) Math.max(sector, xfer - xfer % sector);
        int flags = spdk_nvme_h.spdk_nvme_ns_get_flags(ns);
        boolean trim = (flags & spdk_nvme_h.SPDK_NVME_NS_DEALLOCATE_SUPPORTED) != 0;
        boolean trimZero = trim && spdk_nvme_h.spdk_nvme_ns_get_dealloc_logical_block_read_value(ns) == spdk_nvme_h.SPDK_NVME_DEALLOC_READ_00;
        boolean volatileCache = (flags & spdk_nvme_h.SPDK_NVME_NS_FLUSH_SUPPORTED) != 0;
        return new Geometry(capacity, sector, sector, maxTransfer, trim, trimZero, volatileCache);
    }

    /** The namespace id this device drives. */
    public int namespaceId() { return nsid; }

    /** The transport id as given. */
    public String transportId() { return controller.trid; }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new SpdkQueue(this, controller, ns, depth, handler);
    }

    /** Whether {@code [address, address + length)} is DMA memory handed out by this device. Any thread; allocation free. */
    boolean isDma(long address, long length) {
        return dma.contains(address, length);
    }

    void queueClosedBy(SpdkQueue q) {
        queueClosed();
    }

    /**
     * DMA memory from {@code spdk_zmalloc} (zeroed, aligned to at least 4 KiB and the sector size),
     * valid until the device is released; the segment then becomes inaccessible and the memory is
     * returned with {@code spdk_free}.
     */
    @Override
    public MemorySegment allocateDma(long size) {
        if (size <= 0) throw new IllegalArgumentException("DMA size must be positive: " + size);
        synchronized (dmaLock) {
            if (isClosed() || dmaReleased) throw new DeviceException(IoError.CLOSED, uri, "cannot allocate DMA memory");
            long align = Math.max(4096, geometry.blockSize());
            MemorySegment p = spdk_nvme_h.spdk_zmalloc(size, align, MemorySegment.NULL, spdk_nvme_h.SPDK_ENV_NUMA_ID_ANY,
                    spdk_nvme_h.SPDK_MALLOC_DMA);
            if (p.equals(MemorySegment.NULL))
                throw new DeviceException(IoError.NO_SPACE, uri, "spdk_zmalloc of " + size + " bytes failed (DMA memory "
                        + "exhausted: more hugepages, or a larger -Ddsf.spdk.memMb with noHuge)");
            if (dmaArena == null) dmaArena = Arena.ofShared();
            MemorySegment seg = p.reinterpret(size, dmaArena, spdk_nvme_h::spdk_free);
            dma.add(p.address(), size);
            return seg;
        }
    }

    @Override
    protected void release() {
        try {
            synchronized (dmaLock) {
                dmaReleased = true;
                if (dmaArena != null) dmaArena.close();
            }
        } finally {
            env.release(controller);
        }
    }
}
