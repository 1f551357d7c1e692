package io.dsf.stargate.scsi;

import io.dsf.stargate.api.VDisk;

import java.util.Arrays;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A SCSI target device: logical units backed by {@link VDisk}s, executing CDBs (SPC-4 / SBC-3
 * subset listed in stargate/SCSI.md) for any number of I_T nexuses. It knows nothing of the
 * transport: virtio-scsi and iSCSI frontends fill {@link ScsiTask}s and read back status, sense and
 * residual.
 *
 * <p>Threading: thread safe. Command execution touches no lock and allocates nothing in steady
 * state (the LUN table is an atomic array, unit attentions are atomic bits read once per command);
 * attaching, detaching and opening nexuses are control-plane operations serialised on the target.
 * The bounce-buffer pool is shared by the whole target and guarded by its own monitor, taken only
 * by commands that cannot go zero-copy.
 */
public final class ScsiTarget implements AutoCloseable {
    private final ScsiTargetConfig config;
    private final AtomicReferenceArray<ScsiLun> luns = new AtomicReferenceArray<>(ScsiLunAddress.MAX_LUNS);
    private volatile int[] lunList = new int[0];
    private final CopyOnWriteArrayList<ScsiNexus> nexuses = new CopyOnWriteArrayList<>();
    private final boolean[] nexusIdTaken;
    final BouncePool bounce;

    /** Exceptions caught inside command processing (bugs); each such command ended HARDWARE ERROR if it could. */
    final LongAdder internalErrors = new LongAdder();
    /** vDisk completions that did not belong to the task's current command (a vDisk broke its contract). */
    final LongAdder staleCompletions = new LongAdder();
    /** Exceptions thrown by frontend callbacks (they must not throw). */
    final LongAdder callbackErrors = new LongAdder();
    private volatile RuntimeException lastInternalError;

    public ScsiTarget(ScsiTargetConfig config) {
        this.config = config;
        this.nexusIdTaken = new boolean[config.maxNexuses()];
        this.bounce = new BouncePool(config.bounceBufferSize(), config.bounceBuffers());
    }

    public ScsiTarget() { this(ScsiTargetConfig.defaults()); }

    public ScsiTargetConfig config() { return config; }

    // =====================================================================================
    // control plane

    /**
     * Attaches {@code disk} as LUN {@code lun}. Every nexus gets REPORTED LUNS DATA HAS CHANGED
     * (3F/0E) on its next command. Control plane.
     */
    public synchronized ScsiLun attach(int lun, VDisk disk) {
        if (lun < 0 || lun >= ScsiLunAddress.MAX_LUNS) throw new IllegalArgumentException("LUN out of range: " + lun);
        if (luns.get(lun) != null) throw new IllegalStateException("LUN " + lun + " is already attached");
        if (config.bounceBufferSize() % disk.blockSize() != 0)
            throw new IllegalArgumentException("bounce buffer size is not a multiple of the block size " + disk.blockSize());
        ScsiLun l = new ScsiLun(lun, disk, config.vendor(), config.maxNexuses());
        luns.set(lun, l);
        int[] a = Arrays.copyOf(lunList, lunList.length + 1);
        a[a.length - 1] = lun;
        Arrays.sort(a);
        lunList = a;
        for (ScsiNexus n : nexuses) n.raiseLunsChanged();
        return l;
    }

    /**
     * Detaches a LUN; returns it, or null when none was attached. Commands already executing on it
     * run to completion against its vDisk; new ones get LOGICAL UNIT NOT SUPPORTED. Control plane.
     */
    public synchronized ScsiLun detach(int lun) {
        if (lun < 0 || lun >= ScsiLunAddress.MAX_LUNS) return null;
        ScsiLun l = luns.getAndSet(lun, null);
        if (l == null) return null;
        lunList = Arrays.stream(lunList).filter(x -> x != lun).toArray();
        for (ScsiNexus n : nexuses) n.raiseLunsChanged();
        return l;
    }

    /** Tells every nexus that a LUN's capacity changed (2A/09 on its next command there). Control plane. */
    public void capacityChanged(int lun) {
        ScsiLun l = lun(lun);
        if (l == null) return;
        for (ScsiNexus n : nexuses) l.raiseUnitAttention(n.id, ScsiLun.UA_CAPACITY);
    }

    /** The LUN attached at {@code lun}, or null. */
    public ScsiLun lun(int lun) {
        return lun >= 0 && lun < ScsiLunAddress.MAX_LUNS ? luns.get(lun) : null;
    }

    /** The attached LUN numbers, ascending. */
    public int[] lunNumbers() { return lunList.clone(); }

    int[] lunList() { return lunList; }

