package io.dsf.blockstore.backend.mem;

import io.dsf.blockstore.io.AbstractBlockDevice;
import io.dsf.blockstore.io.DeviceUri;
import io.dsf.blockstore.io.ImmediateQueue;
import io.dsf.blockstore.io.Sizes;
import io.dsf.blockstore.spi.CompletionHandler;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.Geometry;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * {@code mem:SIZE[?bs=512]}: a thin in-memory device. Memory is taken in 1 MiB chunks of native
 * memory (outside the Java heap, page aligned) on first write, so a large {@code SIZE} costs nothing until used; never-written and trimmed blocks read
 * as zeros; data is "durable" at write completion (no volatile cache). Thread safe; each queue is
 * owned by its thread.
 */
public final class MemBlockDevice extends AbstractBlockDevice {
    static final int CHUNK_SHIFT = 20;
    static final int CHUNK = 1 << CHUNK_SHIFT;
    private final AtomicReferenceArray<MemorySegment> chunks;

    private MemBlockDevice(String uri, Geometry g) {
        super(uri, g);
        long n = (g.capacity() + CHUNK - 1) >>> CHUNK_SHIFT;
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("mem device too large: " + uri);
        chunks = new AtomicReferenceArray<>((int) n);
    }

    public static MemBlockDevice open(DeviceUri u) {
        u.allowOnly("bs");
        int bs = u.blockSize(512);
        long size = Sizes.parse(u.path());
        size -= size % bs;
        if (size <= 0) throw new IllegalArgumentException("mem: size must be at least one block: " + u.uri());
        return new MemBlockDevice(u.uri(), new Geometry(size, bs, bs, 1 << 20, true, true, false));
    }

    private MemorySegment chunkForWrite(int i) {
        MemorySegment c = chunks.get(i);
        if (c == null) {
            // native memory, freed once unreachable (a trimmed chunk a reader still copies from stays
            // valid): heap chunks were humongous objects whose first-touch allocation of a device's
            // gigabytes drove G1 into 100 ms pauses in the middle of benchmark runs
            MemorySegment fresh = Arena.ofAuto().allocate(CHUNK, 4096);
            c = chunks.compareAndExchange(i, null, fresh);
            if (c == null) c = fresh;
        }
        return c;
    }

    void copyIn(long offset, MemorySegment src, int length) {
        long done = 0;
        while (done < length) {
            long pos = offset + done;
            int off = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(length - done, CHUNK - off);
            MemorySegment.copy(src, done, chunkForWrite((int) (pos >>> CHUNK_SHIFT)), off, n);
            done += n;
        }
    }

    void copyOut(long offset, MemorySegment dst, int length) {
        long done = 0;
        while (done < length) {
            long pos = offset + done;
            int off = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(length - done, CHUNK - off);
            MemorySegment c = chunks.get((int) (pos >>> CHUNK_SHIFT));
            if (c == null) io.dsf.blockstore.io.Zero.fill(dst, done, n);
            else MemorySegment.copy(c, off, dst, done, n);
            done += n;
        }
    }

    void zero(long offset, long length) {
        long done = 0;
        while (done < length) {
            long pos = offset + done;
            int off = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(length - done, CHUNK - off);
            int idx = (int) (pos >>> CHUNK_SHIFT);
            if (off == 0 && n == CHUNK) chunks.set(idx, null);
            else {
                MemorySegment c = chunks.get(idx);
                if (c != null) io.dsf.blockstore.io.Zero.fill(c, off, n);
            }
            done += n;
        }
    }

    /** Chunk {@code i} (null: never written, or trimmed whole); for tests. */
    MemorySegment chunk(int i) { return chunks.get(i); }

    /** Bytes of memory currently backing written chunks. */
    public long residentBytes() {
        long r = 0;
        for (int i = 0; i < chunks.length(); i++) if (chunks.get(i) != null) r += CHUNK;
        return r;
    }

    @Override
    protected DeviceQueue newQueue(int depth, CompletionHandler handler) {
        return new ImmediateQueue(this, depth, handler) {
            @Override protected int doRead(long offset, MemorySegment b, int len) { copyOut(offset, b, len); return 0; }
            @Override protected int doWrite(long offset, MemorySegment b, int len) { copyIn(offset, b, len); return 0; }
            @Override protected int doFlush() { return 0; }
            @Override protected int doTrim(long offset, long len) { zero(offset, len); return 0; }
        };
    }

    @Override
    protected void release() {
        for (int i = 0; i < chunks.length(); i++) chunks.set(i, null);
    }
}
