package io.dsf.blockstore.spi;

import io.dsf.blockstore.backend.delay.DelayBlockDevice;
import io.dsf.blockstore.backend.faulty.FaultyBlockDevice;
import io.dsf.blockstore.backend.file.FileBlockDevice;
import io.dsf.blockstore.backend.mem.MemBlockDevice;
import io.dsf.blockstore.backend.nulldev.NullBlockDevice;
import io.dsf.blockstore.backend.spdk.SpdkBlockDevice;
import io.dsf.blockstore.backend.uring.UringBlockDevice;
import io.dsf.blockstore.io.DeviceUri;

/**
 * Opens a {@link BlockDevice} by URI:
 * <pre>
 *   uring:/dev/nvme0n1 | uring:/path/file[?sqpoll&amp;iopoll&amp;size=SIZE]
 *   spdk:trtype:PCIe traddr:0000:04:00.0 | spdk:trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:...
 *   file:/path[?size=SIZE]   mem:SIZE   null:SIZE
 *   faulty:MODE:URI          delay:USEC:URI
 * </pre>
 * Thread safe.
 */
public final class BlockDevices {
    public static final String SCHEMES = "uring:PATH, spdk:TRID, file:PATH[?size=SIZE], mem:SIZE, null:SIZE, faulty:MODE:URI, delay:USEC:URI";

    private BlockDevices() {}

    /**
     * @throws IllegalArgumentException for a malformed URI (message says what is expected)
     * @throws DeviceException          when the device cannot be opened
     */
    public static BlockDevice open(String uri) {
        DeviceUri u = DeviceUri.parse(uri);
        return switch (u.scheme()) {
            case "mem" -> MemBlockDevice.open(u);
            case "null" -> NullBlockDevice.open(u);
            case "file" -> FileBlockDevice.open(u);
            case "uring" -> UringBlockDevice.open(u);
            case "spdk" -> SpdkBlockDevice.open(u);
            case "faulty" -> FaultyBlockDevice.open(u);
            case "delay" -> DelayBlockDevice.open(u);
            default -> throw new IllegalArgumentException("unknown device scheme '" + u.scheme() + "' in '" + uri + "' (known: " + SCHEMES + ")");
        };
    }
}
