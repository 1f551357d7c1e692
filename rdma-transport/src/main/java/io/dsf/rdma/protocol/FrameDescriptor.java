package io.dsf.rdma.protocol;

/**
 * Wire layout of one tcp-transport frame: a 48-byte header, little-endian, then {@code length}
 * payload bytes. Every frame is validated before anything in it is used: the header checksum
 * first, then magic, version, type, flags, reserved bytes, length against the receiver's limit,
 * then (once the payload is in) the payload checksum, then the per-type rules.
 *
 * <pre>
 *  0       2       3       4       6       8              12             16
 *  +-------+-------+-------+-------+-------+--------------+--------------+
 *  | magic | vers  | type  | flags | rsvd0 | length       | seq          |
 *  +-------+-------+-------+-------+-------+--------------+--------------+
 * 16              20             24             28             32
 *  +--------------+--------------+--------------+--------------+
 *  | ack          | imm          | rkey         | payload crc  |
 *  +--------------+--------------+--------------+--------------+
 * 32                             40             44             48
 *  +------------------------------+--------------+--------------+
 *  | remote address (u64)         | rsvd1        | header crc   |  payload (length bytes)...
 *  +------------------------------+--------------+--------------+
 * </pre>
 *
 * <ul>
 *   <li>{@code magic} {@value #MAGIC} ("DR" read little-endian), {@code version} {@value #VERSION};</li>
 *   <li>{@code type}: {@link #HELLO} handshake (payload {@link HelloDescriptor}), {@link #SEND},
 *       {@link #WRITE} (to {@code remote address} in the region of {@code rkey}), {@link #ACK}
 *       (no payload), {@link #ERROR} ({@code imm} holds an error code, {@code seq} the frame it is
 *       about; no payload);</li>
 *   <li>{@code flags}: {@link #FLAG_IMM} (SEND and WRITE: {@code imm} is an immediate for the
 *       receiver's completion);</li>
 *   <li>{@code seq}: SEND and WRITE frames are numbered 1, 2, ... per direction (wrapping); other
 *       types carry 0 (ERROR: the offending sequence number or 0);</li>
 *   <li>{@code ack}: every frame acknowledges, cumulatively, the highest sequence number its
 *       sender has received and placed; a SEND or WRITE completes at its sender when acknowledged;</li>
 *   <li>{@code payload crc}: CRC32C of the payload (0 for an empty one); {@code header crc}: CRC32C
 *       of bytes 0..43. Reserved fields are zero.</li>
 * </ul>
 *
 * Version history: 1 — first version.
 * Thread safe: constants only.
 */
public final class FrameDescriptor {
    private FrameDescriptor() {}

    public static final short MAGIC = 0x5244;
    public static final byte VERSION = 1;
    public static final int HEADER_LENGTH = 48;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 2;
    public static final int TYPE_OFFSET = 3;
    public static final int FLAGS_OFFSET = 4;
    public static final int RESERVED0_OFFSET = 6;
    public static final int LENGTH_OFFSET = 8;
    public static final int SEQ_OFFSET = 12;
    public static final int ACK_OFFSET = 16;
    public static final int IMM_OFFSET = 20;
    public static final int RKEY_OFFSET = 24;
    public static final int PAYLOAD_CRC_OFFSET = 28;
    public static final int REMOTE_ADDRESS_OFFSET = 32;
    public static final int RESERVED1_OFFSET = 40;
    public static final int HEADER_CRC_OFFSET = 44;

    public static final int HELLO = 1;
    public static final int SEND = 2;
    public static final int WRITE = 3;
    public static final int ACK = 4;
    public static final int ERROR = 5;

    public static final int FLAG_IMM = 1;
    public static final int KNOWN_FLAGS = FLAG_IMM;

    /** ERROR codes (in {@code imm}). */
    public static final int ERR_PROTOCOL = 1;
    public static final int ERR_REMOTE_ACCESS = 2;
    public static final int ERR_INVALID_REQUEST = 3;

    public static String typeName(int type) {
        return switch (type) {
            case HELLO -> "HELLO";
            case SEND -> "SEND";
            case WRITE -> "WRITE";
            case ACK -> "ACK";
            case ERROR -> "ERROR";
            default -> "type " + type;
        };
    }
}
