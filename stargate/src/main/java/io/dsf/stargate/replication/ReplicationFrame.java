package io.dsf.stargate.replication;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

import static io.dsf.stargate.replication.ReplicationDescriptor.*;

/**
 * A view over one replication trailer ({@link ReplicationDescriptor}) at an offset of a native
 * region: encode, validate, read fields. Re-pointed with {@link #wrap} for each message, so one
 * instance serves a thread for its whole life. Owned by one thread; not thread safe.
 */
public final class ReplicationFrame {
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Results of {@link #validate}. */
    public static final int VALID = 0, TRUNCATED = 1, BAD_MAGIC = 2, BAD_VERSION = 3, BAD_CHECKSUM = 4, UNKNOWN_TYPE = 5,
            BAD_LENGTH = 6, BAD_RESERVED = 7;

    private final CRC32C crc = new CRC32C();
    private MemorySegment mem;
    private ByteBuffer view;
    private int base;

    /** Points at the trailer at byte {@code base} of {@code mem} ({@code view}: {@code mem.asByteBuffer()}, made once). */
    public ReplicationFrame wrap(MemorySegment mem, ByteBuffer view, int base) {
        this.mem = mem;
        this.view = view;
        this.base = base;
        return this;
    }

    /** Writes a whole trailer and seals it with its CRC32C. {@code owner}: the owner node id as ASCII, at most 32 bytes. */
    public void encode(int type, int reason, int payloadLength, long batchId, long vdisk, int shard, long segment,
                       long segmentOffset, long segmentBytes, byte[] owner) {
        mem.set(I, base + OFF_MAGIC, MAGIC);
        mem.set(ValueLayout.JAVA_BYTE, base + OFF_VERSION, (byte) VERSION);
        mem.set(ValueLayout.JAVA_BYTE, base + OFF_TYPE, (byte) type);
        mem.set(S, base + OFF_REASON, (short) reason);
        mem.set(I, base + OFF_PAYLOAD_LEN, payloadLength);
        mem.set(I, base + OFF_CRC, 0);
        mem.set(L, base + OFF_BATCH_ID, batchId);
        mem.set(L, base + OFF_VDISK, vdisk);
        mem.set(I, base + OFF_SHARD, shard);
        mem.set(I, base + OFF_RESERVED, 0);
        mem.set(L, base + OFF_SEGMENT, segment);
        mem.set(L, base + OFF_SEGMENT_OFFSET, segmentOffset);
        mem.set(L, base + OFF_SEGMENT_BYTES, segmentBytes);
        int n = Math.min(owner.length, OWNER_MAX);
        for (int i = 0; i < OWNER_MAX; i++) mem.set(ValueLayout.JAVA_BYTE, base + OFF_OWNER + i, i < n ? owner[i] : 0);
        mem.set(I, base + OFF_CRC, OpLogBatchView.crc(view, base, TRAILER, crc));
    }

    /**
     * Validates the trailer of a message of {@code messageLength} bytes whose trailer this view
     * points at ({@code base == messageLength - TRAILER} for a received message): checksum first,
     * then magic, version, type, reserved bits and that the payload length matches the message.
     * Returns {@link #VALID} or the first failure; reads only inside the message.
     */
    public int validate(int messageLength) {
        if (messageLength < TRAILER || base < 0 || (long) base + TRAILER > mem.byteSize()) return TRUNCATED;
        int stored = mem.get(I, base + OFF_CRC);
        mem.set(I, base + OFF_CRC, 0);
        int c = OpLogBatchView.crc(view, base, TRAILER, crc);
        mem.set(I, base + OFF_CRC, stored);
        if (c != stored) return BAD_CHECKSUM;
        if (mem.get(I, base + OFF_MAGIC) != MAGIC) return BAD_MAGIC;
        if (version() != VERSION) return BAD_VERSION;
        int t = type();
        if (t < TYPE_BATCH || t > TYPE_MAX) return UNKNOWN_TYPE;
        if (mem.get(I, base + OFF_RESERVED) != 0) return BAD_RESERVED;
        int len = payloadLength();
        if (len < 0 || len != messageLength - TRAILER) return BAD_LENGTH;
        switch (t) {
            case TYPE_BATCH, TYPE_PULLED, TYPE_IMAGE -> { if (len > MAX_PAYLOAD) return BAD_LENGTH; }
            case TYPE_COVERED -> { if (len < 8 || len > MAX_COVERED || (len - 8) % 16 != 0) return BAD_LENGTH; }
            case TYPE_META -> { if (len < ReplicaVDisk.MIN_BYTES || len > ReplicaVDisk.MAX_BYTES) return BAD_LENGTH; }
            case TYPE_PULL -> { if (len < 1 || len > MAX_NAME) return BAD_LENGTH; }
            default -> { if (len != 0) return BAD_LENGTH; }
        }
        return VALID;
    }

    public static String resultName(int r) {
        return switch (r) {
            case VALID -> "valid";
            case TRUNCATED -> "truncated";
            case BAD_MAGIC -> "bad magic";
            case BAD_VERSION -> "bad version";
            case BAD_CHECKSUM -> "trailer checksum mismatch";
            case UNKNOWN_TYPE -> "unknown type";
            case BAD_LENGTH -> "bad length";
            case BAD_RESERVED -> "reserved bits set";
            default -> "result " + r;
        };
    }

    public int version() { return mem.get(ValueLayout.JAVA_BYTE, base + OFF_VERSION) & 0xff; }
    public int type() { return mem.get(ValueLayout.JAVA_BYTE, base + OFF_TYPE) & 0xff; }
    public int reason() { return mem.get(S, base + OFF_REASON) & 0xffff; }
    public int payloadLength() { return mem.get(I, base + OFF_PAYLOAD_LEN); }
    public long batchId() { return mem.get(L, base + OFF_BATCH_ID); }
    public long vdisk() { return mem.get(L, base + OFF_VDISK); }
    public int shard() { return mem.get(I, base + OFF_SHARD); }
    public long segment() { return mem.get(L, base + OFF_SEGMENT); }
    public long segmentOffset() { return mem.get(L, base + OFF_SEGMENT_OFFSET); }
    public long segmentBytes() { return mem.get(L, base + OFF_SEGMENT_BYTES); }

    /** Whether the owner field equals {@code owner} (zero padded); allocation free. */
    public boolean ownerEquals(byte[] owner) {
        int n = Math.min(owner.length, OWNER_MAX);
        for (int i = 0; i < OWNER_MAX; i++)
            if (mem.get(ValueLayout.JAVA_BYTE, base + OFF_OWNER + i) != (i < n ? owner[i] : 0)) return false;
        return true;
    }

    /** The owner node id (allocates: on a segment change and for logs only). */
    public String owner() {
        byte[] b = new byte[OWNER_MAX];
        int n = 0;
        while (n < OWNER_MAX) {
            byte x = mem.get(ValueLayout.JAVA_BYTE, base + OFF_OWNER + n);
            if (x == 0) break;
            b[n++] = x;
        }
        return new String(b, 0, n, StandardCharsets.US_ASCII);
    }
}
