package io.dsf.node.qemu;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guest side of the end-to-end tests: busybox shell fragments that write a 1 MiB random pattern
 * with O_DIRECT into eight regions of a 64 MiB disk (block sizes 4 KiB to 1 MiB, half from each vCPU)
 * and 32 single 4 KiB blocks scattered over another area, and that read everything back with
 * O_DIRECT and print checksums; and the checks of what they printed. Stateless after construction.
 */
final class GuestDisk {
    static final long DISK = 64L << 20;
    static final int PATTERN = 1 << 20;
    static final int SMALL = 32;
    /** A 4 KiB block past every data area, for workload state (e.g. the boot phase). */
    static final long MARK_BLOCK = (63L << 20) / 4096;

    /** name, dd block size, byte offset, CPU mask. */
    record Region(String name, int bs, long offset, int cpu) {}

    static final List<Region> REGIONS = List.of(
            new Region("a", 4096, 1L << 20, 1),
            new Region("b", 16384, (5L << 20) + (64 << 10), 2),
            new Region("c", 65536, (9L << 20) + (192 << 10), 1),
            new Region("d", 131072, (17L << 20) + (128 << 10), 2),
            new Region("e", 262144, (23L << 20) + (256 << 10), 1),
            new Region("f", 524288, (31L << 20) + (512 << 10), 2),
            new Region("g", 1 << 20, 40L << 20, 1),
            new Region("h", 1 << 20, 48L << 20, 2));

    final byte[] pattern;
    final String md5;
    private final String[] blockMd5 = new String[SMALL];

    GuestDisk() throws Exception {
        pattern = new byte[PATTERN];
        new Random(0x5eed).nextBytes(pattern);
        MessageDigest d = MessageDigest.getInstance("MD5");
        md5 = HexFormat.of().formatHex(d.digest(pattern));
        for (int k = 0; k < SMALL; k++) {
            d.reset();
            d.update(pattern, patternBlock(k) * 4096, 4096);
            blockMd5[k] = HexFormat.of().formatHex(d.digest());
        }
    }

    Map<String, byte[]> files() { return Map.of("pattern.bin", pattern); }

    /** 4 KiB block of the disk that small write {@code k} goes to (56 MiB .. 62 MiB). */
    static long smallBlock(int k) { return (56L << 20) / 4096 + k * 47L; }

    /** Which 4 KiB block of the pattern small write {@code k} carries. */
    static int patternBlock(int k) { return (k * 7 + 3) % (PATTERN / 4096); }

    /** Sectors (512 B) the writes of {@link #write} move. */
    static long writtenSectors() { return ((long) REGIONS.size() * PATTERN + SMALL * 4096L) / 512; }

    /** Shell: waits for block device {@code dev} (e.g. sda), prints its logical block size and hardware queues. */
    static String probe(String dev) {
        return """
                for i in $(seq 1 200); do [ -b /dev/DEV ] && break; sleep 0.05; done
                if [ ! -b /dev/DEV ]; then echo "error no-device DEV"; ls /dev; echo @@DSF-END; exit 0; fi
                echo "lbs $(cat /sys/block/DEV/queue/logical_block_size)"
                echo "hwq $(ls -d /sys/block/DEV/mq/* | wc -l)"
                """.replace("DEV", dev);
    }

    /** Shell: every write, both vCPUs at once, with O_DIRECT; prints {@code written SECTORS} (from the device's stat). */
    static String write(String dev) {
        StringBuilder s = new StringBuilder();
        s.append("set -- $(cat /sys/block/DEV/stat); w0=$7\n".replace("DEV", dev));
        for (int pair = 0; pair < REGIONS.size(); pair += 2) {
            for (int k = pair; k < pair + 2; k++) {
                Region r = REGIONS.get(k);
                s.append(String.format("taskset %d dd if=/pattern.bin of=/dev/%s bs=%d seek=%d oflag=direct conv=notrunc 2>/tmp/e%s || echo \"error write %s $(cat /tmp/e%s)\" &%n",
                        r.cpu, dev, r.bs, r.offset / r.bs, r.name, r.name, r.name));
            }
            s.append("wait\n");
        }
        for (int cpu = 1; cpu <= 2; cpu++) {
            s.append("(\n");
            for (int k = cpu - 1; k < SMALL; k += 2) {
                s.append(String.format("taskset %d dd if=/pattern.bin of=/dev/%s bs=4096 skip=%d seek=%d count=1 oflag=direct conv=notrunc 2>/dev/null || echo \"error small %d\"%n",
                        cpu, dev, patternBlock(k), smallBlock(k), k));
            }
            s.append(") &\n");
        }
        s.append("wait\n");
        s.append("set -- $(cat /sys/block/DEV/stat); echo \"written $(( $7 - w0 ))\"\n".replace("DEV", dev));
        return s.toString();
    }

    /** Shell: reads everything back with O_DIRECT; prints {@code sumTAG NAME MD5} per region and {@code badTAG N} for the small blocks. */
    String verify(String dev, String tag) {
        StringBuilder s = new StringBuilder();
        for (Region r : REGIONS) {
            s.append(String.format("echo \"sum%s %s $(taskset %d dd if=/dev/%s bs=%d skip=%d count=%d iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)\"%n",
                    tag, r.name, r.cpu, dev, r.bs, r.offset / r.bs, PATTERN / r.bs));
        }
        s.append("bad=0\n");
        for (int k = 0; k < SMALL; k++) {
            s.append(String.format("[ \"$(dd if=/dev/%s bs=4096 skip=%d count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)\" = %s ] || bad=$((bad+1))%n",
                    dev, smallBlock(k), blockMd5[k]));
        }
        s.append("echo \"bad").append(tag).append(" $bad\"\n");
        return s.toString();
    }

    /** Shell: per hardware queue of {@code dev}, how often the block layer ran it (debugfs {@code hctxN/run}): {@code hctx NAME RUNS}. */
    static String hctx(String dev) {
        return "for h in /sys/kernel/debug/block/DEV/hctx*; do echo \"hctx ${h##*/} $(cat $h/run 2>/dev/null)\"; done\n"
                .replace("DEV", dev);
    }

    /** Checks a {@link #hctx} output: two hardware queues, each run at least once. */
    static void assertBothQueuesRan(String hctx, String res) {
        assertNotNull(hctx, res);
        List<String> l = hctx.lines().toList();
        assertEquals(2, l.size(), "two hardware queues: " + res);
        for (String q : l) assertTrue(q.matches("hctx[01] [1-9][0-9]*"), "the guest ran hardware queue " + q + ": " + res);
    }

    static String ioErrors(String key) {
        return "echo \"" + key + " $(dmesg | grep -c -i -E 'i/o error|blk_update_request|critical')\"\n";
    }

    /** Checks a {@link #verify} output: every region holds the pattern, no small block differs. */
    void assertVerified(Map<String, String> r, String tag, String res) {
        String sums = r.get("sum" + tag);
        assertNotNull(sums, "no sum" + tag + " lines: " + res);
        for (Region g : REGIONS) assertTrue(sums.contains(g.name + " " + md5), "region " + g.name + " reads back the pattern (" + tag + "): " + res);
        assertEquals("0", r.get("bad" + tag), "scattered 4 KiB blocks read back (" + tag + "): " + res);
    }
}
