package io.dsf.frodo;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The layering of ARCHITECTURE.md: {@code virtq} (rings, guest memory, the device SPI) knows no
 * protocol and no device; {@code vhostuser} knows no device; devices know no test driver.
 */
class ImportDirectionTest {
    static final Map<String, List<String>> FORBIDDEN = Map.of(
            "virtq", List.of("io.dsf.frodo.vhostuser", "io.dsf.frodo.blk", "io.dsf.frodo.scsi", "io.dsf.frodo.driver"),
            "vhostuser", List.of("io.dsf.frodo.blk", "io.dsf.frodo.scsi", "io.dsf.frodo.driver"),
            "blk", List.of("io.dsf.frodo.driver", "io.dsf.frodo.scsi"),
            "scsi", List.of("io.dsf.frodo.driver", "io.dsf.frodo.blk"));

    @Test
    void packagesImportOnlyDownwards() throws IOException {
        Path root = Path.of(System.getProperty("dsf.project.dir", "."), "frodo-vhost/src/main/java/io/dsf/frodo");
        if (!Files.isDirectory(root)) root = Path.of("src/main/java/io/dsf/frodo");
        assertTrue(Files.isDirectory(root), "sources at " + root.toAbsolutePath());
        int checked = 0;
        for (Map.Entry<String, List<String>> e : FORBIDDEN.entrySet()) {
            Path pkg = root.resolve(e.getKey());
            if (!Files.isDirectory(pkg)) continue;
            try (Stream<Path> files = Files.list(pkg)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String src = Files.readString(f);
                    for (String bad : e.getValue()) assertFalse(src.contains("import " + bad + ".") || src.contains("import static " + bad + "."),
                            f.getFileName() + " in " + e.getKey() + " imports " + bad);
                    checked++;
                }
            }
        }
        assertTrue(checked > 10, "checked " + checked + " files");
    }
}
