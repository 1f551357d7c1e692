package io.dsf.stargate.scsi;

/**
 * Big-endian field access on CDBs, parameter lists and response buffers (SCSI is big-endian
 * throughout). Stateless; thread safe.
 */
final class Cdb {
    private Cdb() {}

    // one bounds-checked load and a byte swap per field instead of a load, mask and shift per byte
    private static final java.lang.invoke.VarHandle BE_SHORT = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(short[].class, java.nio.ByteOrder.BIG_ENDIAN);
    private static final java.lang.invoke.VarHandle BE_INT = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.BIG_ENDIAN);
    private static final java.lang.invoke.VarHandle BE_LONG = java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.BIG_ENDIAN);

    static int u8(byte[] b, int off) { return b[off] & 0xFF; }

    static int u16(byte[] b, int off) { return Short.toUnsignedInt((short) BE_SHORT.get(b, off)); }

    static int u24(byte[] b, int off) { return ((b[off] & 0xFF) << 16) | u16(b, off + 1); }

    static long u32(byte[] b, int off) { return Integer.toUnsignedLong((int) BE_INT.get(b, off)); }

    /** A 64-bit field; values at or above 2^63 come back negative (callers treat them as out of range). */
    static long u64(byte[] b, int off) { return (long) BE_LONG.get(b, off); }

    static void put16(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 8);
        b[off + 1] = (byte) v;
    }

    static void put32(byte[] b, int off, long v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    static void put64(byte[] b, int off, long v) {
        put32(b, off, v >>> 32);
        put32(b, off + 4, v);
    }

    /** Writes {@code s} as ASCII, padded with spaces to {@code width} bytes. */
    static void putAscii(byte[] b, int off, String s, int width) {
        for (int i = 0; i < width; i++) b[off + i] = (byte) (i < s.length() ? s.charAt(i) : ' ');
    }

    /** True when blocks [lba, lba + count) lie within a medium of {@code capacity} blocks (unsigned-safe). */
    static boolean inRange(long lba, long count, long capacity) {
        return lba >= 0 && count >= 0 && lba <= capacity && count <= capacity - lba;
    }
}
