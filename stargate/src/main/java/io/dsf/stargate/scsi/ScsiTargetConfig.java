package io.dsf.stargate.scsi;

/**
 * Tunables of a {@link ScsiTarget}: what its INQUIRY data says, the limits it advertises in the
 * Block Limits VPD page, and its bounce-buffer pool. Immutable; thread safe.
 *
 * @param vendor              T10 vendor identification (at most 8 ASCII characters)
 * @param product             product identification (at most 16)
 * @param revision            product revision level (at most 4)
 * @param maxTransferBlocks   MAXIMUM TRANSFER LENGTH: the most logical blocks one READ, WRITE or VERIFY may name
 * @param maxWriteSameBlocks  MAXIMUM WRITE SAME LENGTH
 * @param maxUnmapBlocks      MAXIMUM UNMAP LBA COUNT (per descriptor)
 * @param maxUnmapDescriptors MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (at most {@link #UNMAP_DESCRIPTOR_LIMIT})
 * @param bounceBufferSize    bytes per bounce buffer: a multiple of 4096; the unit of one copy round
 * @param bounceBuffers       buffers in the pool shared by every command of the target that needs one
 * @param maxNexuses          most I_T nexuses (virtio-scsi devices, iSCSI sessions) open at once
 */
public record ScsiTargetConfig(String vendor, String product, String revision,
                               int maxTransferBlocks, int maxWriteSameBlocks, int maxUnmapBlocks,
                               int maxUnmapDescriptors, int bounceBufferSize, int bounceBuffers, int maxNexuses) {
    /** Descriptors that fit a task's 4 KiB scratch area after the 8-byte UNMAP parameter list header. */
    public static final int UNMAP_DESCRIPTOR_LIMIT = (ScsiTask.SCRATCH_SIZE - 8) / 16;

    public ScsiTargetConfig {
        if (vendor.length() > 8 || product.length() > 16 || revision.length() > 4
                || !isPrintableAscii(vendor) || !isPrintableAscii(product) || !isPrintableAscii(revision))
            throw new IllegalArgumentException("vendor/product/revision must be printable ASCII of at most 8/16/4 characters");
        if (maxTransferBlocks <= 0 || maxWriteSameBlocks <= 0 || maxUnmapBlocks <= 0)
            throw new IllegalArgumentException("limits must be positive");
        if (maxUnmapDescriptors <= 0 || maxUnmapDescriptors > UNMAP_DESCRIPTOR_LIMIT)
            throw new IllegalArgumentException("maxUnmapDescriptors must be in 1.." + UNMAP_DESCRIPTOR_LIMIT);
        if (bounceBufferSize < 4096 || bounceBufferSize % 4096 != 0)
            throw new IllegalArgumentException("bounceBufferSize must be a positive multiple of 4096: " + bounceBufferSize);
        if (bounceBuffers <= 0) throw new IllegalArgumentException("bounceBuffers must be positive");
        if (maxNexuses <= 0) throw new IllegalArgumentException("maxNexuses must be positive");
    }

    /**
     * Defaults: vendor "DSF", product "VDISK"; 8 MiB per READ/WRITE, 256 MiB per WRITE SAME, 16 GiB
     * per UNMAP descriptor (4 KiB blocks), 255 descriptors; eight 1 MiB bounce buffers; 64 nexuses.
     */
    public static ScsiTargetConfig defaults() {
        return new ScsiTargetConfig("DSF", "VDISK", "0001", 2048, 65536, 1 << 22, UNMAP_DESCRIPTOR_LIMIT,
                1 << 20, 8, 64);
    }

    /** A copy with another bounce pool. */
    public ScsiTargetConfig withBounce(int bufferSize, int buffers) {
        return new ScsiTargetConfig(vendor, product, revision, maxTransferBlocks, maxWriteSameBlocks, maxUnmapBlocks,
                maxUnmapDescriptors, bufferSize, buffers, maxNexuses);
    }

    /** A copy with other transfer limits. */
    public ScsiTargetConfig withLimits(int maxTransferBlocks, int maxWriteSameBlocks, int maxUnmapBlocks, int maxUnmapDescriptors) {
        return new ScsiTargetConfig(vendor, product, revision, maxTransferBlocks, maxWriteSameBlocks, maxUnmapBlocks,
                maxUnmapDescriptors, bounceBufferSize, bounceBuffers, maxNexuses);
    }

    private static boolean isPrintableAscii(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < 0x20 || s.charAt(i) > 0x7E) return false;
        return true;
    }
}
