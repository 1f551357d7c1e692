package io.dsf.frodo.qemu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a gzip'd cpio archive in the "newc" format the kernel unpacks as an initramfs: directories,
 * regular files, symlinks and device nodes, with no host tool and no privilege. Not thread safe.
 */
final class Cpio {
    private final ByteArrayOutputStream raw = new ByteArrayOutputStream();
    private int ino = 1;

    Cpio dir(String path) { return entry(path, 040755, new byte[0], 0, 0); }

    Cpio file(String path, int mode, byte[] data) { return entry(path, 0100000 | mode, data, 0, 0); }

    Cpio charDev(String path, int major, int minor) { return entry(path, 020600, new byte[0], major, minor); }

    private Cpio entry(String path, int mode, byte[] data, int rmajor, int rminor) {
        byte[] name = (path + "\0").getBytes(StandardCharsets.UTF_8);
        String hdr = String.format("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
                ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rmajor, rminor, name.length, 0);
        write(hdr.getBytes(StandardCharsets.US_ASCII));
        write(name);
        pad();
        write(data);
        pad();
        return this;
    }

    private void write(byte[] b) { raw.write(b, 0, b.length); }

    private void pad() { while (raw.size() % 4 != 0) raw.write(0); }

    /** The archive with its trailer, gzip-compressed. */
    byte[] gzip() throws IOException {
        entry("TRAILER!!!", 0, new byte[0], 0, 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(out)) {
            raw.writeTo(gz);
        }
        return out.toByteArray();
    }
}