    /** Opens an I_T nexus for one initiator (a virtio-scsi device, an iSCSI session). Control plane. */
    public synchronized ScsiNexus openNexus(String initiatorName) {
        int id = -1;
        for (int i = 0; i < nexusIdTaken.length; i++) if (!nexusIdTaken[i]) { id = i; break; }
        if (id < 0) throw new IllegalStateException("too many nexuses open (" + nexusIdTaken.length + ")");
        nexusIdTaken[id] = true;
        for (int l : lunList) luns.get(l).clearUnitAttentions(id); // lunList changes only under this monitor
        ScsiNexus n = new ScsiNexus(this, id, initiatorName);
        nexuses.add(n);
        return n;
    }

    synchronized void closeNexus(ScsiNexus n) {
        if (nexuses.remove(n)) nexusIdTaken[n.id] = false;
    }

    /** Exceptions caught inside command processing since start (each one is a bug). */
    public long internalErrors() { return internalErrors.sum(); }

    /** The last exception caught inside command processing, for diagnosis. */
    public RuntimeException lastInternalError() { return lastInternalError; }

    /** vDisk completions that arrived for a command no longer running (a vDisk contract breach). */
    public long staleCompletions() { return staleCompletions.sum(); }

    /** Exceptions thrown by frontend completion callbacks. */
    public long callbackErrors() { return callbackErrors.sum(); }

    /** Free bounce buffers right now (diagnostics and tests). */
    public int bounceBuffersAvailable() { return bounce.available(); }

    /** How many commands had to wait for a bounce buffer. */
    public long bounceWaits() { return bounce.waits(); }

    /** Releases the bounce pool; every task must be idle. */
    @Override
    public void close() { bounce.close(); }

    // =====================================================================================
    // commands

    void execute(ScsiTask t) {
        t.begin();
        long seq = t.seq;
        try {
            dispatch(t);
        } catch (RuntimeException e) {
            internalError(e);
            t.internalFailure(seq);
        }
    }

    void internalError(RuntimeException e) {
        internalErrors.increment();
        lastInternalError = e;
    }

