package io.dsf.blockstore.backend.file;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.ImmediateQueue;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;
import io.dsf.blockstore.spi.IoError;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@code file:/path[?size=SIZE&bs=512]}: portable emulation over a regular file through the page
 * cache (no O_DIRECT). {@code size} creates the file (sparse) or grows it; without it the file must
 * exist and its length is the capacity. Flush is {@code fdatasync}. Reads and writes run at
 * submission on the calling thread. Thread safe; queues per thread.
 */
public final class FileBlockDevice extends AbstractBlockDevice {
    private static final int MAX_TRANSFER = 1 << 20;
    private final FileChannel channel;
    private final Path path;

    private FileBlockDevice(String uri, Geometry g, FileChannel ch, Path path) {
        super(uri, g);
        this.channel = ch;
        this.path = path;
    }

    public static FileBlockDevice open(DeviceUri u) {
        u.allowOnly("size", "bs");
        int bs = u.blockSize(512);
        if (u.path().isEmpty()) throw new IllegalArgumentException("file: needs a path: " + u.uri());
        Path p = Path.of(u.path());
        String sizeOpt = u.options().get("size");
        try {
            FileChannel ch;
            if (sizeOpt != null) {
                long size = Sizes.parse(sizeOpt);
                size -= size % bs;
                if (size <= 0) throw new IllegalArgumentException("file: size must be at least one block: " + u.uri());
                Path parent = p.toAbsolutePath().getParent();
                if (parent != null) Files.createDirectories(parent);
                ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                if (ch.size() < size) {
                    ch.write(ByteBuffer.wrap(new byte[1]), size - 1); // sparse extend
                }
            } else {
                if (!Files.exists(p)) throw new DeviceException(IoError.OTHER, u.uri(),
                        "no such file (add ?size=SIZE to create it): " + p);
                ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
            long cap = ch.size() - ch.size() % bs;
            if (sizeOpt != null) cap = Math.min(cap, Sizes.parse(sizeOpt) - Sizes.parse(sizeOpt) % bs);
            if (cap <= 0) {
                ch.close();
                throw new DeviceException(IoError.OTHER, u.uri(), "file is smaller than one block: " + p);
            }
            return new FileBlockDevice(u.uri(), new Geometry(cap, bs, bs, MAX_TRANSFER, true, true, true), ch, p);
        } catch (NoSuchFileException e) {
            throw new DeviceException(IoError.OTHER, u.uri(), "no such file or directory: " + e.getFile());
        } catch (IOException e) {
            throw new DeviceException(IoError.OTHER, u.uri(), e.toString());
        }
    }

    public Path path() { return path; }

    static int errorOf(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left")) return IoError.NO_SPACE.code();
        if (m.contains("closed") || e instanceof java.nio.channels.ClosedChannelException) return IoError.CLOSED.code();
        return IoError.IO_ERROR.code();
    }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new ImmediateQueue(this, depth, handler) {
            @Override protected int doRead(long offset, MemorySegment b, int len) {
                try {
                    ByteBuffer bb = b.asSlice(0, len).asByteBuffer();
                    while (bb.hasRemaining()) {
                        int n = channel.read(bb, offset + bb.position());
                        if (n < 0) { // beyond EOF of a sparse tail: zeros
                            while (bb.hasRemaining()) bb.put((byte) 0);
                        }
                    }
                    return 0;
                } catch (IOException e) {
                    return errorOf(e);
                }
            }

            @Override protected int doWrite(long offset, MemorySegment b, int len) {
                try {
                    ByteBuffer bb = b.asSlice(0, len).asByteBuffer();
                    while (bb.hasRemaining()) channel.write(bb, offset + bb.position());
                    return 0;
                } catch (IOException e) {
                    return errorOf(e);
                }
            }

            @Override protected int doFlush() {
                try {
                    channel.force(false);
                    return 0;
                } catch (IOException e) {
                    return errorOf(e);
                }
            }

            @Override protected int doTrim(long offset, long len) {
                // portable: write zeros (the uring: backend punches holes)
                try {
                    ByteBuffer z = ByteBuffer.allocate((int) Math.min(len, 1 << 20));
                    long done = 0;
                    while (done < len) {
                        z.clear().limit((int) Math.min(z.capacity(), len - done));
                        while (z.hasRemaining()) done += channel.write(z, offset + done);
                    }
                    return 0;
                } catch (IOException e) {
                    return errorOf(e);
                }
            }
        };
    }

    @Override
    protected void release() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a channel we are dropping
        }
    }
}
