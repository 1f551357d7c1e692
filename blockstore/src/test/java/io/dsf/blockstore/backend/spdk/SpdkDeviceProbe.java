package io.dsf.blockstore.backend.spdk;

import io.dsf.blockstore.io.SyncIo;
import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.BlockDevices;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;

import java.lang.foreign.MemorySegment;

/**
 * Child-JVM side of {@link SpdkProcessTest}: scenarios that need their own process (a different
 * environment, or a controller left to time out). Prints {@code CHECK key=value} lines.
 */
public final class SpdkDeviceProbe {
    private SpdkDeviceProbe() {}

    static void check(String key, Object value) {
        System.out.println("CHECK " + key + "=" + String.valueOf(value).replace('\n', ' '));
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "open" -> {
                try (BlockDevice d = BlockDevices.open(args[1])) {
                    check("opened", d.geometry().capacity() > 0);
                } catch (DeviceException e) {
                    check("error", e.error());
                    check("message", e.getMessage());
                }
            }
            case "keep-alive" -> keepAlive(args[1]);
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    static void keepAlive(String uri) throws InterruptedException {
        BlockDevice d = BlockDevices.open(uri);
        MemorySegment buf = d.allocateDma(4096);
        try (SyncIo io = new SyncIo(d, 5_000_000_000L)) {
            io.write(0, buf, 4096);
            check("first", 0);
        }
        int[] status = {Integer.MIN_VALUE};
        DeviceQueue q = d.openQueue(4, (tag, st) -> status[0] = st);
        check("inflight-submit", q.write(4096, buf, 4096, 1));
        // time passing is the point: the emulator's keep-alive timeout (300 ms) must expire unless the
        // environment thread polls the admin queue
        Thread.sleep(900);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (status[0] == Integer.MIN_VALUE && System.nanoTime() < deadline) q.await(4, 1_000_000);
        check("inflight-status", IoError.describe(status[0]));
        int st = q.write(8192, buf, 4096, 2);
        check("after-submit", IoError.describe(st));
        if (st == 0) while (q.inFlight() > 0) q.await(4, 1_000_000);
        try (DeviceQueue q2 = d.openQueue(2, (t, s) -> { })) {
            check("open-queue", "ok");
        } catch (DeviceException e) {
            check("open-queue", e.error());
        }
        q.close();
        d.close();
        try (BlockDevice again = BlockDevices.open(uri); SyncIo io = new SyncIo(again, 5_000_000_000L)) {
            MemorySegment b = again.allocateDma(4096);
            check("reopen-write", IoError.describe(io.tryRun(1, 0, b, 4096)));
        }
    }
}
