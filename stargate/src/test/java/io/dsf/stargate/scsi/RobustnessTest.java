package io.dsf.stargate.scsi;

import io.dsf.stargate.api.IoCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static io.dsf.stargate.scsi.Cdbs.*;
import static org.junit.jupiter.api.Assertions.*;

/** Frontend and vDisk misbehaviour ends commands cleanly; the package keeps its import rules. */
class RobustnessTest {
    private ScsiRig rig;
    private ScriptedVDisk disk;

    @BeforeEach
    void setUp() {
        rig = new ScsiRig(ScsiTargetConfig.defaults().withBounce(8192, 1));
        disk = new ScriptedVDisk("robust", 1 << 24, 8192, false);
        rig.attach(0, disk);
    }

    @AfterEach
    void tearDown() { rig.close(); }

    @Test
    void guestMemoryUnmappedWhileInFlightEndsWithHardwareError() {
        Arena guest = Arena.ofShared();
        MemorySegment a = guest.allocate(100), b = guest.allocate(8192 - 100);
        disk.hold = true;
        rig.task.reset().lun(0).cdb(rw10(false, 0, 2), 0, 10).direction(ScsiTask.DATA_IN);
        rig.task.addSegment(a, 100);
        rig.task.addSegment(b, 8192 - 100);
        int before = rig.completions.get();
        rig.nexus.execute(rig.task);
        guest.close(); // the VM went away
        disk.releaseAll();
        assertEquals(before + 1, rig.completions.get(), "completed, not hung");
        assertEquals(ScsiStatus.CHECK_CONDITION, rig.task.status());
        assertEquals(ScsiSense.HARDWARE_ERROR, rig.task.senseKey());
        assertEquals(1, rig.target.internalErrors(), "counted as a fault to look into");
        assertEquals(1, rig.target.bounceBuffersAvailable());
    }

    @Test
    void vDiskThatThrowsIsARefusal() {
        ScriptedVDisk throwing = new ScriptedVDisk("throws", 1 << 20) {
            @Override
            public int read(long offset, MemorySegment buf, int length, long tag, IoCallback cb) {
                throw new IllegalStateException("broken vDisk");
            }
        };
        rig.attach(1, throwing);
        rig.allowedInternalErrors = 1;
        ScsiRig.Result r = rig.in(1, rw10(false, 0, 1), 4096);
        assertCheck(r, ScsiSense.HARDWARE_ERROR, ScsiSense.INTERNAL_TARGET_FAILURE);
        assertEquals(1, rig.target.internalErrors());
    }

    @Test
    void programmingErrorsThrowAtTheFrontend() {
        MemorySegment ro = Arena.global().allocate(4096).asReadOnly();
        rig.task.reset().lun(0).cdb(rw10(false, 0, 1), 0, 10).direction(ScsiTask.DATA_IN);
        rig.task.addSegment(ro, 4096);
        assertThrows(IllegalArgumentException.class, () -> rig.nexus.execute(rig.task), "data-in into read-only memory");
        assertThrows(IllegalArgumentException.class, () -> rig.task.cdb(new byte[33], 0, 33));
        assertThrows(IllegalArgumentException.class, () -> rig.task.addSegment(ro, 4097));
        ScsiTask foreign = rig.target.openNexus("other").newTask(1);
        assertThrows(IllegalArgumentException.class, () -> rig.nexus.execute(foreign));
        // still usable
        assertTrue(rig.none(0, testUnitReady()).good());
        disk.hold = true;
        rig.task.reset().lun(0).cdb(rw10(false, 0, 1), 0, 10).direction(ScsiTask.DATA_IN);
        rig.task.addSegment(rig.buffer(4096, (byte) 0), 4096);
        rig.nexus.execute(rig.task);
        assertThrows(IllegalStateException.class, () -> rig.nexus.execute(rig.task), "still executing");
        assertThrows(IllegalStateException.class, () -> rig.task.reset(), "cannot refill while executing");
        disk.releaseAll();
        assertTrue(rig.task.status() == ScsiStatus.GOOD);
    }

