package io.dsf.frodo.blk;

import io.dsf.frodo.vhostuser.VhostUserProtocol;
import io.dsf.frodo.virtq.VirtioDevice;
import io.dsf.frodo.virtq.VirtqRequest;
import io.dsf.frodo.virtq.VirtqueueHandler;
import io.dsf.stargate.api.VDisk;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * virtio-blk over a {@link VDisk}: feature bits, the configuration space (capacity in 512-byte
 * sectors, 4096-byte logical blocks, segment, queue, discard and write-zeroes limits) and one
 * {@link VirtqueueHandler} per request queue whose requests go straight to the vDisk with guest
 * buffers as I/O buffers.
 *
 * <pre>
 *   config (60 bytes): capacity u64 @0 | size_max u32 @8 | seg_max u32 @12 | geometry @16 | blk_size u32 @20
 *     | physical_block_exp u8 @24 | alignment_offset u8 @25 | min_io_size u16 @26 | opt_io_size u32 @28
 *     | wce u8 @32 | num_queues u16 @34 | max_discard_sectors u32 @36 | max_discard_seg u32 @40
 *     | discard_sector_alignment u32 @44 | max_write_zeroes_sectors u32 @48 | max_write_zeroes_seg u32 @52
 *     | write_zeroes_may_unmap u8 @56
 *   request: header {type u32, reserved u32, sector u64} (device-readable) | data | status u8 (device-writable, last)
 * </pre>
 * Thread safe: immutable; its handlers belong to their queue workers.
 */
public final class VirtioBlkDevice implements VirtioDevice {
    public static final long F_SEG_MAX = 1L << 2;
    public static final long F_RO = 1L << 5;
    public static final long F_BLK_SIZE = 1L << 6;
    public static final long F_FLUSH = 1L << 9;
    public static final long F_TOPOLOGY = 1L << 10;
    public static final long F_MQ = 1L << 12;
    public static final long F_DISCARD = 1L << 13;
    public static final long F_WRITE_ZEROES = 1L << 14;

    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;

    public static final byte S_OK = 0;
    public static final byte S_IOERR = 1;
    public static final byte S_UNSUPP = 2;

    public static final int CONFIG_SIZE = 60;
    public static final int SECTOR = 512;
    public static final int SEG_MAX = 126;
    public static final int MAX_DISCARD_SEG = 16;
    public static final int MAX_DISCARD_SECTORS = 1 << 22;
    public static final int ID_BYTES = 20;

    private final VDisk disk;
    private final int queues;
    private final byte[] serial;

    /** @param queues request queues offered (1..64) */
    public VirtioBlkDevice(VDisk disk, int queues) {
        if (disk.blockSize() != 4096) throw new IllegalArgumentException("virtio-blk serves 4096-byte blocks, the vDisk has " + disk.blockSize());
        if (queues < 1 || queues > 64) throw new IllegalArgumentException("queues must be in 1..64: " + queues);
        this.disk = disk;
        this.queues = queues;
        byte[] n = disk.name().getBytes(StandardCharsets.UTF_8);
        this.serial = java.util.Arrays.copyOf(n, Math.min(n.length, ID_BYTES));
    }

    public VDisk disk() { return disk; }

    byte[] serial() { return serial; }

    @Override public String name() { return "virtio-blk " + disk.name(); }

    @Override
    public long features() {
        long f = VhostUserProtocol.VIRTIO_F_VERSION_1 | VhostUserProtocol.VIRTIO_RING_F_INDIRECT_DESC
                | VhostUserProtocol.VIRTIO_RING_F_EVENT_IDX
                | F_SEG_MAX | F_BLK_SIZE | F_FLUSH | F_TOPOLOGY | F_MQ | F_DISCARD | F_WRITE_ZEROES;
        return disk.readOnly() ? f | F_RO : f;
    }

    @Override public long protocolFeatures() { return VhostUserProtocol.PROTOCOL_F_CONFIG; }

    @Override public int maxQueues() { return queues; }

    @Override public int maxSegments() { return SEG_MAX + 2; }

    @Override public int configSize() { return CONFIG_SIZE; }

    @Override
    public void readConfig(MemorySegment c) {
        c.fill((byte) 0);
        c.set(JAVA_LONG_UNALIGNED, 0, disk.size() / SECTOR);
        c.set(JAVA_INT_UNALIGNED, 12, SEG_MAX);
        c.set(JAVA_INT_UNALIGNED, 20, disk.blockSize());
        c.set(JAVA_SHORT_UNALIGNED, 26, (short) 1);
        c.set(JAVA_INT_UNALIGNED, 28, Math.max(1, disk.maxTransfer() / disk.blockSize()));
        c.set(JAVA_SHORT_UNALIGNED, 34, (short) queues);
        c.set(JAVA_INT_UNALIGNED, 36, MAX_DISCARD_SECTORS);
        c.set(JAVA_INT_UNALIGNED, 40, MAX_DISCARD_SEG);
        c.set(JAVA_INT_UNALIGNED, 44, disk.blockSize() / SECTOR);
        c.set(JAVA_INT_UNALIGNED, 48, MAX_DISCARD_SECTORS);
        c.set(JAVA_INT_UNALIGNED, 52, MAX_DISCARD_SEG);
        c.set(JAVA_BYTE, 56, (byte) 1);
    }

    /** Only the write-cache byte may be written, and only to "write through" (0): writes are durable. */
    @Override
    public boolean writeConfig(int offset, MemorySegment src) {
        if (offset == 32 && src.byteSize() == 1) return src.get(JAVA_BYTE, 0) == 0;
        // QEMU writes the whole structure back: accept it when nothing but wce changes (to 0)
        MemorySegment cur = MemorySegment.ofArray(new byte[CONFIG_SIZE]);
        readConfig(cur);
        for (long i = 0; i < src.byteSize(); i++) {
            long at = offset + i;
            if (at >= CONFIG_SIZE) return false;
            if (at == 32) { if (src.get(JAVA_BYTE, i) != 0) return false; continue; }
            if (src.get(JAVA_BYTE, i) != cur.get(JAVA_BYTE, at)) return false;
        }
        return true;
    }

    @Override
    public VirtqueueHandler newHandler(int index) {
        return new Handler();
    }

    /** Requests of one queue. Used on that queue's worker thread. */
    private final class Handler implements VirtqueueHandler {
        @Override
        public VirtqRequest newRequest() {
            return new BlkRequest(VirtioBlkDevice.this, maxSegments());
        }

        @Override
        public void submit(VirtqRequest request) {
            ((BlkRequest) request).start();
        }
    }
}
