package io.dsf.blockstore.store.check;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.store.format.Crc;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.meta.BlockingBatch;
import io.dsf.blockstore.store.meta.MetaImage;
import io.dsf.blockstore.store.meta.Problem;
import io.dsf.blockstore.store.meta.StoreLoader;
import org.agrona.collections.Long2LongHashMap;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Checks a store read-only: loads it with {@link StoreLoader} (superblocks, generation table,
 * every metadata page in use, journal replay, unit/bitmap/object cross-checks), then reads every
 * allocated unit and verifies every written slice. Single use, on the calling thread.
 */
public final class StoreChecker {
    /** What a check found. */
    public record Report(StoreLoader.Result load, List<Problem> problems, long slicesVerified, long unitsRead, long lostSlices) {
        public boolean clean() { return problems.isEmpty(); }
    }

    private StoreChecker() {}

    /** Runs the whole check; device failures are reported as problems. */
    public static Report check(BlockDevice device) {
        StoreLoader.Result r = StoreLoader.load(device);
        List<Problem> problems = new ArrayList<>(r.problems);
        long slices = 0, units = 0, lost = 0;
        if (r.image != null && !r.fatal()) {
            long[] counts = verifyData(device, r.image, problems);
            slices = counts[0];
            units = counts[1];
            lost = counts[2];
        }
        return new Report(r, problems, slices, units, lost);
    }

    private static long[] verifyData(BlockDevice device, MetaImage img, List<Problem> problems) {
        Layout l = img.layout;
        Long2LongHashMap idOfHandle = new Long2LongHashMap(-1);
        for (int s = 0; s < l.maxObjects; s++) if (img.objHandle[s] != 0) idOfHandle.put(img.objHandle[s], img.objId[s]);
        int chunk = Math.min(l.unitSize, Math.max(l.sliceSize, device.geometry().maxTransfer() / l.sliceSize * l.sliceSize));
        chunk = Math.min(chunk, 1 << 20);
        int align = Math.max(Layout.PAGE, device.geometry().bufferAlignment());
        MemorySegment buf = device.allocateDma(chunk + align).asSlice(0, chunk);
        ByteBuffer view = buf.asByteBuffer();
        CRC32C crc = new CRC32C();
        byte[] scratch = new byte[12];
        long verified = 0, read = 0, lost = 0;
        int spu = l.slicesPerUnit, perChunk = chunk / l.sliceSize;
        try (BlockingBatch io = new BlockingBatch(device, 1)) {
            for (int u = 0; u < l.unitCount; u++) {
                long owner = img.unitOwner[u];
                int[] c = img.crcArray(u);
                if (owner == 0 || c == null) continue;
                long objId = idOfHandle.get(owner);
                int gen = c[spu];
                boolean armed = img.armState(u) != MetaImage.UNARMED;
                read++;
                for (int k = 0; k < spu; k++) if (c[k] == Crc.LOST) lost++;
                for (int first = 0; first < spu; first += perChunk) {
                    boolean any = false;
                    for (int k = 0; k < perChunk && !any; k++) any = c[first + k] != 0 && c[first + k] != Crc.LOST;
                    if (!any) continue;
                    long dev = l.unitOffset(u) + (long) first * l.sliceSize;
                    try {
                        io.read(dev, buf, chunk);
                        io.await();
                    } catch (RuntimeException e) {
                        problems.add(new Problem(Problem.Severity.DATA, "unit " + u + " @" + dev, "read failed: " + e.getMessage()));
                        continue;
                    }
                    for (int k = 0; k < perChunk; k++) {
                        int expect = c[first + k];
                        if (expect == 0 || expect == Crc.LOST) continue;
                        int p = k * l.sliceSize;
                        view.clear().position(p).limit(p + l.sliceSize);
                        verified++;
                        if (Crc.ofSlice(crc, view, u, first + k, gen, scratch) != expect) {
                            long objOff = (long) (img.unitIndex[u] & 0xFFFFFFFFL) * l.unitSize + (long) (first + k) * l.sliceSize;
                            String where = "object " + (objId == -1 ? "(handle " + owner + ")" : objId)
                                    + " offset " + objOff + " (unit " + u + " slice " + (first + k) + " @" + (dev + p) + ")";
                            problems.add(armed
                                    ? new Problem(Problem.Severity.REPAIRABLE, where, "checksum mismatch in a unit armed for overwrites when the store stopped: "
                                        + "a torn overwrite, which opening the store records as lost")
                                    : new Problem(Problem.Severity.DATA, where, "data slice checksum mismatch"));
                        }
                    }
                }
            }
        }
        return new long[]{verified, read, lost};
    }
}