    /** command(): the one-call fill the virtio-scsi frontend uses, with the checks of the single setters. */
    @Test
    void commandFillsTheTaskInOneCall() {
        byte[] pattern = new byte[8192];
        for (int i = 0; i < pattern.length; i++) pattern[i] = (byte) (i * 31 + 7);
        assertTrue(rig.out(0, rw10(true, 3, 2), pattern).good());
        MemorySegment area = Arena.global().allocate(64); // a request header in guest memory: CDB at byte 19, 32 bytes
        MemorySegment.copy(rw16(false, 3, 2), 0, area, java.lang.foreign.ValueLayout.JAVA_BYTE, 19, 16);
        MemorySegment one = rig.buffer(4096, (byte) 0), two = rig.buffer(4096, (byte) 0);
        rig.task.command(0, 77, area, 19, 32, ScsiTask.DATA_IN);
        rig.task.addSegment(one, 4096);
        rig.task.addSegment(two, 4096);
        int before = rig.completions.get();
        rig.nexus.execute(rig.task);
        assertEquals(before + 1, rig.completions.get());
        assertEquals(ScsiStatus.GOOD, rig.task.status());
        assertEquals(77, rig.task.tag());
        assertEquals(8192, rig.task.transferred());
        assertArrayEquals(java.util.Arrays.copyOfRange(pattern, 0, 4096), one.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        assertArrayEquals(java.util.Arrays.copyOfRange(pattern, 4096, 8192), two.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        // a refill forgets the old scatter list: one 4 KiB segment now, read in one vDisk request
        rig.task.command(0, 78, area, 19, 32, ScsiTask.DATA_IN);
        assertEquals(0, rig.task.segmentCount());
        assertEquals(0, rig.task.bufferLength());
        MemorySegment whole = rig.buffer(8192, (byte) 0);
        rig.task.addSegment(whole, 8192);
        disk.calls.clear();
        rig.nexus.execute(rig.task);
        assertEquals(ScsiStatus.GOOD, rig.task.status());
        assertEquals(1, disk.calls.size(), "one vDisk request for a transfer one segment holds");
        assertArrayEquals(pattern, whole.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        // a refused one-request transfer ends the command at once (no completion will come)
        disk.refuseNext = io.dsf.stargate.api.VDiskStatus.BUSY;
        rig.task.command(0, 79, area, 19, 32, ScsiTask.DATA_IN);
        rig.task.addSegment(rig.buffer(8192, (byte) 0), 8192);
        before = rig.completions.get();
        rig.nexus.execute(rig.task);
        assertEquals(before + 1, rig.completions.get());
        assertEquals(ScsiStatus.TASK_SET_FULL, rig.task.status());
        // the setters' checks
        assertThrows(IllegalArgumentException.class, () -> rig.task.command(0, 1, area, 19, 33, ScsiTask.DATA_IN));
        assertThrows(IllegalArgumentException.class, () -> rig.task.command(0, 1, area, 19, 32, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> rig.task.command(0, 1, area, 40, 32, ScsiTask.DATA_IN));
        rig.task.command(0, 80, area, 19, 32, ScsiTask.DATA_IN);
        rig.task.addSegment(Arena.global().allocate(8192).asReadOnly(), 8192);
        assertThrows(IllegalArgumentException.class, () -> rig.nexus.execute(rig.task), "data-in into read-only memory");
        rig.task.command(0, 81, area, 19, 32, ScsiTask.DATA_IN);
        rig.task.addSegment(rig.buffer(8192, (byte) 0), 8192);
        disk.hold = true;
        rig.nexus.execute(rig.task);
        assertThrows(IllegalStateException.class, () -> rig.task.command(0, 1, area, 19, 32, ScsiTask.DATA_IN), "cannot refill while executing");
        disk.releaseAll();
        assertEquals(ScsiStatus.GOOD, rig.task.status());
    }

    @Test
    void fullScatterListIsReported() {
        ScsiTask small = rig.nexus.newTask(2);
        MemorySegment s = rig.buffer(4096, (byte) 0);
        assertTrue(small.addSegment(s, 10));
        assertTrue(small.addSegment(s, 10));
        assertFalse(small.addSegment(s, 10));
        assertEquals(20, small.bufferLength());
    }

    @Test
    void shortCdbs() {
        assertCheck(rig.none(0, of(0x00, 0, 0)), ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
        assertCheck(rig.none(0, of(0x28, 0, 0, 0, 0, 0)), ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
        assertCheck(rig.none(0, of(0x28)), ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
        // a 32-byte CDB area (as virtio-scsi carries it) is fine: bytes past the command's length are ignored
        byte[] wide = new byte[32];
        System.arraycopy(rw10(false, 0, 1), 0, wide, 0, 10);
        wide[20] = (byte) 0xFF;
        assertTrue(rig.in(0, wide, 4096).good());
    }

    /** The target knows nothing of its transports: only the vDisk API, its own package and the JDK. */
    @Test
    void importsStayInsideTheTarget() throws Exception {
        Path dir = Path.of(System.getProperty("dsf.project.dir", ".."), "stargate/src/main/java/io/dsf/stargate/scsi");
        if (!Files.isDirectory(dir)) dir = Path.of("src/main/java/io/dsf/stargate/scsi");
        assertTrue(Files.isDirectory(dir), "sources at " + dir.toAbsolutePath());
        Pattern imp = Pattern.compile("^import\\s+(static\\s+)?([\\w.]+)", Pattern.MULTILINE);
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) { files = s.filter(p -> p.toString().endsWith(".java")).toList(); }
        assertTrue(files.size() > 10);
        for (Path f : files) {
            String src = Files.readString(f);
            Matcher m = imp.matcher(src);
            while (m.find()) {
                String name = m.group(2);
                assertTrue(name.startsWith("java.") || name.startsWith("io.dsf.stargate.api."),
                        f.getFileName() + " imports " + name);
            }
            assertFalse(src.toLowerCase().contains("virtio_") || src.contains("io.dsf.frodo"), f.getFileName() + " mentions a transport");
        }
        String info = Files.readString(dir.resolve("package-info.java"));
        assertTrue(info.contains("thread safe"), "package-info states the threading model");
    }
}
