package io.dsf.frodo.qemu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds (once, cached under {@code ~/.cache/dsf-guest/KERNELPKG_VERSION-bbVERSION/}) a tiny test
 * guest: Debian's {@code linux-image-amd64} kernel as an uncompressed {@code vmlinux} (QEMU boots it
 * through PVH, skipping in-guest decompression) and a busybox-static initramfs that loads the virtio
 * modules, runs {@code /work.sh} from an appended per-run archive with its output on ttyS1, and powers
 * off. Control path of tests; not thread safe (one builder per JVM is enough). Public (with
 * {@link #get}, {@link #missingTools}, {@link #workload}, {@link #vmlinux}, {@link #initrd}) for
 * other modules' tests through frodo-vhost's test-jar.
 */
public final class TestGuest {
    public static final String BEGIN = "@@DSF-BEGIN";
    public static final String END = "@@DSF-END";
    static final List<String> BASE_MODULES = List.of("virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_pci");
    static final List<String> BLK_MODULES = List.of("virtio_blk");
    static final List<String> SCSI_MODULES = List.of("crct10dif_common", "crct10dif_generic", "crc64", "crc64_rocksoft_generic",
            "scsi_common", "scsi_mod", "virtio_scsi", "crc-t10dif", "crc64-rocksoft", "t10-pi", "sd_mod");

    public final Path vmlinux;
    public final Path initrd;

    private TestGuest(Path vmlinux, Path initrd) {
        this.vmlinux = vmlinux;
        this.initrd = initrd;
    }

    /** Why a guest cannot be run here, or null when it can. */
    public static String missingTools() {
        if (which("qemu-system-x86_64") == null) return "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)";
        if (!Files.exists(Path.of("/usr/share/qemu/qboot.rom")) && !Files.exists(Path.of("/usr/share/seabios/bios.bin")))
            return "no QEMU firmware found";
        for (String t : new String[] {"apt-get", "apt-cache", "dpkg-deb", "xz"})
            if (which(t) == null) return t + " is not installed";
        if (!busyboxStatic()) return "busybox-static is not installed (apt-get install busybox-static)";
        return null;
    }

    private static boolean busyboxStatic() {
        try {
            String s = run(Path.of("/"), 30, "dpkg-query", "-W", "-f=${Status}", "busybox-static");
            return s.contains("install ok installed") && Files.isExecutable(Path.of("/bin/busybox"));
        } catch (IOException e) {
            return false;
        }
    }

    static String which(String tool) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin";
        for (String d : path.split(":")) {
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }

    /** The cached guest for the current Debian kernel package, built on first use. */
    public static synchronized TestGuest get() throws IOException {
        Path root = Path.of(System.getProperty("user.home"), ".cache", "dsf-guest");
        String pkg = kernelPackage();
        String kver = field(run(Path.of("/"), 60, "apt-cache", "policy", pkg), "Candidate:");
        String bb = run(Path.of("/"), 30, "dpkg-query", "-W", "-f=${Version}", "busybox-static").trim();
        Path dir = root.resolve((pkg + "_" + kver + "-bb" + bb).replaceAll("[^A-Za-z0-9._+-]", "_"));
        Path vmlinux = dir.resolve("vmlinux");
        Path initrd = dir.resolve("base.cpio.gz");
        if (Files.exists(vmlinux) && Files.exists(initrd)) return new TestGuest(vmlinux, initrd);
        Files.createDirectories(root);
        Path work = Files.createTempDirectory(root, "build-");
        try {
            run(work, 600, "apt-get", "download", pkg + "=" + kver);
            Path deb;
            try (Stream<Path> s = Files.list(work)) {
                deb = s.filter(p -> p.getFileName().toString().endsWith(".deb")).findFirst()
                        .orElseThrow(() -> new IOException("apt-get download " + pkg + " produced no .deb"));
            }
            Path x = work.resolve("x");
            run(work, 300, "dpkg-deb", "-x", deb.toString(), x.toString());
            Path vmlinuz;
            try (Stream<Path> s = Files.list(x.resolve("boot"))) {
                vmlinuz = s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).findFirst()
                        .orElseThrow(() -> new IOException("no vmlinuz in " + deb));
            }
            Path out = work.resolve("vmlinux");
            extractVmlinux(vmlinuz, out, work);
            byte[] initramfs = baseInitramfs(x);
            Files.createDirectories(dir);
            Files.write(work.resolve("base.cpio.gz"), initramfs);
            Files.move(out, vmlinux, StandardCopyOption.REPLACE_EXISTING);
            Files.move(work.resolve("base.cpio.gz"), initrd, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            deleteTree(work);
        }
        return new TestGuest(vmlinux, initrd);
    }

    private static String kernelPackage() throws IOException {
        String deps;
        try {
            deps = run(Path.of("/"), 60, "apt-cache", "depends", "linux-image-amd64");
        } catch (IOException e) {
            // no package lists yet (a fresh machine): fetch them once when we may
            if (!"root".equals(System.getProperty("user.name"))) throw e;
            run(Path.of("/"), 600, "apt-get", "update", "-qq");
            deps = run(Path.of("/"), 60, "apt-cache", "depends", "linux-image-amd64");
        }
        for (String line : deps.split("\n")) {
            String t = line.trim();
            if (t.startsWith("Depends:") && t.contains("linux-image-")) return t.substring("Depends:".length()).trim();
        }
        throw new IOException("apt-cache depends linux-image-amd64 names no kernel package (run apt-get update?):\n" + deps);
    }

    private static String field(String text, String key) throws IOException {
        for (String line : text.split("\n")) {
            String t = line.trim();
            if (t.startsWith(key)) return t.substring(key.length()).trim();
        }
        throw new IOException("no " + key + " in:\n" + text);
    }

    /** Finds the xz stream inside the bzImage and decompresses it (as the kernel's extract-vmlinux does). */
    private static void extractVmlinux(Path bzImage, Path out, Path work) throws IOException {
        byte[] img = Files.readAllBytes(bzImage);
        byte[] magic = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};
        for (int i = 0; i + magic.length <= img.length; i++) {
            boolean hit = true;
            for (int j = 0; j < magic.length && hit; j++) hit = img[i + j] == magic[j];
            if (!hit) continue;
            Path tail = work.resolve("tail.xz");
            Files.write(tail, java.util.Arrays.copyOfRange(img, i, img.length));
            ProcessBuilder pb = new ProcessBuilder("xz", "-dc", "--single-stream", tail.toString())
                    .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            try {
                if (!p.waitFor(300, TimeUnit.SECONDS)) { p.destroyForcibly(); continue; }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            byte[] head = new byte[4];
            try (InputStream in = Files.newInputStream(out)) {
                if (in.read(head) == 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F') return;
            }
        }
        throw new IOException("no xz-compressed ELF kernel found in " + bzImage);
    }

    private static byte[] baseInitramfs(Path extracted) throws IOException {
        Map<String, Path> modules = new HashMap<>();
        try (Stream<Path> s = Files.walk(extracted.resolve("lib/modules"))) {
            s.filter(p -> p.toString().endsWith(".ko")).forEach(p -> {
                String n = p.getFileName().toString();
                modules.putIfAbsent(n.substring(0, n.length() - 3).replace('-', '_'), p);
            });
        }
        Cpio c = new Cpio();
        c.dir("bin").dir("dev").dir("proc").dir("sys").dir("tmp").dir("mnt").dir("lib").dir("lib/modules");
        c.charDev("dev/console", 5, 1);
        c.file("bin/busybox", 0755, Files.readAllBytes(Path.of("/bin/busybox")));
        List<String> order = new ArrayList<>();
        for (List<String> group : List.of(BASE_MODULES, BLK_MODULES, SCSI_MODULES)) {
            for (String m : group) {
                Path ko = modules.get(m.replace('-', '_'));
                if (ko == null) continue; // built in
                c.file("lib/modules/" + m + ".ko", 0644, Files.readAllBytes(ko));
                order.add(m);
            }
        }
        c.file("modules.order", 0644, (String.join("\n", order) + "\n").getBytes(StandardCharsets.UTF_8));
        String init = """
                #!/bin/busybox sh
                /bin/busybox --install -s /bin
                export PATH=/bin
                mount -t proc proc /proc
                mount -t sysfs sys /sys
                mount -t devtmpfs dev /dev
                mount -t debugfs none /sys/kernel/debug
                for m in $(cat /modules.order); do insmod /lib/modules/$m.ko 2>/dev/null; done
                for i in $(seq 1 200); do [ -e /dev/ttyS1 ] && break; sleep 0.05; done
                if [ -f /work.sh ]; then sh /work.sh > /dev/ttyS1 2>&1; else echo "no /work.sh" > /dev/ttyS1; fi
                sync
                poweroff -f
                """;
        c.file("init", 0755, init.getBytes(StandardCharsets.UTF_8));
        return c.gzip();
    }

    /** A gzip'd cpio with {@code /work.sh} and extra files, to append to the base initramfs. */
    public static byte[] workload(String script, Map<String, byte[]> files) throws IOException {
        Cpio c = new Cpio();
        c.file("work.sh", 0755, script.getBytes(StandardCharsets.UTF_8));
        for (Map.Entry<String, byte[]> e : files.entrySet()) c.file(e.getKey(), 0644, e.getValue());
        return c.gzip();
    }

    static String run(Path dir, int timeoutSeconds, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        String s = out.toString(StandardCharsets.UTF_8);
        if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ":\n" + s);
        return s;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
