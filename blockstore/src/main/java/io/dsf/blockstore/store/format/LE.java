package io.dsf.blockstore.store.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Little-endian access to heap byte arrays (bounds checked). Stateless; thread safe. */
public final class LE {
    private static final VarHandle S = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle L = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private LE() {}

    public static int u16(byte[] b, int off) { return ((short) S.get(b, off)) & 0xFFFF; }

    public static void u16(byte[] b, int off, int v) { S.set(b, off, (short) v); }

    public static int i32(byte[] b, int off) { return (int) I.get(b, off); }

    public static long u32(byte[] b, int off) { return ((int) I.get(b, off)) & 0xFFFFFFFFL; }

    public static void i32(byte[] b, int off, int v) { I.set(b, off, v); }

    public static long i64(byte[] b, int off) { return (long) L.get(b, off); }

    public static void i64(byte[] b, int off, long v) { L.set(b, off, v); }
}
