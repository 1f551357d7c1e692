package io.dsf.stargate.scsi;

import io.dsf.stargate.api.VDisk;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One logical unit of a {@link ScsiTarget}: a {@link VDisk} with the identity the guest sees (unit
 * serial number, NAA and T10 vendor designators, all derived from the vDisk's name, so the same
 * vDisk keeps its identity across restarts and nodes) and the unit attention conditions pending per
 * I_T nexus. Thread safe: identity is immutable; unit attentions are atomic bit sets per nexus.
 */
public final class ScsiLun {
    static final int UA_RESET = 1;            // 29/03 BUS DEVICE RESET FUNCTION OCCURRED (logical unit reset)
    static final int UA_NEXUS_LOSS = 1 << 1;  // 29/07 I_T NEXUS LOSS OCCURRED
    static final int UA_CAPACITY = 1 << 2;    // 2A/09 CAPACITY DATA HAS CHANGED

    private final int lun;
    private final VDisk disk;
    private final int blockSize, blockShift;
    final byte[] serial;          // VPD 80h: 16 ASCII hex digits
    final long naa;               // VPD 83h: NAA 3h (locally assigned) designator
    final byte[] t10Designator;   // VPD 83h: T10 vendor ID based designator
    private final AtomicIntegerArray unitAttention;

    ScsiLun(int lun, VDisk disk, String vendor, int maxNexuses) {
        int bs = disk.blockSize();
        if (bs < 512 || Integer.bitCount(bs) != 1) throw new IllegalArgumentException("block size must be a power of two >= 512: " + bs);
        if (disk.size() <= 0 || disk.size() % bs != 0) throw new IllegalArgumentException("size must be a positive multiple of the block size: " + disk.size());
        if (disk.maxTransfer() < bs) throw new IllegalArgumentException("maxTransfer below the block size: " + disk.maxTransfer());
        this.lun = lun;
        this.disk = disk;
        this.blockSize = bs;
        this.blockShift = Integer.numberOfTrailingZeros(bs);
        byte[] h = sha256(disk.name());
        long id = 0;
        for (int i = 0; i < 8; i++) id = (id << 8) | (h[i] & 0xFF);
        this.serial = String.format("%016x", id).getBytes(StandardCharsets.US_ASCII);
        this.naa = (0x3L << 60) | (id & 0x0FFF_FFFF_FFFF_FFFFL);
        this.t10Designator = t10(vendor, serial, disk.name());
        this.unitAttention = new AtomicIntegerArray(maxNexuses);
    }

    /** The LUN number (0..16383). */
    public int lun() { return lun; }

    public VDisk disk() { return disk; }

    public int blockSize() { return blockSize; }

    int blockShift() { return blockShift; }

    /** Capacity in logical blocks, read from the vDisk each time (it may grow). */
    public long blocks() { return disk.size() >>> blockShift; }

    /** The unit serial number (VPD page 80h). */
    public String serialNumber() { return new String(serial, StandardCharsets.US_ASCII); }

    /** The NAA designator of VPD page 83h as a number (NAA 3h, locally assigned). */
    public long naaDesignator() { return naa; }

    int pendingUnitAttention(int nexusId) { return unitAttention.get(nexusId); }

    void raiseUnitAttention(int nexusId, int bits) { unitAttention.getAndAccumulate(nexusId, bits, (a, b) -> a | b); }

    /** A reset condition supersedes everything pending (SPC-4 §5.14: a reset may clear other unit attentions). */
    void resetUnitAttention(int nexusId, int bits) { unitAttention.set(nexusId, bits); }

    void clearUnitAttentions(int nexusId) { unitAttention.set(nexusId, 0); }

    /** Atomically takes the highest-priority pending condition for a nexus; returns its ASC/ASCQ, or -1 when none. */
    int takeUnitAttention(int nexusId) {
        for (;;) {
            int cur = unitAttention.get(nexusId);
            if (cur == 0) return -1;
            int bit = Integer.lowestOneBit(cur);
            if (unitAttention.compareAndSet(nexusId, cur, cur & ~bit)) {
                return switch (bit) {
                    case UA_RESET -> ScsiSense.BUS_DEVICE_RESET_FUNCTION_OCCURRED;
                    case UA_NEXUS_LOSS -> ScsiSense.I_T_NEXUS_LOSS_OCCURRED;
                    default -> ScsiSense.CAPACITY_DATA_HAS_CHANGED;
                };
            }
        }
    }

    private static byte[] t10(String vendor, byte[] serial, String name) {
        StringBuilder sb = new StringBuilder(String.format("%-8s", vendor));
        sb.append(new String(serial, StandardCharsets.US_ASCII)).append(':');
        for (int i = 0; i < name.length() && sb.length() < 248; i++) {
            char c = name.charAt(i);
            sb.append(c > 0x20 && c < 0x7F ? c : '_');
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() { return "LUN " + lun + " (" + disk.name() + ")"; }
}
