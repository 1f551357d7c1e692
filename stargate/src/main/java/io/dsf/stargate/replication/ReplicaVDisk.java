package io.dsf.stargate.replication;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * What a replica knows of an owner's vDisk: the owner node, the vDisk's id on the owner, its name,
 * size, shard count, read-only flag and parent id (0: none; a clone's data partly lives in its
 * parent's extents, which are not replicated). Travels as the payload of a {@code META} message
 * ({@link ReplicationDescriptor}), all fields little-endian:
 *
 * <pre>
 *  0      4    6        8          16         24       28      32         40     44     48
 *  +------+----+--------+----------+----------+--------+-------+----------+------+------+--------------+
 *  |magic |ver |nameLen | vdiskId  |   size   | shards | flags | parentId | crc  | rsvd | name (UTF-8) |
 *  +------+----+--------+----------+----------+--------+-------+----------+------+------+--------------+
 * </pre>
 *
 * {@code magic} "DSFV", {@code ver} 1, {@code flags} bit 0: read-only; {@code crc}: CRC32C of the
 * whole payload with that field zero. The owner id is not in the payload (the trailer carries it).
 * Immutable; thread safe.
 */
public record ReplicaVDisk(String owner, long id, String name, long size, int shards, boolean readOnly, long parent) {
    static final int MAGIC = 0x56465344; // "DSFV"
    static final int VERSION = 1;
    static final int HDR = 48;
    /** Smallest and largest payload (a name of 1 to {@link ReplicationDescriptor#MAX_NAME} bytes). */
    public static final int MIN_BYTES = HDR + 1, MAX_BYTES = HDR + ReplicationDescriptor.MAX_NAME;

    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    public ReplicaVDisk {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length < 1 || n.length > ReplicationDescriptor.MAX_NAME) throw new IllegalArgumentException("vDisk name of " + n.length + " bytes");
        if (id < 0 || size <= 0 || (size & 4095) != 0 || shards < 1 || shards > 64 || parent < 0)
            throw new IllegalArgumentException("bad vDisk metadata: id " + id + ", size " + size + ", shards " + shards + ", parent " + parent);
    }

    /** Payload bytes of this record. */
    public int bytes() { return HDR + name.getBytes(StandardCharsets.UTF_8).length; }

    /** Writes the payload at {@code at} of {@code m}; returns its length. Allocates (control path). */
    public int encode(MemorySegment m, long at) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        m.set(I, at, MAGIC);
        m.set(S, at + 4, (short) VERSION);
        m.set(S, at + 6, (short) n.length);
        m.set(L, at + 8, id);
        m.set(L, at + 16, size);
        m.set(I, at + 24, shards);
        m.set(I, at + 28, readOnly ? 1 : 0);
        m.set(L, at + 32, parent);
        m.set(I, at + 40, 0);
        m.set(I, at + 44, 0);
        MemorySegment.copy(n, 0, m, ValueLayout.JAVA_BYTE, at + HDR, n.length);
        m.set(I, at + 40, crc(m, at, HDR + n.length));
        return HDR + n.length;
    }

    private static int crc(MemorySegment m, long at, int len) {
        CRC32C c = new CRC32C();
        c.update(m.asSlice(at, len).asByteBuffer());
        return (int) c.getValue();
    }

    /**
     * Decodes and checks a payload of {@code len} bytes at {@code at} (checksum, magic, version,
     * lengths, ranges, name characters); returns null when anything is wrong. Never reads outside
     * {@code [at, at + len)}.
     */
    public static ReplicaVDisk decode(String owner, MemorySegment m, long at, int len) {
        if (len < MIN_BYTES || len > MAX_BYTES || at < 0 || at + len > m.byteSize()) return null;
        int stored = m.get(I, at + 40);
        m.set(I, at + 40, 0);
        int c = crc(m, at, len);
        m.set(I, at + 40, stored);
        if (c != stored || m.get(I, at) != MAGIC || m.get(S, at + 4) != VERSION || m.get(I, at + 44) != 0) return null;
        int nameLen = m.get(S, at + 6) & 0xffff;
        int flags = m.get(I, at + 28);
        if (nameLen != len - HDR || (flags & ~1) != 0) return null;
        byte[] n = new byte[nameLen];
        MemorySegment.copy(m, ValueLayout.JAVA_BYTE, at + HDR, n, 0, nameLen);
        String name = new String(n, StandardCharsets.UTF_8);
        if (!validName(name) || !java.util.Arrays.equals(n, name.getBytes(StandardCharsets.UTF_8))) return null;
        try {
            return new ReplicaVDisk(owner, m.get(L, at + 8), name, m.get(L, at + 16), m.get(I, at + 24), (flags & 1) != 0, m.get(L, at + 32));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Stargate's name rule: letters, digits, '-', '_' and '.'. */
    static boolean validName(String name) {
        if (name.isEmpty()) return false;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.')) return false;
        }
        return true;
    }
}
