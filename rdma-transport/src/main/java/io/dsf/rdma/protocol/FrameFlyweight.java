package io.dsf.rdma.protocol;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

import static io.dsf.rdma.protocol.FrameDescriptor.*;

/**
 * A view over one frame at an offset of a direct {@link ByteBuffer} (positions of the buffer are
 * never touched: absolute accessors only): field accessors, encoding, checksum computation and
 * {@link #validateHeader header validation}. Reused for every frame of its buffer, so nothing is
 * allocated per frame. Owned by the thread that owns the buffer; not thread safe.
 */
public final class FrameFlyweight {
    /** {@link #validateHeader} results. */
    public static final int VALID = 0;
    public static final int BAD_HEADER_CRC = 1;
    public static final int BAD_MAGIC = 2;
    public static final int BAD_VERSION = 3;
    public static final int UNKNOWN_TYPE = 4;
    public static final int BAD_FLAGS = 5;
    public static final int BAD_RESERVED = 6;
    public static final int TOO_LONG = 7;
    public static final int BAD_FIELDS = 8;

    private final ByteBuffer buffer;
    private final ByteBuffer crcView;
    private final CRC32C crc = new CRC32C();
    private int offset;

    /** {@code buffer} is put in little-endian order (its order is this flyweight's to set). */
    public FrameFlyweight(ByteBuffer buffer) {
        this.buffer = buffer.order(ByteOrder.LITTLE_ENDIAN);
        this.crcView = buffer.duplicate();
    }

    public FrameFlyweight at(int offset) {
        this.offset = offset;
        return this;
    }

    public int offset() {
        return offset;
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    public int magic() { return buffer.getShort(offset + MAGIC_OFFSET) & 0xffff; }
    public int version() { return buffer.get(offset + VERSION_OFFSET) & 0xff; }
    public int type() { return buffer.get(offset + TYPE_OFFSET) & 0xff; }
    public int flags() { return buffer.getShort(offset + FLAGS_OFFSET) & 0xffff; }
    public int length() { return buffer.getInt(offset + LENGTH_OFFSET); }
    public int seq() { return buffer.getInt(offset + SEQ_OFFSET); }
    public int ack() { return buffer.getInt(offset + ACK_OFFSET); }
    public int imm() { return buffer.getInt(offset + IMM_OFFSET); }
    public int rkey() { return buffer.getInt(offset + RKEY_OFFSET); }
    public int payloadCrc() { return buffer.getInt(offset + PAYLOAD_CRC_OFFSET); }
    public long remoteAddress() { return buffer.getLong(offset + REMOTE_ADDRESS_OFFSET); }
    public int headerCrc() { return buffer.getInt(offset + HEADER_CRC_OFFSET); }
    public boolean hasImm() { return (flags() & FLAG_IMM) != 0; }
    /** Offset in the buffer of the first payload byte. */
    public int payloadOffset() { return offset + HEADER_LENGTH; }

    /** Writes a whole header (payload checksum and header checksum included); the payload must already be in place. */
    public FrameFlyweight encode(int type, int flags, int length, int seq, int ack, int imm, int rkey, long remoteAddress) {
        int o = offset;
        buffer.putShort(o + MAGIC_OFFSET, MAGIC);
        buffer.put(o + VERSION_OFFSET, VERSION);
        buffer.put(o + TYPE_OFFSET, (byte) type);
        buffer.putShort(o + FLAGS_OFFSET, (short) flags);
        buffer.putShort(o + RESERVED0_OFFSET, (short) 0);
        buffer.putInt(o + LENGTH_OFFSET, length);
        buffer.putInt(o + SEQ_OFFSET, seq);
        buffer.putInt(o + ACK_OFFSET, ack);
        buffer.putInt(o + IMM_OFFSET, imm);
        buffer.putInt(o + RKEY_OFFSET, rkey);
        buffer.putInt(o + PAYLOAD_CRC_OFFSET, length == 0 ? 0 : crc32c(o + HEADER_LENGTH, length));
        buffer.putLong(o + REMOTE_ADDRESS_OFFSET, remoteAddress);
        buffer.putInt(o + RESERVED1_OFFSET, 0);
        sealHeader();
        return this;
    }

    /** Recomputes the header checksum (after a test changed a field on purpose, or after {@link #encode}). */
    public void sealHeader() {
        buffer.putInt(offset + HEADER_CRC_OFFSET, crc32c(offset, HEADER_CRC_OFFSET));
    }

    /** Overwrites the ack field of an encoded, not yet sent header and re-seals it. */
    public void updateAck(int ack) {
        buffer.putInt(offset + ACK_OFFSET, ack);
        sealHeader();
    }

    /**
     * Checks the header in place ({@link FrameDescriptor#HEADER_LENGTH} bytes must be present):
     * returns {@link #VALID} or the first problem found. {@code maxPayload} is the receiver's limit.
     */
    public int validateHeader(int maxPayload) {
        if (crc32c(offset, HEADER_CRC_OFFSET) != headerCrc()) return BAD_HEADER_CRC;
        if (magic() != (MAGIC & 0xffff)) return BAD_MAGIC;
        if (version() != VERSION) return BAD_VERSION;
        int type = type();
        if (type < HELLO || type > ERROR) return UNKNOWN_TYPE;
        int flags = flags();
        if ((flags & ~KNOWN_FLAGS) != 0) return BAD_FLAGS;
        if (buffer.getShort(offset + RESERVED0_OFFSET) != 0 || buffer.getInt(offset + RESERVED1_OFFSET) != 0) return BAD_RESERVED;
        int length = length();
        switch (type) {
            case HELLO -> {
                if (length != HelloDescriptor.LENGTH || flags != 0 || seq() != 0 || ack() != 0) return BAD_FIELDS;
            }
            case ACK -> {
                if (length != 0 || flags != 0 || seq() != 0) return BAD_FIELDS;
            }
            case ERROR -> {
                if (length != 0 || flags != 0) return BAD_FIELDS;
            }
            case SEND -> {
                if (length < 0) return BAD_FIELDS;
                if (length > maxPayload) return TOO_LONG;
                if (seq() == 0) return BAD_FIELDS;
            }
            case WRITE -> {
                if (length <= 0) return BAD_FIELDS;
                if (length > maxPayload) return TOO_LONG;
                if (seq() == 0) return BAD_FIELDS;
            }
            default -> { return UNKNOWN_TYPE; }
        }
        if (length == 0 && payloadCrc() != 0) return BAD_FIELDS;
        return VALID;
    }

    /** Whether the payload ({@link #length()} bytes after the header, all present) matches its checksum. */
    public boolean payloadValid() {
        int length = length();
        return length == 0 || crc32c(offset + HEADER_LENGTH, length) == payloadCrc();
    }

    /** CRC32C of {@code length} bytes of the buffer at {@code from}. */
    public int crc32c(int from, int length) {
        crcView.limit(from + length).position(from);
        crc.reset();
        crc.update(crcView);
        return (int) crc.getValue();
    }

    public static String problemName(int problem) {
        return switch (problem) {
            case VALID -> "valid";
            case BAD_HEADER_CRC -> "header checksum mismatch";
            case BAD_MAGIC -> "bad magic";
            case BAD_VERSION -> "unsupported version";
            case UNKNOWN_TYPE -> "unknown frame type";
            case BAD_FLAGS -> "unknown flags";
            case BAD_RESERVED -> "reserved field not zero";
            case TOO_LONG -> "payload longer than the receiver's limit";
            case BAD_FIELDS -> "fields invalid for the frame type";
            default -> "problem " + problem;
        };
    }
}
