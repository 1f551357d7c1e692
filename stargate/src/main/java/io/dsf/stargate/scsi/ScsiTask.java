package io.dsf.stargate.scsi;

import io.dsf.stargate.api.IoCallback;
import io.dsf.stargate.api.VDisk;
import io.dsf.stargate.api.VDiskStatus;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One SCSI command, preallocated by a frontend and reused for command after command (no allocation
 * per command): the LUN, the CDB (up to 32 bytes), the data buffer as a scatter list of
 * (segment, length) pairs with its direction, a tag and a completion callback; and, once complete,
 * the SCSI status, sense data and the number of bytes transferred.
 *
 * <p>Threading: while idle the task belongs to its frontend, which fills it on one thread and hands
 * it to {@link ScsiNexus#execute}; from then until {@link ScsiTaskCallback#onTaskComplete} is
 * entered it belongs to the target (whose vDisk completions may run on other threads); the results
 * are read by the frontend inside or after the callback. Not thread safe otherwise.
 *
 * <p>Data movement: READ and WRITE whose scatter segments are each a whole number of logical blocks
 * go to the vDisk as they are, one vDisk request per segment (split further at the vDisk's
 * {@link VDisk#maxTransfer()}), all in flight at once; the command completes once when the last one
 * does, and the first failure decides its status. Any other layout, and VERIFY, compare and
 * replicated WRITE SAME, go through a bounce buffer of the target's pool in rounds of one buffer.
 */
public final class ScsiTask implements IoCallback {
    /** The longest CDB a task holds. */
    public static final int MAX_CDB_LENGTH = 32;
    /** No data phase. */
    public static final int DATA_NONE = 0;
    /** Data flows from the target into the buffer (READ, INQUIRY...). */
    public static final int DATA_IN = 1;
    /** Data flows from the buffer to the target (WRITE, UNMAP parameter list...). */
    public static final int DATA_OUT = 2;

    static final int SCRATCH_SIZE = 4096;

    // task states: IDLE -> RUNNING -> IDLE; a task management function moves RUNNING -> CLAIMED -> ABORTING
    static final int IDLE = 0, RUNNING = 1, CLAIMED = 2, ABORTING = 3;

    // block jobs
    static final int J_READ = 1, J_WRITE = 2, J_VERIFY = 3, J_COMPARE = 4, J_COMPARE_SAME = 5, J_WRITE_SAME = 6, J_OTHER = 7;
    static final int OP_FLUSH = 1, OP_UNMAP = 2, OP_ZEROES = 3;

    private static final VarHandle STATE, PENDING, IO_STATUS;
    /** Little-endian longs over the CDB array: a 32-byte CDB arrives from memory as four loads and four stores. */
    private static final VarHandle CDB_LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfLong LE_LONG =
            java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final MemorySegment ZEROS = Arena.global().allocate(4096, 4096);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(ScsiTask.class, "state", int.class);
            PENDING = l.findVarHandle(ScsiTask.class, "pending", int.class);
            IO_STATUS = l.findVarHandle(ScsiTask.class, "ioStatus", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final ScsiNexus nexus;
    final ScsiTarget target;

    // ---- request: written by the frontend while idle
    private int lun;
    final byte[] cdb = new byte[MAX_CDB_LENGTH];
    private int cdbLength;
    private final MemorySegment[] segments;
    private final long[] segmentLengths;
    private int segmentCount;
    private int readOnlySegments;
    private long bufferLength;
    private int direction;
    private long tag;
    private ScsiTaskCallback callback;
    private Object attachment;

    // ---- result: written by the target before the callback
    private int status;
    private final byte[] sense = new byte[ScsiSense.MAX_LENGTH];
    private int senseLength;
    private long transferred;

    // ---- execution state
    @SuppressWarnings("unused") private volatile int state;
    long seq;
    ScsiTmf tmf;
    ScsiTask nextWaiter;     // bounce pool FIFO link, guarded by the pool's monitor
    int bounceId = -1;
    final byte[] scratch = new byte[SCRATCH_SIZE];
    final MemorySegment scratchSegment = MemorySegment.ofArray(scratch);
    private int ccKey, ccAsc, ccSks, plainStatus;
    private boolean ccInfoValid;
    private long ccInfo;

    private int jobKind;
    private boolean jobIsWrite;
    private VDisk jobDisk;
    private long jobOffset, jobLength, jobDone, jobData, jobTransferred, miscompare;
    private int pieceMax, blockSize, roundLen;
    private MemorySegment bounceBuffer;
    /** The job is one vDisk request without a pending count: its completion ends the job (submitting thread writes it before the submit). */
    private boolean single;
    @SuppressWarnings("unused") private volatile int pending;
    @SuppressWarnings("unused") private volatile int ioStatus;

    ScsiTask(ScsiNexus nexus, int maxSegments) {
        if (maxSegments <= 0) throw new IllegalArgumentException("maxSegments must be positive: " + maxSegments);
        this.nexus = nexus;
        this.target = nexus.target;
        this.segments = new MemorySegment[maxSegments];
        this.segmentLengths = new long[maxSegments];
    }

    // =====================================================================================
    // frontend side: fill while idle

    /** Clears the request (CDB, buffer, direction, tag); keeps the callback and attachment. Returns this. */
    public ScsiTask reset() {
        checkIdle();
        for (int i = 0; i < segmentCount; i++) segments[i] = null;
        segmentCount = 0;
        readOnlySegments = 0;
        bufferLength = 0;
        direction = DATA_NONE;
        cdbLength = 0;
        lun = -1;
        tag = 0;
        return this;
    }

    /** The LUN number addressed (see {@link ScsiLunAddress}); -1 or any unknown number reaches no logical unit. */
    public ScsiTask lun(int lun) { checkIdle(); this.lun = lun; return this; }

    /** Copies a CDB of {@code length} bytes (1..32); the rest of the CDB area reads as zeros. */
    public ScsiTask cdb(byte[] src, int offset, int length) {
        checkIdle();
        checkCdbLength(length);
        System.arraycopy(src, offset, cdb, 0, length);
        java.util.Arrays.fill(cdb, length, MAX_CDB_LENGTH, (byte) 0);
        cdbLength = length;
        return this;
    }

    /**
     * Copies a CDB of {@code length} bytes (1..32) from memory (e.g. a virtio-scsi request header,
     * read in place in guest memory: each byte is read once, so a concurrent writer cannot make the
     * target see two different CDBs).
     */
    public ScsiTask cdb(MemorySegment src, long offset, int length) {
        checkIdle();
        checkCdbLength(length);
        copyCdb(src, offset, length);
        return this;
    }

    private void copyCdb(MemorySegment src, long offset, int length) {
        if (length == MAX_CDB_LENGTH) { // virtio-scsi always sends 32 bytes: four 8-byte moves, bounds-checked by src
            byte[] c = cdb;
            CDB_LONGS.set(c, 0, src.get(LE_LONG, offset));
            CDB_LONGS.set(c, 8, src.get(LE_LONG, offset + 8));
            CDB_LONGS.set(c, 16, src.get(LE_LONG, offset + 16));
            CDB_LONGS.set(c, 24, src.get(LE_LONG, offset + 24));
        } else {
            MemorySegment.copy(src, java.lang.foreign.ValueLayout.JAVA_BYTE, offset, cdb, 0, length);
            java.util.Arrays.fill(cdb, length, MAX_CDB_LENGTH, (byte) 0);
        }
        cdbLength = length;
    }

    /**
     * The frontend's hot path in one call: {@link #reset()}, then {@link #lun(int)}, {@link #tag(long)},
     * {@link #cdb(MemorySegment, long, int)} and {@link #direction(int)}, with one idle check instead of
     * one per setter. Same checks, same exceptions. Returns this.
     */
    public ScsiTask command(int lun, long tag, MemorySegment cdbSrc, long cdbOffset, int cdbLength, int direction) {
        checkIdle();
        checkCdbLength(cdbLength);
        if (direction < DATA_NONE || direction > DATA_OUT) throw new IllegalArgumentException("direction " + direction);
        copyCdb(cdbSrc, cdbOffset, cdbLength);
        // the old segment references stay until overwritten (nothing reads past segmentCount): a
        // reference store costs a GC barrier, and addSegment skips storing the same segment again
        segmentCount = 0;
        readOnlySegments = 0;
        bufferLength = 0;
        this.direction = direction;
        this.lun = lun;
        this.tag = tag;
        return this;
    }

    /** Sets the data direction: {@link #DATA_NONE}, {@link #DATA_IN} or {@link #DATA_OUT}. */
    public ScsiTask direction(int direction) {
        checkIdle();
        if (direction < DATA_NONE || direction > DATA_OUT) throw new IllegalArgumentException("direction " + direction);
        this.direction = direction;
        return this;
    }

    /**
     * Appends a buffer segment of which the first {@code length} bytes belong to this command.
     * The target reads data-out segments and writes data-in segments, never beyond {@code length},
     * and never writes a segment of a {@link #DATA_OUT} task.
     * @return false when the scatter list is full (the frontend fails the request)
     */
    public boolean addSegment(MemorySegment segment, long length) {
        checkIdle();
        if (length < 0 || length > segment.byteSize())
            throw new IllegalArgumentException("segment length " + length + " outside 0.." + segment.byteSize());
        if (segmentCount == segments.length) return false;
        if (segment.isReadOnly()) readOnlySegments++; // begin() refuses it for a data-in task
        if (segments[segmentCount] != segment) segments[segmentCount] = segment; // the same page slice again: no barrier
        segmentLengths[segmentCount++] = length;
        bufferLength += length;
        return true;
    }

    /** The frontend's identifier of this command (virtio-scsi id, iSCSI initiator task tag); task management finds tasks by it. */
    public ScsiTask tag(long tag) { checkIdle(); this.tag = tag; return this; }

    public ScsiTask callback(ScsiTaskCallback callback) { checkIdle(); this.callback = callback; return this; }

    /** Frontend context carried along untouched (e.g. the virtqueue slot of the request). */
    public ScsiTask attachment(Object attachment) { this.attachment = attachment; return this; }

    // =====================================================================================
    // frontend side: read

    public int lun() { return lun; }
    public long tag() { return tag; }
    public Object attachment() { return attachment; }
    public ScsiNexus nexus() { return nexus; }
    public int cdbLength() { return cdbLength; }
    public int cdbByte(int i) { return cdb[i] & 0xFF; }
    public int direction() { return direction; }
    public int segmentCount() { return segmentCount; }
    public int maxSegments() { return segments.length; }
    /** Total bytes of the scatter list. */
    public long bufferLength() { return bufferLength; }

    /** The SCSI status ({@link ScsiStatus}) of the finished command. */
    public int status() { return status; }

    /** True when a task management function aborted the command (status {@link ScsiStatus#TASK_ABORTED}). */
    public boolean aborted() { return status == ScsiStatus.TASK_ABORTED; }

    /** Bytes of sense data (0 unless CHECK CONDITION); fixed format, response code 70h. */
    public int senseLength() { return senseLength; }

    /** Sense data byte {@code i} ({@code i < senseLength()}). */
    public int senseByte(int i) { return sense[i] & 0xFF; }

    /** Copies the sense data (at most {@code max} bytes) to memory; returns the bytes copied. */
    public int copySense(MemorySegment dst, long offset, int max) {
        int n = Math.min(max, senseLength);
        if (n > 0) MemorySegment.copy(sense, 0, dst, java.lang.foreign.ValueLayout.JAVA_BYTE, offset, n);
        return n;
    }

    /** Sense data as an array the task keeps (valid until the task is reused; do not modify). */
    public byte[] senseBuffer() { return sense; }

    /** The sense key of a CHECK CONDITION, or -1. */
    public int senseKey() { return ScsiSense.senseKey(sense, senseLength); }

    /** {@code (ASC << 8) | ASCQ} of a CHECK CONDITION, or -1. */
    public int ascAscq() { return ScsiSense.ascAscq(sense, senseLength); }

    /** Bytes moved: written into a data-in buffer, or taken from a data-out buffer. */
    public long transferred() { return transferred; }

    /** {@link #bufferLength()} minus {@link #transferred()}: what virtio-scsi reports as {@code resid}. */
    public long residual() { return bufferLength - transferred; }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("ScsiTask[lun=").append(lun).append(" tag=").append(tag).append(" cdb=");
        for (int i = 0; i < cdbLength; i++) sb.append(String.format("%02x", cdb[i]));
        sb.append(' ').append(ScsiStatus.describe(status));
        if (senseLength > 0) sb.append(' ').append(ScsiSense.describe(senseKey(), ascAscq()));
        return sb.append(" transferred=").append(transferred).append(']').toString();
    }

    private void checkIdle() {
        if ((int) STATE.getVolatile(this) != IDLE) throw new IllegalStateException("task is executing");
    }

    private static void checkCdbLength(int length) {
        if (length < 1 || length > MAX_CDB_LENGTH) throw new IllegalArgumentException("CDB length " + length + " outside 1..32");
    }

    // =====================================================================================
    // target side: lifecycle

    /** Starts a command on the submitting thread; publishes the request to task management scanners. */
    void begin() {
        if (callback == null) throw new IllegalStateException("no callback set");
        if (direction == DATA_IN && readOnlySegments != 0) throw new IllegalArgumentException("read-only segment in a data-in buffer");
        // only the frontend's thread moves an idle task (a task management function claims RUNNING ones
        // only): a check and a release store at the end, no CAS; executing a task from two threads at
        // once is a frontend bug this does not promise to catch
        if ((int) STATE.getVolatile(this) != IDLE) throw new IllegalStateException("task is already executing");
        seq++;
        status = ScsiStatus.GOOD;
        senseLength = 0;
        transferred = 0;
        ccKey = -1;
        plainStatus = ScsiStatus.GOOD;
        bounceId = -1;
        bounceBuffer = null;
        jobKind = 0;
        jobDisk = null;
        single = false;
        miscompare = -1;
        // whoever reads these next (a vDisk completion, a task management function that claims the
        // task) was handed a request submitted after them or reads RUNNING below: release stores suffice
        IO_STATUS.setRelease(this, 0);
        PENDING.setRelease(this, 0);
        STATE.setRelease(this, RUNNING);
    }

    int state() { return (int) STATE.getVolatile(this); }

    boolean aborting() { return (int) STATE.getVolatile(this) == ABORTING; }

    /** Bytes the target may write: the buffer when the task is data-in, else none. */
    long inCapacity() { return direction == DATA_IN ? bufferLength : 0; }

    /** Bytes the target may read: the buffer when the task is data-out, else none. */
    long outCapacity() { return direction == DATA_OUT ? bufferLength : 0; }

    void checkCondition(int key, int ascAscq) { checkCondition(key, ascAscq, false, 0, ScsiSense.NO_SKS); }

    void checkCondition(int key, int ascAscq, boolean infoValid, long info, int sks) {
        ccKey = key;
        ccAsc = ascAscq;
        ccInfoValid = infoValid;
        ccInfo = info;
        ccSks = sks;
    }

    /** Ends the command with CHECK CONDITION and the given sense. */
    void fail(int key, int ascAscq) {
        checkCondition(key, ascAscq);
        finish();
    }

    /** Ends the command with ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at a byte (and bit, if {@code bit >= 0}). */
    void failCdbField(int byteIndex, int bit) {
        checkCondition(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB, false, 0, ScsiSense.fieldPointer(true, byteIndex, bit));
        finish();
    }

    /** Ends the command with ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST pointing at a byte. */
    void failParameterField(int byteIndex) {
        checkCondition(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_PARAMETER_LIST, false, 0, ScsiSense.fieldPointer(false, byteIndex, -1));
        finish();
    }

    /** Ends the command with GOOD status and {@code bytes} transferred. */
    void good(long bytes) {
        transferred = bytes;
        finish();
    }

    /**
     * Copies {@code length} bytes of the scratch area into the data-in buffer, truncated to the
     * allocation length and to the buffer; records the bytes transferred and completes GOOD.
     */
    void dataInAndFinish(int length, long allocationLength) {
        long n = Math.min(length, Math.min(allocationLength, inCapacity()));
        if (n > 0) copyToScatter(scratchSegment, 0, 0, n);
        good(n);
    }

    /** Copies up to {@code length} bytes of the data-out buffer at {@code offset} into the scratch area at {@code at}; returns the bytes copied. */
    int dataOutToScratch(long offset, int at, int length) {
        long n = Math.min(length, Math.min(SCRATCH_SIZE - at, outCapacity() - offset));
        if (n <= 0) return 0;
        copyFromScatter(offset, scratchSegment, at, n);
        return (int) n;
    }

    /**
     * Finishes the command exactly once: settles the state against a concurrent abort, fills in
     * status and sense, runs the frontend's callback, then tells an aborting task management
     * function. Nothing touches the task after the callback is entered.
     */
    void finish() {
        int s;
        for (;;) {
            s = (int) STATE.getVolatile(this);
            if (s == CLAIMED) { Thread.onSpinWait(); continue; }   // a TMF is between two instructions
            if (s == IDLE) { target.internalErrors.increment(); return; } // finished twice: a bug, never a second callback
            if (STATE.compareAndSet(this, s, IDLE)) break;
        }
        ScsiTmf m = null;
        if (s == ABORTING) {
            m = tmf;
            tmf = null;
            status = ScsiStatus.TASK_ABORTED;
            senseLength = 0;
            transferred = 0;
        } else if (ccKey >= 0) {
            status = ScsiStatus.CHECK_CONDITION;
            senseLength = ScsiSense.writeFixed(sense, ccKey, ccAsc, ccInfoValid, ccInfo, ccSks);
            transferred = 0;
        } else {
            status = plainStatus;
            if (status != ScsiStatus.GOOD) transferred = 0;
        }
        jobDisk = null;
        try {
            callback.onTaskComplete(this);
        } catch (RuntimeException e) {
            target.callbackErrors.increment();
        }
        if (m != null) m.taskDone();
    }

    /** Last resort after a bug threw out of command processing: completes unless I/O is still in flight. */
    void internalFailure(long atSeq) {
        if (seq != atSeq || (int) STATE.getVolatile(this) == IDLE) return;
        if (jobKind != 0) return; // a job started: its completions own the task now
        fail(ScsiSense.HARDWARE_ERROR, ScsiSense.INTERNAL_TARGET_FAILURE);
    }

    // =====================================================================================
    // task management

    /**
     * Claims this task for an abort when it runs on {@code lunFilter} (any LUN when negative) and,
     * if {@code matchTag}, carries {@code tagFilter}. A claimed task completes as TASK ABORTED once
     * every vDisk request it has in flight has completed; no new request is submitted for it.
     */
    boolean claimForAbort(ScsiTmf m, int lunFilter, boolean matchTag, long tagFilter) {
        if (!STATE.compareAndSet(this, RUNNING, CLAIMED)) return false;
        if ((lunFilter >= 0 && lun != lunFilter) || (matchTag && tag != tagFilter)) {
            STATE.setVolatile(this, RUNNING);
            return false;
        }
        tmf = m;
        m.addPending();
        STATE.setVolatile(this, ABORTING);
        if (target.bounce.cancel(this)) finish(); // it waited for a bounce buffer: nothing in flight
        return true;
    }

    /** True when the task is executing on {@code lunFilter} (any when negative) with the tag, if matched. */
    boolean runningMatches(int lunFilter, boolean matchTag, long tagFilter) {
        int s = (int) STATE.getVolatile(this);
        if (s == IDLE) return false;
        return (lunFilter < 0 || lun == lunFilter) && (!matchTag || tag == tagFilter);
    }

    // =====================================================================================
    // block jobs

    /**
     * Starts a transfer of {@code diskLength} bytes at byte {@code offset} of the LUN's vDisk;
     * {@code dataLength} bytes of it move to or from the scatter list (fewer than {@code diskLength}
     * for a READ into a short buffer); {@code transferredOnSuccess} is reported when it succeeds.
     */
    void startTransfer(ScsiLun l, int kind, long offset, long diskLength, long dataLength, long transferredOnSuccess) {
        if ((kind == J_READ || kind == J_WRITE) && dataLength == diskLength && segmentCount > 0 && diskLength <= segmentLengths[0]) {
            VDisk d = l.disk();
            int bs = l.blockSize();
            if (diskLength <= (Math.max(d.maxTransfer(), bs) & -bs)) {
                startSingle(d, kind, offset, diskLength, transferredOnSuccess);
                return;
            }
        }
        prepareJob(l, kind, offset, diskLength);
        jobData = dataLength;
        jobTransferred = transferredOnSuccess;
        if ((kind == J_READ || kind == J_WRITE) && dataLength == diskLength && segmentsWholeBlocks(dataLength)) {
            submitDirect();
        } else {
            startBounce();
        }
    }

    /**
     * The common READ or WRITE: one vDisk request straight from (into) the first segment, which holds
     * it all (whole blocks: {@code length} is), and no larger than the vDisk's maximum transfer. No
     * pending count (the one completion ends the job) and no reference stores (each costs a GC
     * barrier): {@link #jobDisk} stays unset, nothing after the submit needs it.
     */
    private void startSingle(VDisk d, int kind, long offset, long length, long transferredOnSuccess) {
        jobKind = kind;
        jobIsWrite = kind == J_WRITE;
        jobOffset = offset;
        jobLength = length;
        jobData = length;
        jobDone = 0;
        jobTransferred = transferredOnSuccess;
        if (aborting()) { endJob(); return; }
        single = true; // after a successful submit the task is the completion's
        int st;
        try {
            st = kind == J_WRITE ? d.write(offset, segments[0], (int) length, seq, this) : d.read(offset, segments[0], (int) length, seq, this);
        } catch (RuntimeException e) {
            st = vdiskThrew(e);
        }
        if (st != VDiskStatus.OK) { // refused: no completion will come
            single = false;
            recordIo(st);
            endJob();
        }
    }

    /** Starts one flush, unmap or write-zeroes request. */
    void startSingle(ScsiLun l, int op, long offset, long length, long transferredOnSuccess) {
        prepareJob(l, J_OTHER, offset, length);
        jobTransferred = transferredOnSuccess;
        PENDING.setVolatile(this, 2);
        int st;
        try {
            st = switch (op) {
                case OP_FLUSH -> jobDisk.flush(seq, this);
                case OP_UNMAP -> jobDisk.unmap(offset, length, seq, this);
                default -> jobDisk.writeZeroes(offset, length, seq, this);
            };
        } catch (RuntimeException e) {
            st = vdiskThrew(e);
        }
        if (st != VDiskStatus.OK) {
            recordIo(st);
            addPending(-1);
        }
        if ((int) PENDING.getAndAdd(this, -1) == 1) endJob();
    }

    /** Starts one vDisk unmap per descriptor (validated) in the scratch area: {@code count} descriptors from byte 8. */
    void startUnmapList(ScsiLun l, int count, long transferredOnSuccess) {
        prepareJob(l, J_OTHER, 0, 0);
        jobTransferred = transferredOnSuccess;
        int shift = l.blockShift();
        PENDING.setVolatile(this, 1);
        for (int i = 0; i < count; i++) {
            if (aborting()) break;
            int p = 8 + 16 * i;
            long lba = Cdb.u64(scratch, p);
            long blocks = Cdb.u32(scratch, p + 8);
            if (blocks == 0) continue;
            addPending(1);
            int st;
            try {
                st = jobDisk.unmap(lba << shift, blocks << shift, seq, this);
            } catch (RuntimeException e) {
                st = vdiskThrew(e);
            }
            if (st != VDiskStatus.OK) {
                recordIo(st);
                addPending(-1);
                break;
            }
        }
        if ((int) PENDING.getAndAdd(this, -1) == 1) endJob();
    }

    private void prepareJob(ScsiLun l, int kind, long offset, long length) {
        jobKind = kind;
        jobIsWrite = kind == J_WRITE || kind == J_WRITE_SAME;
        jobDisk = l.disk();
        blockSize = l.blockSize();
        jobOffset = offset;
        jobLength = length;
        jobDone = 0;
        miscompare = -1;
        int mt = Math.max(jobDisk.maxTransfer(), blockSize);
        pieceMax = mt & -blockSize; // block sizes are powers of two (ScsiLun checks)
    }

    /** True when each segment's share of the first {@code length} bytes is a whole number of blocks. */
    private boolean segmentsWholeBlocks(long length) {
        long remaining = length;
        for (int i = 0; i < segmentCount && remaining > 0; i++) {
            long use = Math.min(segmentLengths[i], remaining);
            if ((use & (blockSize - 1)) != 0) return false;
            remaining -= use;
        }
        return remaining == 0;
    }

    /** The zero-copy path: one vDisk request per segment (or per maxTransfer piece of it), all in flight together. */
    private void submitDirect() {
        PENDING.setVolatile(this, 1); // the submission guard: completions cannot finish the job before it drops
        long remaining = jobLength, pos = jobOffset;
        boolean read = jobKind == J_READ;
        outer:
        for (int i = 0; i < segmentCount && remaining > 0; i++) {
            MemorySegment seg = segments[i];
            long use = Math.min(segmentLengths[i], remaining);
            for (long off = 0; off < use; ) {
                if (aborting()) break outer;
                int n = (int) Math.min(pieceMax, use - off);
                MemorySegment buf = off == 0 ? seg : seg.asSlice(off);
                addPending(1);
                int st = submitIo(!read, pos, buf, n);
                if (st != VDiskStatus.OK) {
                    recordIo(st);
                    addPending(-1);
                    break outer;
                }
                off += n;
                pos += n;
                remaining -= n;
            }
        }
        if ((int) PENDING.getAndAdd(this, -1) == 1) endJob();
    }

    private void startBounce() {
        int id = target.bounce.acquireOrWait(this);
        if (id < 0) return; // resumed by bounceGranted() on the thread that frees a buffer, or finished by an abort
        bounceId = id;
        bounceReady();
    }

    /** Runs on the thread that released a bounce buffer this task waited for (now {@link #bounceId}). */
    void bounceGranted() { bounceReady(); }

    private void bounceReady() {
        bounceBuffer = target.bounce.buffer(bounceId);
        if (jobKind == J_WRITE_SAME && !aborting()) {
            // the pattern: one block from the data-out buffer, doubled until it fills what one round writes
            long cap = Math.min(bounceBuffer.byteSize(), jobLength);
            try {
                copyFromScatter(0, bounceBuffer, 0, blockSize);
                for (long filled = blockSize; filled < cap; ) {
                    long n = Math.min(filled, cap - filled);
                    MemorySegment.copy(bounceBuffer, 0, bounceBuffer, filled, n);
                    filled += n;
                }
            } catch (RuntimeException e) {
                bufferFailed(e);
            }
        }
        runRounds();
    }

    /** Runs copy rounds through the bounce buffer until the job ends; a round whose I/O completes elsewhere continues there. */
    private void runRounds() {
        for (;;) {
            if ((int) IO_STATUS.getVolatile(this) != 0 || miscompare >= 0 || aborting() || jobDone >= jobLength) {
                endJob();
                return;
            }
            int len = (int) Math.min(bounceBuffer.byteSize(), jobLength - jobDone);
            roundLen = len;
            long pos = jobOffset + jobDone;
            if (jobKind == J_WRITE) {
                try {
                    copyFromScatter(jobDone, bounceBuffer, 0, len);
                } catch (RuntimeException e) {
                    bufferFailed(e);
                    continue;
                }
            }
            PENDING.setVolatile(this, 1);
            for (int off = 0; off < len; ) {
                int n = Math.min(pieceMax, len - off);
                MemorySegment buf = off == 0 ? bounceBuffer : bounceBuffer.asSlice(off);
                addPending(1);
                int st = submitIo(jobIsWrite, pos + off, buf, n);
                if (st != VDiskStatus.OK) {
                    recordIo(st);
                    addPending(-1);
                    break;
                }
                off += n;
            }
            if ((int) PENDING.getAndAdd(this, -1) != 1) return;
            roundDone();
        }
    }

    private void roundDone() {
        int len = roundLen;
        if ((int) IO_STATUS.getVolatile(this) == 0 && !aborting()) {
            try {
                copyOutRound(len);
            } catch (RuntimeException e) {
                bufferFailed(e);
            }
        }
        jobDone += len;
    }

    /** Finishes a round on the data: copy a READ out, compare a VERIFY; the other kinds have nothing to do. */
    private void copyOutRound(int len) {
        switch (jobKind) {
            case J_READ -> {
                long n = Math.min(len, jobData - jobDone);
                if (n > 0) copyToScatter(bounceBuffer, 0, jobDone, n);
            }
            case J_COMPARE -> {
                long mm = mismatchScatter(jobDone, bounceBuffer, 0, len);
                if (mm >= 0) miscompare = jobDone + mm;
            }
            case J_COMPARE_SAME -> {
                for (int b = 0; b < len; b += blockSize) {
                    long mm = mismatchScatter(0, bounceBuffer, b, blockSize);
                    if (mm >= 0) { miscompare = jobDone + b + mm; break; }
                }
            }
            default -> { }
        }
    }

    /** Submits one read or write; a vDisk that throws (a contract breach) counts as a refused request. */
    private int submitIo(boolean write, long pos, MemorySegment buf, int n) {
        try {
            return write ? jobDisk.write(pos, buf, n, seq, this) : jobDisk.read(pos, buf, n, seq, this);
        } catch (RuntimeException e) {
            return vdiskThrew(e);
        }
    }

    private int vdiskThrew(RuntimeException e) {
        target.internalError(e);
        return VDiskStatus.IO_ERROR;
    }

    /**
     * A frontend buffer could not be accessed (its memory was unmapped while the command ran): the
     * command ends with HARDWARE ERROR instead of leaving the task hanging.
     */
    private void bufferFailed(RuntimeException e) {
        target.internalError(e);
        recordIo(VDiskStatus.IO_ERROR);
    }

    /** A vDisk request of this task completed (any thread). */
    @Override
    public void onComplete(long tag, int status) {
        if (tag != seq) { // a completion for an earlier command: the vDisk broke its contract
            target.staleCompletions.increment();
            return;
        }
        if (status != VDiskStatus.OK) recordIo(status);
        if (single) { // the job's only request
            single = false;
            endJob();
            return;
        }
        if ((int) PENDING.getAndAdd(this, -1) != 1) return;
        if (bounceBuffer != null) {
            roundDone();
            runRounds();
        } else {
            endJob();
        }
    }

    private void recordIo(int st) { boolean first = (boolean) IO_STATUS.compareAndSet(this, 0, st); }

    /** Adds to the count of requests in flight (exact VarHandle types: no adaptation on the hot path); returns the previous count. */
    private int addPending(int delta) { return (int) PENDING.getAndAdd(this, delta); }

    private void endJob() {
        ScsiTask next = null;
        if (bounceId >= 0) {
            int id = bounceId;
            bounceId = -1;
            bounceBuffer = null;
            next = target.bounce.release(id);
        }
        int io = (int) IO_STATUS.getVolatile(this);
        if (io != VDiskStatus.OK) {
            mapIoStatus(io);
        } else if (miscompare >= 0) {
            checkCondition(ScsiSense.MISCOMPARE, ScsiSense.MISCOMPARE_DURING_VERIFY, true, miscompare, ScsiSense.NO_SKS);
        } else {
            transferred = jobTransferred;
        }
        finish();
        if (next != null) next.bounceGranted();
    }

    private void mapIoStatus(int io) {
        switch (io) {
            case VDiskStatus.BUSY -> plainStatus = ScsiStatus.TASK_SET_FULL;
            case VDiskStatus.OUT_OF_RANGE -> checkCondition(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LBA_OUT_OF_RANGE);
            case VDiskStatus.NO_SPACE -> checkCondition(ScsiSense.DATA_PROTECT, ScsiSense.SPACE_ALLOCATION_FAILED_WRITE_PROTECT);
            // stored data failed its checksum with no good copy: unreadable, whichever command ran into it
            case VDiskStatus.MEDIUM_ERROR -> checkCondition(ScsiSense.MEDIUM_ERROR, ScsiSense.UNRECOVERED_READ_ERROR);
            case VDiskStatus.READ_ONLY -> checkCondition(ScsiSense.DATA_PROTECT, ScsiSense.WRITE_PROTECTED);
            case VDiskStatus.CLOSED -> checkCondition(ScsiSense.NOT_READY, ScsiSense.LOGICAL_UNIT_NOT_READY);
            case VDiskStatus.ABORTED -> checkCondition(ScsiSense.ABORTED_COMMAND, ScsiSense.NO_ADDITIONAL_SENSE);
            case VDiskStatus.INVALID -> checkCondition(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
            default -> checkCondition(ScsiSense.HARDWARE_ERROR, ScsiSense.INTERNAL_TARGET_FAILURE);
        }
    }

    // =====================================================================================
    // scatter list access (bounded by each segment's declared length)

    /** Copies {@code length} bytes from {@code src} into the scatter list at logical offset {@code at}. */
    void copyToScatter(MemorySegment src, long srcOffset, long at, long length) {
        long base = 0;
        for (int i = 0; i < segmentCount && length > 0; i++) {
            long segLen = segmentLengths[i];
            if (at < base + segLen) {
                long in = at - base;
                long n = Math.min(segLen - in, length);
                MemorySegment.copy(src, srcOffset, segments[i], in, n);
                srcOffset += n;
                at += n;
                length -= n;
            }
            base += segLen;
        }
    }

    /** Copies {@code length} bytes of the scatter list at logical offset {@code at} into {@code dst}. */
    void copyFromScatter(long at, MemorySegment dst, long dstOffset, long length) {
        long base = 0;
        for (int i = 0; i < segmentCount && length > 0; i++) {
            long segLen = segmentLengths[i];
            if (at < base + segLen) {
                long in = at - base;
                long n = Math.min(segLen - in, length);
                MemorySegment.copy(segments[i], in, dst, dstOffset, n);
                dstOffset += n;
                at += n;
                length -= n;
            }
            base += segLen;
        }
    }

    /** Offset (relative to {@code at}) of the first byte where the scatter list and {@code other} differ, or -1. */
    long mismatchScatter(long at, MemorySegment other, long otherOffset, long length) {
        long base = 0, done = 0;
        for (int i = 0; i < segmentCount && done < length; i++) {
            long segLen = segmentLengths[i];
            if (at < base + segLen) {
                long in = at - base;
                long n = Math.min(segLen - in, length - done);
                long mm = MemorySegment.mismatch(segments[i], in, in + n, other, otherOffset + done, otherOffset + done + n);
                if (mm >= 0) return done + mm;
                done += n;
                at += n;
            }
            base += segLen;
        }
        return -1;
    }

    /** True when {@code length} bytes of the scatter list at {@code at} are all zero. */
    boolean scatterIsZero(long at, long length) {
        for (long done = 0; done < length; ) {
            long n = Math.min(ZEROS.byteSize(), length - done);
            if (mismatchScatter(at + done, ZEROS, 0, n) >= 0) return false;
            done += n;
        }
        return true;
    }
}
