package io.dsf.frodo.vhostuser;

/**
 * The vhost-user wire format (front-end requests, protocol revision 1) as constants: message
 * header, request codes, flags, feature bits and payload sizes. Immutable constants.
 *
 * <pre>
 *   header (12 bytes, native endian): request u32 | flags u32 (version 0x1, REPLY 0x4, NEED_REPLY 0x8) | size u32
 *   payload (size bytes, at most 4096 here), file descriptors as SCM_RIGHTS with the first byte
 *   u64:            features, queue number, vring kick/call/err (index bits 0-7, NOFD bit 8)
 *   vring state:    index u32 | num u32                                              (8)
 *   vring address:  index u32 | flags u32 | desc u64 | used u64 | avail u64 | log u64  (40)
 *   memory table:   nregions u32 | padding u32 | region[n]: gpa u64 | size u64 | uva u64 | mmap_offset u64
 *   config:         offset u32 | size u32 | flags u32 | bytes[size]                   (12 + size)
 *   inflight:       mmap_size u64 | mmap_offset u64 | num_queues u16 | queue_size u16 (24 with padding)
 * </pre>
 * Format version: protocol revision 1 as QEMU 7.2 speaks it (no memory slots, no packed rings).
 */
public final class VhostUserProtocol {
    private VhostUserProtocol() {}

    public static final int HEADER_SIZE = 12;
    public static final int MAX_PAYLOAD = 4096;
    public static final int VERSION = 0x1;
    public static final int VERSION_MASK = 0x3;
    public static final int FLAG_REPLY = 0x4;
    public static final int FLAG_NEED_REPLY = 0x8;

    public static final int GET_FEATURES = 1;
    public static final int SET_FEATURES = 2;
    public static final int SET_OWNER = 3;
    public static final int RESET_OWNER = 4;
    public static final int SET_MEM_TABLE = 5;
    public static final int SET_LOG_BASE = 6;
    public static final int SET_LOG_FD = 7;
    public static final int SET_VRING_NUM = 8;
    public static final int SET_VRING_ADDR = 9;
    public static final int SET_VRING_BASE = 10;
    public static final int GET_VRING_BASE = 11;
    public static final int SET_VRING_KICK = 12;
    public static final int SET_VRING_CALL = 13;
    public static final int SET_VRING_ERR = 14;
    public static final int GET_PROTOCOL_FEATURES = 15;
    public static final int SET_PROTOCOL_FEATURES = 16;
    public static final int GET_QUEUE_NUM = 17;
    public static final int SET_VRING_ENABLE = 18;
    public static final int GET_CONFIG = 24;
    public static final int SET_CONFIG = 25;
    public static final int GET_INFLIGHT_FD = 31;
    public static final int SET_INFLIGHT_FD = 32;

    private static final String[] NAMES = new String[41];
    static {
        String[] n = {null, "GET_FEATURES", "SET_FEATURES", "SET_OWNER", "RESET_OWNER", "SET_MEM_TABLE", "SET_LOG_BASE",
            "SET_LOG_FD", "SET_VRING_NUM", "SET_VRING_ADDR", "SET_VRING_BASE", "GET_VRING_BASE", "SET_VRING_KICK",
            "SET_VRING_CALL", "SET_VRING_ERR", "GET_PROTOCOL_FEATURES", "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM",
            "SET_VRING_ENABLE", "SEND_RARP", "NET_SET_MTU", "SET_SLAVE_REQ_FD", "IOTLB_MSG", "SET_VRING_ENDIAN",
            "GET_CONFIG", "SET_CONFIG", "CREATE_CRYPTO_SESSION", "CLOSE_CRYPTO_SESSION", "POSTCOPY_ADVISE",
            "POSTCOPY_LISTEN", "POSTCOPY_END", "GET_INFLIGHT_FD", "SET_INFLIGHT_FD", "GPU_SET_SOCKET", "RESET_DEVICE",
            "VRING_KICK", "GET_MAX_MEM_SLOTS", "ADD_MEM_REG", "REM_MEM_REG", "SET_STATUS", "GET_STATUS"};
        System.arraycopy(n, 0, NAMES, 0, n.length);
    }

    /** The request's name, or its number when unknown. */
    public static String name(int request) {
        return request > 0 && request < NAMES.length ? NAMES[request] : "request " + Integer.toUnsignedString(request);
    }

    // ---- virtio feature bits (GET/SET_FEATURES)
    public static final long VIRTIO_RING_F_INDIRECT_DESC = 1L << 28;
    public static final long VIRTIO_RING_F_EVENT_IDX = 1L << 29;
    public static final long VHOST_USER_F_PROTOCOL_FEATURES = 1L << 30;
    public static final long VIRTIO_F_VERSION_1 = 1L << 32;

    // ---- protocol feature bits (GET/SET_PROTOCOL_FEATURES)
    public static final long PROTOCOL_F_MQ = 1L;
    public static final long PROTOCOL_F_REPLY_ACK = 1L << 3;
    public static final long PROTOCOL_F_CONFIG = 1L << 9;
    public static final long PROTOCOL_F_INFLIGHT_SHMFD = 1L << 12;

    /** Bit 8 of a vring kick/call/err payload: no descriptor passed (polling). */
    public static final long VRING_NOFD_MASK = 1L << 8;
    public static final long VRING_IDX_MASK = 0xff;
    /** Largest configuration space a GET/SET_CONFIG may address. */
    public static final int MAX_CONFIG_SIZE = 256;
    public static final int INFLIGHT_PAYLOAD = 24;
    public static final int MEM_REGION_SIZE = 32;
}
