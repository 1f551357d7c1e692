package io.dsf.stargate.replication;

/**
 * Wire layout of a replication message: the payload (for {@code BATCH}: one sealed OpLog batch, a
 * 4 KiB header page then its data slices, byte for byte as the owner writes it locally) followed by
 * a fixed 96-byte trailer; {@code ACK} and {@code NACK} are a trailer alone. The trailer comes last
 * so that the batch sits at offset 0 of the receive buffer, slice aligned, and is written to the
 * store from there without a copy. All fields little-endian. Constants only; thread safe.
 *
 * <pre>
 *  0      4    5    6      8          12         16               24               32     36     40
 *  +------+----+----+------+----------+----------+----------------+----------------+------+------+
 *  |magic |ver |type|reason|payloadLen|trailerCrc|    batchId     |    vdiskId     |shard | rsvd |
 *  +------+----+----+------+----------+----------+----------------+----------------+------+------+
 *  40               48               56               64                               96
 *  +----------------+----------------+----------------+--------------------------------+
 *  | segment number | segment offset | segment bytes  | owner node id (ASCII, 0-padded)|
 *  +----------------+----------------+----------------+--------------------------------+
 * </pre>
 *
 * {@code trailerCrc} is the CRC32C of the 96 bytes with that field zero. The batch carries its own
 * checksums (header page CRC32C, one data CRC32C per entry); the replica verifies all of them.
 * ACK/NACK echo {@code batchId}, vDisk, shard and segment fields of the batch they answer.
 * {@code TRIM} (owner to replica, a trailer alone, no answer) names an OpLog segment the owner freed:
 * the replica deletes its copy of (owner, vDisk, shard, segment); offset and bytes are zero.
 *
 * <p>Metadata and pull (version 3):
 * <ul>
 * <li>{@code META} (owner to replica, no answer): the vDisk's metadata, sent by each owner shard on a
 *     new connection before its first batch; payload: a {@link ReplicaVDisk} record (layout there,
 *     with its own CRC32C); trailer {@code vdiskId} equals the record's id, {@code shard} the sender's.
 *     The replica stores it once per (owner, vDisk) (idempotent) before it takes the next message.
 *     The same message, replica to puller, answers a {@code PULL}.</li>
 * <li>{@code PULL} (puller to replica): "send me what you hold of the owner's vDisk named N";
 *     payload: the name (UTF-8, 1..96 bytes); trailer owner: the owner node; {@code batchId}: a
 *     request id echoed in every answer. Answer: {@code META} (of the newest vDisk of that name held
 *     for that owner) or {@code NACK} {@code REASON_UNKNOWN_VDISK}.</li>
 * <li>{@code NEXT} (puller to replica, trailer alone, after a {@code PULL}): answer {@code PULLED}
 *     (payload: one stored, verified batch; trailer: vDisk, shard, segment, offset, segment bytes as
 *     stored) or {@code END} (trailer alone; {@code segmentBytes}: batches sent), or {@code NACK}
 *     {@code REASON_STORE}. Lock step: one answer per request, so the puller needs one receive posted.</li>
 * </ul>
 * A {@code NEXT} without a {@code PULL}, or a puller message with a bad trailer, resets the connection.
 *
 * <p>Base (version 4): {@code BASE}, a trailer alone, in two directions.
 * <ul>
 * <li>Owner to replica (announced by the owner node after a re-replication pass, on a connection of
 *     the replica port): {@code vdiskId}, {@code shard}, owner; {@code batchId} = the base sequence
 *     B &gt; 0; segment, offset and bytes zero. Meaning: for (owner, vDisk, shard), every block's newest
 *     value is carried by a replicated entry with seq &ge; B, or the block is zero; entries below B are
 *     redundant. The replica records the highest base durably (a lower or equal one is a no-op),
 *     deletes its segments of that shard whose newest entry is below B, syncs, and answers {@code ACK}
 *     (echoing {@code batchId}, vDisk, shard). A malformed {@code BASE} resets the connection.</li>
 * <li>Replica to puller, answering a {@code NEXT}: before the next {@code PULLED} (the first ones right
 *     after the {@code META}, and again whenever a base of that vDisk rose during the pull), one
 *     {@code BASE} per shard with a base: {@code batchId} = the request id (as every pull answer),
 *     {@code shard}, and the base in the {@code segment} field. Batches whose every entry is below
 *     their shard's base may be left out.</li>
 * </ul>
 *
 * <p>Image (version 5): a replica drains its batches into an image of its own (stargate/ARCHITECTURE.md,
 * "Replica drain"), so a pull serves, per shard, the batches still held, then the image, then the
 * covered ranges, answering {@code NEXT} with:
 * <ul>
 * <li>{@code IMAGE}: payload a <em>synthetic</em> batch in the OpLog batch layout (header page and data
 *     slices, every checksum as in a batch) made of drained blocks of one vBlock, each entry carrying
 *     its own block's sequence number (adjacent blocks of one sequence and kind share an entry);
 *     trailer {@code shard}, {@code segment} = the vBlock, offset and bytes zero. It is not a batch the
 *     owner wrote: two replicas' synthetic batches may hold the same sequences, so pullers merge their
 *     entries per block (highest sequence wins) and never deduplicate or compare them as batches.</li>
 * <li>{@code COVERED}: the sequence ranges the replica drained for the shard ({@code shard} in the
 *     trailer); payload {@code count u32, CRC32C u32 (of the pairs), count x (first u64, last u64)},
 *     sorted, disjoint, first &ge; 1, at most {@link ReplicaImage#MAX_RANGES}. Every sequence in them
 *     was replicated and is accounted for by the image (its block's newest version is there, or newer).
 *     A puller counts them as present in its hole check. Anything malformed: the puller resets.</li>
 * </ul>
 *
 * <p>Version 1: first version. Version 2: {@code TRIM}. Version 3: {@code META}, {@code PULL},
 * {@code NEXT}, {@code PULLED}, {@code END}. Version 4: {@code BASE}. Version 5: {@code IMAGE}, {@code COVERED}. A node accepts its own version
 * only (a trailer of another version resets the connection), so all nodes run the same version.
 */
