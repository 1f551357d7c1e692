package io.dsf.node.cli;

import io.dsf.node.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dsf blockstore format|info|check} through the real command line. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BlockStoreCommandTest {
    @TempDir Path tmp;
    private StringWriter out = new StringWriter();
    private StringWriter err = new StringWriter();

    private int dsf(String... args) {
        out = new StringWriter();
        err = new StringWriter();
        return Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void formatInfoCheckAndABadSuperblockCopy() throws Exception {
        Path img = tmp.resolve("store.img");
        String create = "file:" + img + "?size=128m";
        String uri = "file:" + img;

        assertEquals(1, dsf("blockstore", "info", create), "a blank device holds no store");
        assertTrue(out.toString().contains("no BlockStore"), out::toString);

        assertEquals(0, dsf("blockstore", "format", create), err::toString);
        assertTrue(out.toString().contains("formatted"), out::toString);

        byte[] before = Files.readAllBytes(img);
        assertEquals(0, dsf("blockstore", "check", uri), out::toString);
        assertTrue(out.toString().contains("clean"), out::toString);
        assertEquals(0, dsf("blockstore", "info", uri), out::toString);
        assertArrayEquals(before, Files.readAllBytes(img), "info and check never write");

        assertEquals(2, dsf("blockstore", "format", uri), "an existing store is not destroyed without --force");
        assertTrue(err.toString().contains("--force"), err::toString);
        assertArrayEquals(before, Files.readAllBytes(img));

        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) { // one superblock copy damaged
            f.seek(40);
            f.write(new byte[] {1, 2, 3, 4});
        }
        assertEquals(1, dsf("blockstore", "check", uri), "one bad superblock copy is a problem");
        assertTrue(out.toString().contains("superblock copy A"), out::toString);

        assertEquals(0, dsf("blockstore", "format", "--force", uri), err::toString);
        assertEquals(0, dsf("blockstore", "check", uri), out::toString);
    }

    @Test
    void missingToolOrDeviceIsAUsageError() {
        assertEquals(2, dsf("blockstore"));
        assertEquals(2, dsf("blockstore", "check"));
    }
}
