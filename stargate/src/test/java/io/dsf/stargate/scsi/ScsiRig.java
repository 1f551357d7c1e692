package io.dsf.stargate.scsi;

import io.dsf.stargate.api.VDisk;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Test rig: a target with one nexus and one reusable task, running commands synchronously (waiting
 * for asynchronous completions) with every buffer segment surrounded by guard bytes that are
 * checked after each command. Owned by the test thread.
 */
final class ScsiRig implements AutoCloseable {
    static final int GUARD = 64;
    static final byte GUARD_BYTE = (byte) 0xA5;

    final ScsiTarget target;
    final ScsiNexus nexus;
    final ScsiTask task;
    final Arena arena = Arena.ofShared();
    private final List<MemorySegment[]> guarded = new ArrayList<>(); // {outer, inner}
    private volatile CountDownLatch done;
    final AtomicInteger completions = new AtomicInteger();
    /** Internal errors a test provokes on purpose (RobustnessTest); every other test expects none. */
    long allowedInternalErrors;

    ScsiRig() { this(ScsiTargetConfig.defaults()); }

    ScsiRig(ScsiTargetConfig cfg) {
        target = new ScsiTarget(cfg);
        nexus = target.openNexus("test-initiator");
        task = nexus.newTask(256);
        task.callback(t -> { completions.incrementAndGet(); done.countDown(); });
    }

    /** Attaches a LUN and consumes the REPORTED LUNS DATA HAS CHANGED the rig's nexus gets for it (UnitAttentionTest covers it). */
    ScsiLun attach(int lun, VDisk disk) {
        ScsiLun l = target.attach(lun, disk);
        nexus.takeLunsChanged();
        return l;
    }

    /** The outcome of one command, copied out of the task. */
    record Result(int status, byte[] sense, long transferred, long residual, byte[] dataIn) {
        int key() { return ScsiSense.senseKey(sense, sense.length); }
        int asc() { return ScsiSense.ascAscq(sense, sense.length); }
        boolean good() { return status == ScsiStatus.GOOD; }
        int u8(int i) { return dataIn[i] & 0xFF; }
        int u16(int i) { return (u8(i) << 8) | u8(i + 1); }
        long u32(int i) { return ((long) u16(i) << 16) | u16(i + 2); }
        long u64(int i) { return (u32(i) << 32) | u32(i + 4); }
        String ascii(int from, int to) { return new String(dataIn, from, to - from, java.nio.charset.StandardCharsets.US_ASCII); }

        @Override
        public String toString() {
            return ScsiStatus.describe(status) + (sense.length > 0 ? " " + ScsiSense.describe(key(), asc()) : "")
                    + " transferred=" + transferred + " residual=" + residual;
        }
    }

    /** A native segment of {@code n} bytes with guard bytes on both sides, initially filled with {@code fill}. */
    MemorySegment buffer(long n, byte fill) {
        MemorySegment outer = arena.allocate(n + 2 * GUARD, 4096);
        outer.fill(GUARD_BYTE);
        MemorySegment inner = outer.asSlice(GUARD, n);
        inner.fill(fill);
        guarded.add(new MemorySegment[] {outer, inner});
        return inner;
    }

    /** A 4096-aligned native segment of {@code n} bytes with guards (the first guard is a whole page, so the data stays aligned). */
    MemorySegment alignedBuffer(long n, byte fill) {
        MemorySegment outer = arena.allocate(n + 2 * 4096, 4096);
        outer.fill(GUARD_BYTE);
        MemorySegment inner = outer.asSlice(4096, n);
        inner.fill(fill);
        guarded.add(new MemorySegment[] {outer, inner});
        return inner;
    }

    void checkGuards() {
        for (MemorySegment[] g : guarded) {
            MemorySegment outer = g[0], inner = g[1];
            long lead = inner.address() - outer.address();
            for (long i = 0; i < lead; i++) if (outer.get(ValueLayout.JAVA_BYTE, i) != GUARD_BYTE) fail("guard before a buffer overwritten at -" + (lead - i));
            for (long i = lead + inner.byteSize(); i < outer.byteSize(); i++)
                if (outer.get(ValueLayout.JAVA_BYTE, i) != GUARD_BYTE) fail("guard after a buffer overwritten at +" + (i - lead - inner.byteSize()));
        }
    }

    /** Runs a command with no data buffer. */
    Result none(int lun, byte[] cdb) { return exec(lun, cdb, ScsiTask.DATA_NONE); }

    /** Runs a data-in command with one {@code bufferLength}-byte buffer; returns the whole buffer as dataIn. */
    Result in(int lun, byte[] cdb, int bufferLength) {
        return exec(lun, cdb, ScsiTask.DATA_IN, buffer(bufferLength, (byte) 0x5A));
    }

    /** Runs a data-out command with {@code data} in one buffer, checking the target did not modify it. */
    Result out(int lun, byte[] cdb, byte[] data) {
        MemorySegment b = buffer(data.length, (byte) 0);
        b.copyFrom(MemorySegment.ofArray(data));
        Result r = exec(lun, cdb, ScsiTask.DATA_OUT, b);
        assertTrue(Arrays.equals(data, b.toArray(ValueLayout.JAVA_BYTE)), "target modified a data-out buffer");
        return r;
    }

    /** Runs a command over the given segments (each used whole); dataIn is their concatenation afterwards. */
    Result exec(int lun, byte[] cdb, int direction, MemorySegment... segments) {
        task.reset().lun(lun).cdb(cdb, 0, cdb.length).direction(direction).tag(0x1234);
        for (MemorySegment s : segments) assertTrue(task.addSegment(s, s.byteSize()));
        current = segments;
        return run();
    }

    /** Executes the prepared task and waits for its completion. */
    Result run() {
        done = new CountDownLatch(1);
        int before = completions.get();
        nexus.execute(task);
        try {
            if (!done.await(20, TimeUnit.SECONDS)) fail("command did not complete: " + task);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertEquals(before + 1, completions.get(), "exactly one completion");
        checkGuards();
        assertEquals(allowedInternalErrors, target.internalErrors(), () -> "internal error: " + target.lastInternalError());
        byte[] sense = Arrays.copyOf(task.senseBuffer(), task.senseLength());
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (MemorySegment s : current) data.writeBytes(s.toArray(ValueLayout.JAVA_BYTE));
        return new Result(task.status(), sense, task.transferred(), task.residual(), data.toByteArray());
    }

    private MemorySegment[] current = new MemorySegment[0];

    @Override
    public void close() {
        target.close();
        arena.close();
    }
}