    private void dispatch(ScsiTask t) {
        byte[] cdb = t.cdb;
        int op = cdb[0] & 0xFF;
        ScsiLun lun = lun(t.lun());
        if (lun != null && plainReadWrite(t, op, cdb) && !unitAttentionPending(t, lun)) {
            SbcCommands.readWrite(this, t, lun, op);
            return;
        }
        boolean lunless = op == CommandTable.INQUIRY || op == CommandTable.REPORT_LUNS || op == CommandTable.REQUEST_SENSE;
        if (lun == null && !lunless) {
            t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.LOGICAL_UNIT_NOT_SUPPORTED);
            return;
        }
        CommandTable.Entry e = CommandTable.byOpcode(op);
        if (e == null) {
            t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_COMMAND_OPERATION_CODE);
            return;
        }
        if (t.cdbLength() < 6) {
            t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (e.hasServiceAction()) {
            e = CommandTable.find(op, cdb[1] & 0x1F);
            if (e == null) {
                t.failCdbField(1, 4);
                return;
            }
        }
        if (t.cdbLength() < e.cdbLength()) { // the frontend delivered fewer bytes than the opcode's CDB has
            t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_FIELD_IN_CDB);
            return;
        }
        int bad = CommandTable.firstUnusedBit(e, cdb);
        if (bad >= 0) {
            t.failCdbField(bad >>> 3, bad & 7);
            return;
        }
        if (!lunless && reportUnitAttention(t, lun)) return;

        switch (op) {
            case CommandTable.TEST_UNIT_READY -> t.good(0);
            case CommandTable.INQUIRY -> SpcCommands.inquiry(this, t, lun);
            case CommandTable.REQUEST_SENSE -> SpcCommands.requestSense(t, lun);
            case CommandTable.REPORT_LUNS -> SpcCommands.reportLuns(this, t);
            case CommandTable.MODE_SENSE_6, CommandTable.MODE_SENSE_10 -> SpcCommands.modeSense(t, lun, op);
            case CommandTable.MAINTENANCE_IN -> SpcCommands.reportSupportedOperationCodes(t);
            case CommandTable.READ_CAPACITY_10 -> SbcCommands.readCapacity10(t, lun);
            case CommandTable.SERVICE_ACTION_IN_16 -> SbcCommands.readCapacity16(t, lun);
            case CommandTable.READ_6, CommandTable.READ_10, CommandTable.READ_12, CommandTable.READ_16,
                 CommandTable.WRITE_6, CommandTable.WRITE_10, CommandTable.WRITE_12, CommandTable.WRITE_16 ->
                    SbcCommands.readWrite(this, t, lun, op);
            case CommandTable.VERIFY_10, CommandTable.VERIFY_12, CommandTable.VERIFY_16 -> SbcCommands.verify(this, t, lun, op);
            case CommandTable.WRITE_SAME_10, CommandTable.WRITE_SAME_16 -> SbcCommands.writeSame(this, t, lun, op);
            case CommandTable.UNMAP -> SbcCommands.unmap(this, t, lun);
            case CommandTable.SYNCHRONIZE_CACHE_10, CommandTable.SYNCHRONIZE_CACHE_16 -> SbcCommands.synchronizeCache(t, lun, op);
            default -> t.fail(ScsiSense.ILLEGAL_REQUEST, ScsiSense.INVALID_COMMAND_OPERATION_CODE);
        }
    }

    /**
     * The fast path's test: READ(10), WRITE(10), READ(16) or WRITE(16), as long as its opcode needs,
     * with no bit set outside its usage map ({@link CommandTable}: byte 1 DPO/FUA only, the group
     * number's five bits, a zero control byte). Such a CDB passes every generic check of
     * {@link #dispatch}; anything else takes the generic path, which reports exactly what is wrong.
     */
    private static boolean plainReadWrite(ScsiTask t, int op, byte[] c) {
        if ((c[1] & ~0x18) != 0) return false;
        if (op == CommandTable.READ_16 || op == CommandTable.WRITE_16)
            return t.cdbLength() >= 16 && (c[14] & ~0x1F) == 0 && c[15] == 0;
        if (op == CommandTable.READ_10 || op == CommandTable.WRITE_10)
            return t.cdbLength() >= 10 && (c[6] & ~0x1F) == 0 && c[9] == 0;
        return false;
    }

    private static boolean unitAttentionPending(ScsiTask t, ScsiLun lun) {
        ScsiNexus n = t.nexus;
        return lun.pendingUnitAttention(n.id) != 0 || n.lunsChangedPending();
    }

    /** Reports (and clears) the highest-priority unit attention pending for this nexus on this LUN, if any. */
    private static boolean reportUnitAttention(ScsiTask t, ScsiLun lun) {
        ScsiNexus n = t.nexus;
        if (lun.pendingUnitAttention(n.id) == 0 && !n.lunsChangedPending()) return false;
        int asc = lun.takeUnitAttention(n.id);
        if (asc < 0 && n.takeLunsChanged()) asc = ScsiSense.REPORTED_LUNS_DATA_HAS_CHANGED;
        if (asc < 0) return false;
        t.fail(ScsiSense.UNIT_ATTENTION, asc);
        return true;
    }

    /** For REQUEST SENSE: takes the pending unit attention as sense data, or -1. */
    static int takeUnitAttention(ScsiTask t, ScsiLun lun) {
        ScsiNexus n = t.nexus;
        int asc = lun.takeUnitAttention(n.id);
        if (asc < 0 && n.takeLunsChanged()) asc = ScsiSense.REPORTED_LUNS_DATA_HAS_CHANGED;
        return asc;
    }

    // =====================================================================================
    // task management

    void taskManagement(ScsiNexus nexus, ScsiTmf m) {
        m.begin();
        int lun = m.lun();
        switch (m.function()) {
            case ScsiTmf.ABORT_TASK -> {
                if (lun(lun) == null) m.response(ScsiTmf.INCORRECT_LUN);
                else for (ScsiTask t : nexus.tasks()) if (t.claimForAbort(m, lun, true, m.tag())) break;
            }
            case ScsiTmf.ABORT_TASK_SET -> {
                if (lun(lun) == null) m.response(ScsiTmf.INCORRECT_LUN);
                else for (ScsiTask t : nexus.tasks()) t.claimForAbort(m, lun, false, 0);
            }
            case ScsiTmf.CLEAR_TASK_SET, ScsiTmf.LOGICAL_UNIT_RESET -> {
                ScsiLun l = lun(lun);
                if (l == null) {
                    m.response(ScsiTmf.INCORRECT_LUN);
                } else {
                    for (ScsiNexus n : nexuses) for (ScsiTask t : n.tasks()) t.claimForAbort(m, lun, false, 0);
                    if (m.function() == ScsiTmf.LOGICAL_UNIT_RESET)
                        for (ScsiNexus n : nexuses) l.resetUnitAttention(n.id, ScsiLun.UA_RESET);
                }
            }
            case ScsiTmf.I_T_NEXUS_RESET -> {
                for (ScsiTask t : nexus.tasks()) t.claimForAbort(m, -1, false, 0);
                for (int l : lunList) {
                    ScsiLun x = luns.get(l);
                    if (x != null) x.resetUnitAttention(nexus.id, ScsiLun.UA_NEXUS_LOSS);
                }
            }
            case ScsiTmf.QUERY_TASK, ScsiTmf.QUERY_TASK_SET -> {
                boolean byTag = m.function() == ScsiTmf.QUERY_TASK;
                if (lun(lun) == null) {
                    m.response(ScsiTmf.INCORRECT_LUN);
                } else {
                    for (ScsiTask t : nexus.tasks()) {
                        if (t.runningMatches(lun, byTag, m.tag())) { m.response(ScsiTmf.FUNCTION_SUCCEEDED); break; }
                    }
                }
            }
            default -> m.response(ScsiTmf.FUNCTION_REJECTED);
        }
        m.taskDone(); // drop the scanner's guard
    }
}
