package io.dsf.bindings.libc;

import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.libc.gen.cmsghdr;
import io.dsf.bindings.libc.gen.sockaddr_un;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The libc macros FFM cannot bind ({@code CMSG_*}, {@code S_IS*}) and small helpers around
 * them; the ABI test checks the {@code CMSG_*} arithmetic against the C macros. Thread safe:
 * stateless.
 */
public final class LibcMacros {
    private LibcMacros() {}

    private static final long ALIGN = Long.BYTES; // sizeof(size_t) on x86_64

    /** {@code CMSG_ALIGN(len)}. */
    public static long CMSG_ALIGN(long len) { return (len + ALIGN - 1) & ~(ALIGN - 1); }

    /** Offset of the payload from the start of a control message ({@code CMSG_DATA(c) - c}). */
    public static final long CMSG_DATA_OFFSET = CMSG_ALIGN(cmsghdr.LAYOUT.byteSize());

    /** {@code CMSG_LEN(len)}: the {@code cmsg_len} of a message carrying {@code len} payload bytes. */
    public static long CMSG_LEN(long len) { return CMSG_DATA_OFFSET + len; }

    /** {@code CMSG_SPACE(len)}: the control-buffer bytes a message carrying {@code len} payload bytes takes. */
    public static long CMSG_SPACE(long len) { return CMSG_DATA_OFFSET + CMSG_ALIGN(len); }

    public static boolean S_ISREG(int mode) { return (mode & Libc.S_IFMT) == Libc.S_IFREG; }

    public static boolean S_ISBLK(int mode) { return (mode & Libc.S_IFMT) == Libc.S_IFBLK; }

    public static boolean S_ISDIR(int mode) { return (mode & Libc.S_IFMT) == Libc.S_IFDIR; }

    public static boolean S_ISSOCK(int mode) { return (mode & Libc.S_IFMT) == Libc.S_IFSOCK; }

    /**
     * Fills a new {@code sockaddr_un} for {@code path}; its length for bind/connect is
     * {@link #sockaddrUnLength(String)}.
     *
     * @throws IllegalArgumentException when the path is empty, holds a NUL, or is longer than 107 bytes
     */
    public static MemorySegment sockaddrUn(SegmentAllocator allocator, String path) {
        byte[] p = checkSocketPath(path);
        MemorySegment sa = sockaddr_un.allocate(allocator);
        sa.fill((byte) 0);
        sockaddr_un.sun_family(sa, (short) Libc.AF_UNIX);
        MemorySegment.copy(p, 0, sa, JAVA_BYTE, sockaddr_un.sun_path$OFFSET, p.length);
        return sa;
    }

    /** {@code offsetof(sun_path) + strlen(path) + 1}. */
    public static int sockaddrUnLength(String path) {
        return (int) sockaddr_un.sun_path$OFFSET + checkSocketPath(path).length + 1;
    }

    private static byte[] checkSocketPath(String path) {
        if (path == null || path.isEmpty()) throw new IllegalArgumentException("empty unix socket path");
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length > sockaddr_un.SUN_PATH_CAPACITY - 1)
            throw new IllegalArgumentException("unix socket path is " + p.length + " bytes, at most "
                    + (sockaddr_un.SUN_PATH_CAPACITY - 1) + " fit: " + path);
        for (byte b : p) if (b == 0) throw new IllegalArgumentException("unix socket path holds a NUL byte: " + path);
        return p;
    }
}