public final class ReplicationDescriptor {
    private ReplicationDescriptor() {}

    public static final int MAGIC = 0x52465344; // "DSFR"
    public static final int VERSION = 5;
    public static final int TRAILER = 96;

    public static final int TYPE_BATCH = 1, TYPE_ACK = 2, TYPE_NACK = 3, TYPE_TRIM = 4, TYPE_META = 5, TYPE_PULL = 6,
            TYPE_NEXT = 7, TYPE_PULLED = 8, TYPE_END = 9, TYPE_BASE = 10, TYPE_IMAGE = 11, TYPE_COVERED = 12;
    /** Largest type number. */
    static final int TYPE_MAX = TYPE_COVERED;
    /** Largest {@code COVERED} payload. */
    public static final int MAX_COVERED = 8 + 16 * ReplicaImage.MAX_RANGES;

    /** NACK reasons. */
    public static final int REASON_NONE = 0, REASON_CHECKSUM = 1, REASON_MALFORMED_BATCH = 2, REASON_BAD_RANGE = 3,
            REASON_STORE = 4, REASON_UNKNOWN_VDISK = 5;
    /** Longest vDisk name in a {@code PULL} or {@code META} (Stargate's catalog limit). */
    public static final int MAX_NAME = 96;

    public static final int OFF_MAGIC = 0, OFF_VERSION = 4, OFF_TYPE = 5, OFF_REASON = 6, OFF_PAYLOAD_LEN = 8,
            OFF_CRC = 12, OFF_BATCH_ID = 16, OFF_VDISK = 24, OFF_SHARD = 32, OFF_RESERVED = 36, OFF_SEGMENT = 40,
            OFF_SEGMENT_OFFSET = 48, OFF_SEGMENT_BYTES = 56, OFF_OWNER = 64;
    public static final int OWNER_MAX = 32;

    /** Payload bytes at most: an OpLog batch of a header page and 128 data slices. */
    public static final int MAX_PAYLOAD = OpLogBatchView.MAX_BATCH;
    /** Largest message. */
    public static final int MAX_MESSAGE = MAX_PAYLOAD + TRAILER;
    /** A receive buffer, rounded up to whole 4 KiB slices. */
    public static final int RECV_BUFFER = (MAX_MESSAGE + 4095) & ~4095;

    public static String typeName(int type) {
        return switch (type) {
            case TYPE_BATCH -> "BATCH";
            case TYPE_ACK -> "ACK";
            case TYPE_NACK -> "NACK";
            case TYPE_TRIM -> "TRIM";
            case TYPE_META -> "META";
            case TYPE_PULL -> "PULL";
            case TYPE_NEXT -> "NEXT";
            case TYPE_PULLED -> "PULLED";
            case TYPE_END -> "END";
            case TYPE_BASE -> "BASE";
            case TYPE_IMAGE -> "IMAGE";
            case TYPE_COVERED -> "COVERED";
            default -> "type " + type;
        };
    }

    public static String reasonName(int reason) {
        return switch (reason) {
            case REASON_NONE -> "none";
            case REASON_CHECKSUM -> "checksum mismatch";
            case REASON_MALFORMED_BATCH -> "malformed batch";
            case REASON_BAD_RANGE -> "segment range";
            case REASON_STORE -> "store error";
            case REASON_UNKNOWN_VDISK -> "no such vDisk held for that owner";
            default -> "reason " + reason;
        };
    }
}
