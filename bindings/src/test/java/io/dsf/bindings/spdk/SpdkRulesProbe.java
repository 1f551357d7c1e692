package io.dsf.bindings.spdk;

import io.dsf.bindings.spdk.gen.spdk_env_opts;
import io.dsf.bindings.spdk.gen.spdk_nvme_cmd_cb;
import io.dsf.bindings.spdk.gen.spdk_nvme_ctrlr_opts;
import io.dsf.bindings.spdk.gen.spdk_nvme_dsm_range;
import io.dsf.bindings.spdk.gen.spdk_nvme_transport_id;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Child-JVM side of {@link SpdkEmulatorRulesTest}: drives the SPDK bindings directly, the way a C
 * program would, and prints {@code CHECK key=value} lines. One scenario per process because the
 * environment is initialised once per process.
 */
public final class SpdkRulesProbe {
    private static final Arena ARENA = Arena.global();
    /** Status of the last completion, -1 while none; count of completions; ctx of the last one. */
    private static final AtomicInteger lastStatus = new AtomicInteger(-1);
    private static final AtomicInteger completions = new AtomicInteger();
    private static final AtomicLong lastCtx = new AtomicLong();
    private static final MemorySegment CB = spdk_nvme_cmd_cb.allocate((ctx, cpl) -> {
        lastCtx.set(ctx.address());
        lastStatus.set(SpdkCpl.statusAt(cpl.address()) & 0xfffe);
        completions.incrementAndGet();
    }, ARENA);

    private SpdkRulesProbe() {}

    public static void main(String[] args) throws Exception {
        SpdkLibrary.load();
        switch (args[0]) {
            case "opts-size" -> optsSize();
            case "double-init" -> {
                check("first", initEnv());
                check("second", initEnv());
            }
            case "two-threads" -> twoThreads();
            case "keep-alive" -> keepAlive(Boolean.parseBoolean(args[1]));
            case "io" -> io();
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    static void check(String key, Object value) {
        System.out.println("CHECK " + key + "=" + value);
        System.out.flush();
    }

    static int initEnv() {
        MemorySegment o = spdk_env_opts.allocate(ARENA);
        spdk_env_opts.opts_size(o, spdk_env_opts.SIZEOF);
        spdk_env_opts_init(o);
        spdk_env_opts.name(o, ARENA.allocateFrom("dsf-probe"));
        return spdk_env_init(o);
    }

    static MemorySegment connect(String trid) {
        MemorySegment t = spdk_nvme_transport_id.allocate(ARENA);
        int rc = spdk_nvme_transport_id_parse(t, ARENA.allocateFrom(trid));
        if (rc != 0) throw new IllegalStateException("parse " + rc);
        MemorySegment opts = spdk_nvme_ctrlr_opts.allocate(ARENA);
        spdk_nvme_ctrlr_get_default_ctrlr_opts(opts, spdk_nvme_ctrlr_opts.SIZEOF);
        return spdk_nvme_connect(t, opts, spdk_nvme_ctrlr_opts.SIZEOF);
    }

    static void optsSize() {
        check("zmalloc-before-init-null", spdk_zmalloc(4096, 4096, MemorySegment.NULL, SPDK_ENV_NUMA_ID_ANY, SPDK_MALLOC_DMA).equals(MemorySegment.NULL));
        MemorySegment o = spdk_env_opts.allocate(ARENA); // zeroed: opts_size forgotten
        spdk_env_opts_init(o);
        check("name-filled-without-size", !spdk_env_opts.name(o).equals(MemorySegment.NULL));
        check("init-without-size", spdk_env_init(o));
        spdk_env_opts.opts_size(o, spdk_env_opts.SIZEOF);
        spdk_env_opts_init(o);
        check("name-filled-with-size", !spdk_env_opts.name(o).equals(MemorySegment.NULL));
        check("init-with-size", spdk_env_init(o));
    }

    static void twoThreads() throws InterruptedException {
        check("init", initEnv());
        MemorySegment ctrlr = connect("trtype:PCIe traddr:0000:00:04.0");
        MemorySegment ns = spdk_nvme_ctrlr_get_ns(ctrlr, spdk_nvme_ctrlr_get_first_active_ns(ctrlr));
        MemorySegment qp = spdk_nvme_ctrlr_alloc_io_qpair(ctrlr, MemorySegment.NULL, 0);
        MemorySegment buf = spdk_zmalloc(4096, 4096, MemorySegment.NULL, SPDK_ENV_NUMA_ID_ANY, SPDK_MALLOC_DMA);
        int[] other = new int[2];
        Thread t = Thread.ofPlatform().start(() -> {
            other[0] = spdk_nvme_ns_cmd_read(ns, qp, buf, 0, 8, CB, MemorySegment.NULL, 0);
            other[1] = spdk_nvme_qpair_process_completions(qp, 0);
        });
        t.join();
        check("other-thread-submit", other[0]);
        check("other-thread-process", other[1]);
        check("owner-submit", spdk_nvme_ns_cmd_read(ns, qp, buf, 0, 8, CB, MemorySegment.NULL, 0));
        check("owner-process", spdk_nvme_qpair_process_completions(qp, 0));
        check("owner-status", lastStatus.get());
        check("free", spdk_nvme_ctrlr_free_io_qpair(qp));
        check("detach", spdk_nvme_detach(ctrlr));
    }

    static void keepAlive(boolean pollAdmin) throws InterruptedException {
        check("init", initEnv());
        MemorySegment ctrlr = connect("trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2016-06.io.dsf:probe");
        check("connected", !ctrlr.equals(MemorySegment.NULL));
        MemorySegment ns = spdk_nvme_ctrlr_get_ns(ctrlr, 1);
        MemorySegment qp = spdk_nvme_ctrlr_alloc_io_qpair(ctrlr, MemorySegment.NULL, 0);
        MemorySegment buf = spdk_zmalloc(4096, 4096, MemorySegment.NULL, SPDK_ENV_NUMA_ID_ANY, SPDK_MALLOC_DMA);
        check("submit-before", spdk_nvme_ns_cmd_read(ns, qp, buf, 0, 8, CB, MemorySegment.NULL, 0));
        // time passing is the point here: the keep-alive timeout (300 ms from the parent) must expire
        for (long end = System.nanoTime() + 900_000_000L; System.nanoTime() < end; ) {
            Thread.sleep(50);
            if (pollAdmin) spdk_nvme_ctrlr_process_admin_completions(ctrlr);
        }
        check("process-after", spdk_nvme_qpair_process_completions(qp, 0));
        check("outstanding-status", lastStatus.get());
        check("submit-after", spdk_nvme_ns_cmd_write(ns, qp, buf, 0, 8, CB, MemorySegment.NULL, 0));
        check("admin-after", spdk_nvme_ctrlr_process_admin_completions(ctrlr));
        check("free", spdk_nvme_ctrlr_free_io_qpair(qp));
        check("detach", spdk_nvme_detach(ctrlr));
    }

    static void io() {
        check("init", initEnv());
        MemorySegment t = spdk_nvme_transport_id.allocate(ARENA);
        check("parse-unknown-trtype", spdk_nvme_transport_id_parse(t, ARENA.allocateFrom("trtype:Bogus traddr:x")));
        check("parse-no-separator", spdk_nvme_transport_id_parse(t, ARENA.allocateFrom("trtype:PCIe traddr")));
        MemorySegment tcp = spdk_nvme_transport_id.allocate(ARENA);
        check("parse-tcp", spdk_nvme_transport_id_parse(tcp, ARENA.allocateFrom(
                " trtype:tcp\tadrfam:IPv4 traddr:127.0.0.1 trsvcid=4420 subnqn:nqn.2016-06.io.spdk:cnode1 ")));
        check("tcp-trtype", spdk_nvme_transport_id.trtype(tcp));
        check("tcp-adrfam", spdk_nvme_transport_id.adrfam(tcp));
        check("tcp-traddr", spdk_nvme_transport_id.string(spdk_nvme_transport_id.traddr(tcp)));
        check("tcp-trsvcid", spdk_nvme_transport_id.string(spdk_nvme_transport_id.trsvcid(tcp)));
        check("tcp-subnqn", spdk_nvme_transport_id.string(spdk_nvme_transport_id.subnqn(tcp)));
        check("tcp-without-subnqn-null", connect("trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420").equals(MemorySegment.NULL));

        MemorySegment ctrlr = connect("trtype:PCIe traddr:0000:00:04.0");
        check("second-attach-null", connect("trtype:pcie traddr:0000:00:04.0").equals(MemorySegment.NULL));
        int nsid = spdk_nvme_ctrlr_get_first_active_ns(ctrlr);
        MemorySegment ns = spdk_nvme_ctrlr_get_ns(ctrlr, nsid);
        check("nsid", nsid);
        check("active", spdk_nvme_ns_is_active(ns));
        check("size", spdk_nvme_ns_get_size(ns));
        check("sectors", spdk_nvme_ns_get_num_sectors(ns));
        check("sector", spdk_nvme_ns_get_sector_size(ns));
        check("max-xfer", spdk_nvme_ns_get_max_io_xfer_size(ns));
        check("flags", spdk_nvme_ns_get_flags(ns));
        check("dealloc-read", spdk_nvme_ns_get_dealloc_logical_block_read_value(ns));
        MemorySegment qp = spdk_nvme_ctrlr_alloc_io_qpair(ctrlr, MemorySegment.NULL, 0);
        MemorySegment buf = spdk_zmalloc(8192, 4096, MemorySegment.NULL, SPDK_ENV_NUMA_ID_ANY, SPDK_MALLOC_DMA).reinterpret(8192);

        MemorySegment heapish = Arena.ofAuto().allocate(4096, 4096);
        check("non-dma", spdk_nvme_ns_cmd_write(ns, qp, heapish, 0, 8, CB, MemorySegment.NULL, 0));

        long sectors = spdk_nvme_ns_get_num_sectors(ns);
        check("oob-submit", spdk_nvme_ns_cmd_read(ns, qp, buf, sectors - 1, 2, CB, MemorySegment.NULL, 0));
        check("oob-process", spdk_nvme_qpair_process_completions(qp, 0));
        check("oob-status", lastStatus.get());

        for (int i = 0; i < 8192; i++) buf.set(JAVA_BYTE, i, (byte) (i * 7 + 3));
        MemorySegment ctx = MemorySegment.ofAddress(0x1234_5678_9abcL);
        check("write", spdk_nvme_ns_cmd_write(ns, qp, buf, 100, 16, CB, ctx, SPDK_NVME_IO_FLAGS_FORCE_UNIT_ACCESS));
        check("nothing-before-process", completions.get() == 1);
        check("write-process", spdk_nvme_qpair_process_completions(qp, 0));
        check("write-status", lastStatus.get());
        check("ctx-roundtrip", lastCtx.get() == ctx.address());
        buf.fill((byte) 0);
        spdk_nvme_ns_cmd_read(ns, qp, buf, 100, 16, CB, MemorySegment.NULL, 0);
        spdk_nvme_qpair_process_completions(qp, 0);
        boolean same = true;
        for (int i = 0; i < 8192; i++) same &= buf.get(JAVA_BYTE, i) == (byte) (i * 7 + 3);
        check("read-back", same);

        MemorySegment ranges = ARENA.allocate(spdk_nvme_dsm_range.SIZEOF, 8);
        spdk_nvme_dsm_range.set(ranges, 0, 0, 8, 104);
        check("dsm", spdk_nvme_ns_cmd_dataset_management(ns, qp, SPDK_NVME_DSM_ATTR_DEALLOCATE, ranges, (short) 1, CB, MemorySegment.NULL));
        ranges.fill((byte) 0xff); // SPDK copied the ranges at submission
        spdk_nvme_qpair_process_completions(qp, 0);
        check("dsm-status", lastStatus.get());
        spdk_nvme_ns_cmd_read(ns, qp, buf, 100, 16, CB, MemorySegment.NULL, 0);
        spdk_nvme_qpair_process_completions(qp, 0);
        boolean zeros = true, kept = true;
        for (int i = 0; i < 8192; i++) {
            if (i >= 2048 && i < 6144) zeros &= buf.get(JAVA_BYTE, i) == 0;
            else kept &= buf.get(JAVA_BYTE, i) == (byte) (i * 7 + 3);
        }
        check("dealloc-zeros", zeros);
        check("dealloc-neighbours-kept", kept);

        check("flush", spdk_nvme_ns_cmd_flush(ns, qp, CB, MemorySegment.NULL));
        check("flush-process", spdk_nvme_qpair_process_completions(qp, 0));
        check("flush-status", lastStatus.get());

        int before = completions.get();
        spdk_nvme_ns_cmd_read(ns, qp, buf, 0, 8, CB, MemorySegment.NULL, 0);
        spdk_nvme_ns_cmd_read(ns, qp, buf, 8, 8, CB, MemorySegment.NULL, 0);
        check("max-one", spdk_nvme_qpair_process_completions(qp, 1));
        check("free-aborts-outstanding", spdk_nvme_ctrlr_free_io_qpair(qp));
        check("abort-count", completions.get() - before);
        check("abort-status", lastStatus.get());
        spdk_free(buf);
        check("detach", spdk_nvme_detach(ctrlr));
        check("reattach", !connect("trtype:PCIe traddr:0000:00:04.0").equals(MemorySegment.NULL));
    }
}
