package io.dsf.blockstore.store;

import io.dsf.blockstore.spi.BlockDevice;
import io.dsf.blockstore.spi.DeviceException;
import io.dsf.blockstore.spi.DeviceQueue;
import io.dsf.blockstore.spi.IoError;
import io.dsf.blockstore.store.format.JournalPage;
import io.dsf.blockstore.store.format.JournalRecord;
import io.dsf.blockstore.store.format.LE;
import io.dsf.blockstore.store.format.Layout;
import io.dsf.blockstore.store.format.MetaPage;
import io.dsf.blockstore.store.format.Superblock;
import io.dsf.blockstore.store.meta.BlockingBatch;
import io.dsf.blockstore.store.meta.MetaImage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * The journal of one store and the thread that writes it (group commit, as BookKeeper's journal
 * thread does). Operations append records under {@link #lock} to the control buffer (object
 * changes and unit allocations, one total order); channels put slice checksums in their own
 * {@link RecordRing}s without a lock. A sync asks for a ticket; a commit takes every ticket asked
 * so far, drains the control buffer and then every ring (whose tails it read first, so a checksum
 * never precedes the allocation of its unit), packs the records into sealed pages, writes them,
 * flushes the device, and only then declares those tickets done. Units freed by the drained
 * operations go back to the allocator after that flush. When the ring is over half used the
 * journal thread writes a checkpoint, so the journal never grows without bound.
 *
 * <p>Who commits (flat combining): one commit runs at a time, by whoever holds the <em>commit
 * token</em>. A channel that syncs takes the token if it is free and runs the commit itself,
 * asynchronously, on its own device queue ({@link #leadBegin} / {@link #leadPagesDone} /
 * {@link #leadEnd}), so a sync at queue depth 1 needs no hand-off to another thread; syncs that
 * arrive meanwhile ride along in the next commit. The journal thread takes the token for
 * everything else: syncs whose channel could not lead (the token was taken, or the commit is too
 * big for the channel's page buffer or the ring), store-level syncs, ring drains, disarms,
 * checkpoints and close. Whoever releases the token re-reads the requests afterwards and wakes
 * the journal thread if any is left, so no request is ever stranded.
 *
 * <p>Threading: {@link #lock} guards the control buffer and every unit table change; everything
 * marked "token holder" is touched only by the thread holding the commit token (acquired and
 * released with volatile semantics, so each holder sees its predecessor's writes);
 * {@link #syncDone} is published with volatile writes.
 */
final class JournalWriter implements Runnable {
    static final int RUNNING = 0, CLOSING = 1, CLOSED = 2, FAILED = 3, CRASHED = 4;
    private static final int CHUNK = 64;

    private final BlockStore store;
    private final BlockDevice device;
    private final Layout layout;
    private final MetaImage image;
    private final long nonce;

    /** The journal lock: the control buffer and all unit table changes. */
    final ReentrantLock lock = new ReentrantLock();
    private byte[] ctl = new byte[1 << 16];   // guarded by lock
    private int ctlLen;                       // guarded by lock
    private int[] freed = new int[256];       // guarded by lock: units freed by records in ctl
    private int freedN;                       // guarded by lock

    final AtomicLong syncRequested = new AtomicLong();
    /** The commit token: 0 free, 1 held (see the class comment). */
    private final java.util.concurrent.atomic.AtomicInteger token = new java.util.concurrent.atomic.AtomicInteger();
    /** The channel holding the token for a commit it leads, or null. */
    private volatile StoreChannel leader;
    /** Set by a channel-led commit that left the ring over half used: the journal thread checkpoints. */
    private volatile boolean checkpointWanted;
    private volatile long syncDone;
    private volatile boolean drainRequested;
    private volatile int state = RUNNING;
    private volatile Throwable failure;
    private final ConcurrentLinkedQueue<Thread> waiters = new ConcurrentLinkedQueue<>();
    private final CountDownLatch started = new CountDownLatch(1);
    private Thread thread;

    // ---- token holder only
    private Superblock sb;
    private long nextSeq;
    private long replayStart;
    private BitSet dirty;
    private BlockingBatch io;
    private MemorySegment dma;
    private final byte[][] pages = new byte[CHUNK][];
    private final CRC32C crc = new CRC32C();
    private final byte[] page = new byte[Layout.PAGE];
    private final List<byte[]> packed = new ArrayList<>();
    private final ArrayList<byte[]> pagePool = new ArrayList<>();
    private int packOff, packCount;
    private byte[] packPage;
    private long recoveryStart = -1;
    private volatile long commits, checkpoints, journalUsed;

    JournalWriter(BlockStore store, BlockDevice device, MetaImage image, Superblock sb) {
        this.store = store;
        this.device = device;
        this.layout = image.layout;
        this.image = image;
        this.sb = sb;
        this.nonce = sb.nonce();
        this.replayStart = sb.replaySeq();
        this.nextSeq = sb.replaySeq();
        this.dirty = new BitSet();
        for (int i = 0; i < CHUNK; i++) pages[i] = new byte[Layout.PAGE];
    }

    /**
     * Starts the thread. With {@code recoverFrom >= 0} it first writes a recovery checkpoint of
     * {@code touched} pages whose replay start skips a whole ring past {@code recoverFrom} (the
     * last replayed page), so no page of the crashed run can ever be replayed again.
     */
    void start(long recoverFrom, BitSet touched) {
        if (touched != null) dirty.or(touched);
        recoveryStart = recoverFrom;
        thread = Thread.ofPlatform().name("dsf-blockstore-journal " + device.uri()).daemon(true).unstarted(this);
        thread.start();
        try {
            started.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException(StoreStatus.FAILED.code(), "interrupted while starting the journal");
        }
        if (state == FAILED) throw new StoreException(StoreStatus.FAILED.code(), "journal start failed on " + device.uri() + ": " + failure, failure);
    }

    // ------------------------------------------------------------ producers

    /** Reserves {@code len} bytes in the control buffer; the caller holds {@link #lock} and writes at the returned offset of {@link #ctl()}. */
    int reserveCtl(int len) {
        if (ctlLen + len > ctl.length) {
            byte[] n = new byte[Math.max(ctl.length * 2, ctlLen + len)];
            System.arraycopy(ctl, 0, n, 0, ctlLen);
            ctl = n;
        }
        int off = ctlLen;
        ctlLen += len;
        if (ctlLen > (256 << 10)) drainRequested = true;
        return off;
    }

    /** The control buffer (valid until the next {@link #reserveCtl}); caller holds {@link #lock}. */
    byte[] ctl() { return ctl; }

    /** A unit is disarmed once no overwrite touched it for this long (bounds the recovery scan). */
    static final long DISARM_NANOS = Long.getLong("dsf.blockstore.disarmMillis", 200) * 1_000_000L;
    private int[] armingCtl = new int[16];    // guarded by lock: units whose ARM is in ctl
    private int armingN;                      // guarded by lock
    private final org.agrona.collections.IntArrayList armed = new org.agrona.collections.IntArrayList(); // journal thread
    private long lastPassNanos;
    /** Sequence of the first journal page written since the last flush, or -1 (token holder). */
    private long unflushedFrom = -1;

    /** Longest quiet time a unit re-armed again and again must have before it is disarmed. */
    static final long MAX_QUIET_NANOS = Math.max(DISARM_NANOS, Long.getLong("dsf.blockstore.maxDisarmMillis", 5000) * 1_000_000L);

    /**
     * Logs ARM for {@code unit} (state UNARMED); caller holds {@link #lock}. The unit is ARMED once
     * the commit holding it is durable. A unit armed again soon after it was disarmed (within four
     * of its quiet times) is kept armed twice as long next time, up to {@link #MAX_QUIET_NANOS}:
     * re-arming costs the writer a commit, keeping a unit armed only costs recovery a scan of it.
     */
    void armLocked(int unit) {
        long q = Math.max(DISARM_NANOS, store.quietNanos[unit]);
        long since = store.disarmedAt[unit] == 0 ? Long.MAX_VALUE : System.nanoTime() - store.disarmedAt[unit];
        store.quietNanos[unit] = since < 4 * q ? Math.min(2 * q, MAX_QUIET_NANOS) : since > 16 * q ? DISARM_NANOS : q;
        image.setArmState(unit, MetaImage.ARMING);
        int off = reserveCtl(JournalRecord.ARM_LEN);
        JournalRecord.putArm(ctl, off, JournalRecord.ARM, unit, image.unitGen[unit]);
        if (armingN == armingCtl.length) armingCtl = java.util.Arrays.copyOf(armingCtl, armingN * 2);
        armingCtl[armingN++] = unit;
    }

    private int[] disarming = new int[16];    // journal thread

    /**
     * Picks the armed units no overwrite touched for their quiet time ({@link #DISARM_NANOS}, more
     * for units re-armed soon after a disarm, see {@link #armLocked}) and sets them UNARMED;
     * returns how many are in {@link #disarming}. The state goes to UNARMED first, then the
     * in-flight count is read (a channel increments it before reading the state), so either the
     * channel sees UNARMED and re-arms, or this sees the overwrite and keeps the unit armed. A
     * channel appends an overwrite's checksum record before it decrements the count, so every
     * checksum of a unit picked here is already in a ring: the barrier that follows moves it into
     * the control buffer ahead of the DISARM records. Caller holds {@link #lock}; journal thread.
     */
    private int pickDisarmLocked() {
        long now = System.nanoTime();
        int n = 0;
        for (int i = armed.size() - 1; i >= 0; i--) {
            int u = armed.getInt(i);
            if (image.armState(u) != MetaImage.ARMED) {
                armed.fastUnorderedRemove(i);       // freed or reallocated since
                continue;
            }
            if (now - store.lastOverwrite[u] < Math.max(DISARM_NANOS, store.quietNanos[u])) continue;
            image.setArmState(u, MetaImage.UNARMED);
            if (store.overwrites.get(u) > 0) {
                image.setArmState(u, MetaImage.ARMED);
                continue;
            }
            if (n == disarming.length) disarming = java.util.Arrays.copyOf(disarming, n * 2);
            disarming[n++] = u;
            store.disarmedAt[u] = now;
            armed.fastUnorderedRemove(i);
        }
        return n;
    }

    /** Units armed by recovery-free open paths (none) or left armed: journal thread bookkeeping. */
    int armedUnits() { return armed.size(); }

    private int[] crcTouched = new int[16];   // guarded by lock: units whose checksums an operation reset
    private int crcTouchedN;                  // guarded by lock

    /** Hands over a unit whose checksums the record just appended reset (a shrink inside a unit); caller holds {@link #lock}. */
    void crcTouchedUnit(int unit) {
        if (crcTouchedN == crcTouched.length) crcTouched = java.util.Arrays.copyOf(crcTouched, crcTouchedN * 2);
        crcTouched[crcTouchedN++] = unit;
    }

    /** Hands over a unit freed by the record just appended; caller holds {@link #lock}. */
    void freedUnit(int unit) {
        if (freedN == freed.length) freed = java.util.Arrays.copyOf(freed, freedN * 2);
        freed[freedN++] = unit;
    }

    /** Asks for a commit of everything appended so far; returns the ticket to wait for. */
    long requestSync() {
        long t = syncRequested.incrementAndGet();
        LockSupport.unpark(thread);
        return t;
    }

    /**
     * Asks for a commit without waking the journal thread: the caller (a channel) then tries to
     * lead it with {@link #leadBegin}, and wakes the journal thread with {@link #wake} if it cannot.
     */
    long requestSyncQuiet() { return syncRequested.incrementAndGet(); }

    /** Wakes the journal thread (a request it must serve). */
    void wake() { LockSupport.unpark(thread); }

    /** Asks the journal thread to drain rings soon (a ring is filling up). */
    void requestDrain() {
        if (!drainRequested) {
            drainRequested = true;
            LockSupport.unpark(thread);
        }
    }

    long syncDone() { return syncDone; }

    int state() { return state; }

    Throwable failure() { return failure; }

    /** Blocks until {@code ticket} is durable; control path. */
    void awaitTicket(long ticket) {
        Thread me = Thread.currentThread();
        waiters.add(me);
        try {
            while (syncDone < ticket) {
                int s = state;
                if (s == FAILED) throw new StoreException(StoreStatus.FAILED.code(), "store on " + device.uri() + " failed: " + failure, failure);
                if (s == CLOSED || s == CRASHED) throw new StoreException(StoreStatus.CLOSED.code(), "store on " + device.uri() + " is closed");
                LockSupport.parkNanos(this, 10_000_000);
            }
        } finally {
            waiters.remove(me);
        }
    }

    long commits() { return commits; }

    long checkpoints() { return checkpoints; }

    long journalUsed() { return journalUsed; }

    long generation() { return sb.generation(); }

    // --------------------------------------------------------------- thread

    @Override
    public void run() {
        try {
            int align = Math.max(Layout.PAGE, device.geometry().bufferAlignment());
            dma = device.allocateDma((long) CHUNK * Layout.PAGE + align).asSlice(0, (long) CHUNK * Layout.PAGE);
            io = new BlockingBatch(device, CHUNK + 2);
            if (recoveryStart >= 0) checkpoint(recoveryStart + 1 + layout.ringPages);
        } catch (Throwable t) {
            fail(t);
            started.countDown();
            return;
        }
        started.countDown();
        try {
            while (true) {
                int s = state;
                if (s == CRASHED || s == FAILED) break; // FAILED: a channel-led commit failed
                boolean work = s == CLOSING || syncRequested.get() > syncDone || drainRequested || checkpointWanted
                        || (!armed.isEmpty() && System.nanoTime() - lastPassNanos > DISARM_NANOS); // armed: racy read, a hint
                if (!work) {
                    if (!spinForWork()) LockSupport.parkNanos(this, armed.isEmpty() ? 100_000_000 : DISARM_NANOS / 2);
                    continue;
                }
                if (!token.compareAndSet(0, 1)) { // a channel leads a commit; it wakes us when it is done
                    LockSupport.parkNanos(this, 1_000_000);
                    continue;
                }
                try {
                    if (s == CLOSING) {
                        pass();
                        checkpoint(-1);
                        state = CLOSED;
                        break;
                    }
                    boolean cp = checkpointWanted;
                    checkpointWanted = false;
                    if (!pass() && cp) checkpoint(-1); // commits, drains, disarms quiet units, checkpoints past half the ring
                } finally {
                    token.set(0);
                }
            }
        } catch (Throwable t) {
            fail(t);
        } finally {
            io.close();
            wakeAll();
        }
    }

    /** Spin this long for the next sync before parking (a wake-up across vCPUs costs tens of microseconds). */
    static final long SPIN_NANOS = Long.getLong("dsf.blockstore.journalSpinMicros", 0) * 1000L;

    private boolean spinForWork() {
        if (SPIN_NANOS <= 0) return false;
        long end = System.nanoTime() + SPIN_NANOS;
        while (System.nanoTime() < end) {
            if (syncRequested.get() > syncDone || drainRequested || checkpointWanted || state != RUNNING) return true;
            Thread.onSpinWait();
        }
        return false;
    }

    private void fail(Throwable t) {
        failure = t;
        state = FAILED;
        wakeAll();
    }

    private void wakeAll() {
        if (!waiters.isEmpty()) for (Thread t : waiters) LockSupport.unpark(t);
        store.wakeChannels();
    }

    /**
     * Stops after committing everything and writing a checkpoint; waits for the thread. A commit a
     * channel of the calling thread leads is finished first; one led by another thread's channel
     * finishes when that thread polls (or closes) its channel.
     */
    void close() {
        StoreChannel l = leader;
        if (l != null) l.finishCommitIfOwner();
        if (state == RUNNING) state = CLOSING;
        LockSupport.unpark(thread);
        join();
        if (state == FAILED) throw new StoreException(StoreStatus.FAILED.code(), "closing the store on " + device.uri() + " failed: " + failure, failure);
    }

    /** Stops without committing anything more (tests: a crash). */
    void crash() {
        state = CRASHED;
        LockSupport.unpark(thread);
        join();
    }

    private void join() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    // --------------------------------------------------------------- commit

    /**
     * Moves every record waiting in the channels' rings into the control buffer, in ring order,
     * so that a record appended next follows them in the journal. Caller holds {@link #lock}.
     * An operation that invalidates checksums without freeing their unit (a shrink inside a unit)
     * calls this first; otherwise a checksum logged before it could be replayed after it.
     */
    void barrierLocked() { barrierLocked(store.channelArray(), null); }

    /** As {@link #barrierLocked()}, up to the ring tails in {@code tails} (read before, same order as {@code chans}) when given. */
    private void barrierLocked(StoreChannel[] chans, long[] tails) {
        for (int c = 0; c < chans.length; c++) {
            RecordRing r = chans[c].ring;
            long pos = r.headPlain(), end = tails == null ? r.tailAcquire() : tails[c];
            while (pos < end) {
                int o = r.offset(pos);
                int len = JournalRecord.length(r.buf, o);
                if (JournalRecord.type(r.buf, o) != JournalRecord.PAD) {
                    int at = reserveCtl(len);
                    System.arraycopy(r.buf, o, ctl, at, len);
                }
                pos += len;
            }
            r.release(end);
        }
    }

    /** What one drain took out of the control buffer and the rings (journal thread). */
    private static final class Drain {
        byte[] buf = new byte[1 << 16];
        int len;
        int[] freed = new int[64];
        int freedN;
        int[] arming = new int[16];
        int armingN;
        int disarmN;
    }

    private final Drain passDrain = new Drain(), checkpointDrain = new Drain();

    /**
     * Takes everything appended so far: the rings' records (moved behind the control records),
     * the control buffer, and the units freed, armed and reset by those records. Caller holds
     * {@link #lock}.
     */
    private void drainLocked(Drain d, boolean disarm) { drainLocked(d, disarm, store.channelArray(), null); }

    private void drainLocked(Drain d, boolean disarm, StoreChannel[] chans, long[] tails) {
        d.disarmN = disarm && !armed.isEmpty() ? pickDisarmLocked() : 0;
        barrierLocked(chans, tails);
        for (int i = 0; i < d.disarmN; i++) {
            int off = reserveCtl(JournalRecord.ARM_LEN);
            JournalRecord.putArm(ctl, off, JournalRecord.DISARM, disarming[i], image.unitGen[disarming[i]]);
        }
        byte[] c = ctl;
        d.len = ctlLen;
        ctl = d.buf;
        ctlLen = 0;
        d.buf = c;
        if (d.freed.length < freedN) d.freed = new int[freed.length];
        System.arraycopy(freed, 0, d.freed, 0, freedN);
        d.freedN = freedN;
        freedN = 0;
        for (int i = 0; i < crcTouchedN; i++) image.markCrcPages(crcTouched[i], 0, layout.slicesPerUnit, dirty);
        crcTouchedN = 0;
        if (d.arming.length < armingN) d.arming = new int[armingCtl.length];
        System.arraycopy(armingCtl, 0, d.arming, 0, armingN);
        d.armingN = armingN;
        armingN = 0;
        for (int i = 0; i < d.freedN; i++) image.markUnitPages(d.freed[i], false, dirty);
    }

    /** After the records of {@code d} (or a checkpoint holding their effects) are durable: frees, arms, disarms take effect. */
    private void settle(Drain d, int disarmFrom) {
        if (d.freedN > 0) store.allocator.release(d.freed, d.freedN);
        for (int i = 0; i < d.disarmN; i++) {
            int u = disarming[disarmFrom + i];
            if (image.armState(u) == MetaImage.UNARMED) store.tailReset.set(u, 0);
        }
        for (int i = 0; i < d.armingN; i++) {
            int u = d.arming[i];
            if (image.armState(u) == MetaImage.ARMING) {
                image.setArmState(u, MetaImage.ARMED);
                armed.addInt(u);
            }
        }
        d.freedN = d.armingN = d.disarmN = 0;
    }

    /** One group commit: drain, write sealed pages, flush, publish. */
    private boolean pass() {
        long ticket = syncRequested.get();
        drainRequested = false;
        StoreChannel[] chans = store.channelArray();
        lastPassNanos = System.nanoTime();
        Drain d = passDrain;
        lock.lock();
        try {
            drainLocked(d, true);
        } finally {
            lock.unlock();
        }
        packed.clear();
        packPage = null;
        for (int off = 0; off < d.len; off += JournalRecord.length(d.buf, off)) add(d.buf, off);
        if (packPage != null) closePage();
        boolean checkpointed = false;
        // a drain nobody waits for (a ring filling up) writes its pages without a flush; the next
        // sync's flush covers them, and until then they count as part of the unflushed commit
        boolean flush = ticket > syncDone || d.freedN > 0 || d.armingN > 0 || d.disarmN > 0 || state != RUNNING;
        if (!packed.isEmpty()) checkpointed = writePages();
        recyclePacked();
        // pages an earlier drain wrote without a flush count too: a sync with nothing new to
        // write still needs the flush that makes them (and the data they describe) durable
        if (!checkpointed && flush && unflushedFrom >= 0) {
            snapshotIntents();
            io.flush();
            confirmIntents();
            unflushedFrom = -1;
            commits++;
        }
        if (flush || checkpointed) { // else nothing became durable (and nobody waits)
            settle(d, 0);
            if (ticket > syncDone) syncDone = ticket;
            wakeAll();
        }
        for (StoreChannel ch : chans) if (ch.isClosed() && ch.ring.tailAcquire() == ch.ring.headPlain() && ch.intent() < 0) store.removeChannel(ch);
        if (!checkpointed && nextSeq - replayStart > layout.ringPages / 2) {
            checkpoint(-1);
            checkpointed = true;
        }
        return checkpointed;
    }

    /** Returns the packed pages to the pool (no allocation: ArrayList.addAll would copy). */
    private void recyclePacked() {
        for (int i = 0; i < packed.size(); i++) pagePool.add(packed.get(i));
        packed.clear();
    }

    private void add(byte[] b, int off) {
        int len = JournalRecord.length(b, off);
        image.markDirty(b, off, dirty);
        if (packPage == null || packOff + len > Layout.PAGE) {
            if (packPage != null) closePage();
            packPage = pagePool.isEmpty() ? new byte[Layout.PAGE] : pagePool.removeLast();
            java.util.Arrays.fill(packPage, (byte) 0);
            packOff = JournalPage.HEADER;
            packCount = 0;
        }
        System.arraycopy(b, off, packPage, packOff, len);
        packOff += len;
        packCount++;
    }

    private void closePage() {
        // header fields other than sequence and commit are final now; keep used/count in the page
        LE.u16(packPage, 32, packOff - JournalPage.HEADER);
        LE.u16(packPage, 34, packCount);
        packed.add(packPage);
        packPage = null;
    }

    /**
     * Writes the packed pages; when the ring has no room left it writes a checkpoint instead, which
     * holds the effects of every record not yet written (they are in memory), and returns true.
     */
    private boolean writePages() {
        if (unflushedFrom < 0) unflushedFrom = nextSeq;
        long commitFirst = unflushedFrom; // every page since the last flush is one commit
        int total = packed.size();
        long floor = intentFloor();
        for (int i = 0; i < total; ) {
            int n = Math.min(Math.min(CHUNK, total - i), Math.max(1, layout.ringPages / 4));
            if (nextSeq + n - replayStart > layout.ringPages) {
                checkpoint(-1);
                return true;
            }
            for (int k = 0; k < n; k++) {
                byte[] p = packed.get(i + k);
                JournalPage.seal(crc, p, nextSeq + k, nonce, commitFirst, Math.min(floor, nextSeq + k + 1), LE.u16(p, 32), LE.u16(p, 34));
                MemorySegment.copy(p, 0, dma, ValueLayout.JAVA_BYTE, (long) k * Layout.PAGE, Layout.PAGE);
            }
            // contiguous runs in the ring, each within the device's largest transfer
            int maxPages = Math.max(1, device.geometry().maxTransfer() / Layout.PAGE);
            int k = 0;
            while (k < n) {
                int idx = layout.ringIndex(nextSeq + k);
                int run = Math.min(Math.min(n - k, layout.ringPages - idx), maxPages);
                io.write(layout.journalPageOffset(idx), dma.asSlice((long) k * Layout.PAGE, (long) run * Layout.PAGE), run * Layout.PAGE);
                k += run;
            }
            io.await();
            nextSeq += n;
            i += n;
            journalUsed = nextSeq - replayStart;
        }
        return false;
    }

    // ------------------------------------------------- channel-led commits

    /** Pages of a commit a channel can lead (its page buffer); bigger commits go to the journal thread. */
    static final int LEAD_PAGES = 32;
    /** Device requests a led commit may have in flight at once on the channel's queue. */
    static final int LEAD_IOS = LEAD_PAGES + 1;
    static final int NOT_LED = -1, LED_DONE = 0, LED_ASYNC = 1;
    /** Least record bytes a packed page holds (a record never spans pages). */
    private static final int PACK_MIN = JournalPage.PAYLOAD - JournalRecord.MAX_LEN + 1;

    // ---- token holder, while a channel leads
    private DeviceQueue leadQueue;
    private long leadTicket, leadUd;
    private int leadPending, leadFailure;
    private boolean leadFlushing;
    private long[] leadTails = new long[8];

    /** For diagnostics: the sync tickets and who holds the commit token (racy reads). */
    String describe() {
        StoreChannel l = leader;
        return "journal: sync requested " + syncRequested.get() + ", done " + syncDone + ", token " + (token.get() == 0 ? "free"
                : l != null ? "led by the channel of thread " + l.ownerName() : "held by the journal thread") + ", state " + state;
    }

    /** Whether nobody holds the commit token (a hint). */
    boolean tokenFree() { return token.get() == 0; }

    /**
     * Called by channel {@code ch} on its thread: if the commit token is free, commits every sync
     * requested so far on the channel's own queue {@code q}, with pages from {@code dma}
     * ({@link #LEAD_PAGES} pages): drains records as the journal thread would, submits the page
     * writes tagged {@code ud}; the channel hands each completion of {@code ud} to
     * {@link #leadIoDone}, which submits the flush after the pages and publishes the tickets after
     * the flush. Returns {@link #LED_ASYNC} (requests in flight), {@link #LED_DONE} (nothing needed
     * writing: already published) or {@link #NOT_LED} (the token is taken, whose holder will see
     * the request; or the commit does not fit, and the journal thread was woken for it).
     */
    int lead(StoreChannel ch, DeviceQueue q, MemorySegment dma, long ud) { return lead(ch, q, dma, ud, null, 0); }

    /**
     * As {@link #lead(StoreChannel, DeviceQueue, MemorySegment, long)}; with {@code intent} (an
     * INTENT record of {@code intentLen} bytes for a write the channel just submitted) the record
     * goes last into the commit, the channel's {@link StoreChannel#intent()} is set to its page, and
     * the commit flushes only if a sync waits or its records free or arm units. Returns
     * {@link #NOT_LED} without waking anyone when the intent cannot be logged this way.
     */
    int lead(StoreChannel ch, DeviceQueue q, MemorySegment dma, long ud, byte[] intent, int intentLen) {
        if (state != RUNNING || !token.compareAndSet(0, 1)) return NOT_LED;
        long ticket = syncRequested.get();
        if (intent == null && ticket <= syncDone) {
            releaseToken();
            return LED_DONE;
        }
        Drain d = passDrain;
        StoreChannel[] chans = store.channelArray();
        lock.lock();
        try {
            if (leadTails.length < chans.length) leadTails = new long[chans.length * 2];
            long bytes = ctlLen + intentLen;
            for (int c = 0; c < chans.length; c++) {
                RecordRing r = chans[c].ring;
                leadTails[c] = r.tailAcquire();
                bytes += leadTails[c] - r.headPlain();
            }
            long bound = (bytes + PACK_MIN - 1) / PACK_MIN;
            if (bound > dma.byteSize() / Layout.PAGE || nextSeq + bound - replayStart > layout.ringPages / 2) {
                lock.unlock();
                releaseToken(); // too big for the channel, or time for a checkpoint: the journal thread commits it
                if (intent == null) wake();
                return NOT_LED;
            }
            drainLocked(d, false, chans, leadTails);
        } finally {
            if (lock.isHeldByCurrentThread()) lock.unlock();
        }
        boolean flush = intent == null || ticket > syncDone || d.freedN > 0 || d.armingN > 0;
        leader = ch;
        leadQueue = q;
        leadTicket = flush ? ticket : -1; // -1: write the pages, no flush, publish nothing
        leadUd = ud;
        leadFailure = 0;
        leadFlushing = false;
        packed.clear();
        packPage = null;
        for (int off = 0; off < d.len; off += JournalRecord.length(d.buf, off)) add(d.buf, off);
        if (intent != null) add(intent, 0);
        if (packPage != null) closePage();
        int n = packed.size();
        if (intent != null) ch.setIntent(nextSeq + n - 1); // its page: the last one
        if (n == 0 && unflushedFrom < 0) { // nothing written since the last flush: durable already
            leadEnd();
            return LED_DONE;
        }
        if (n == 0) {
            leadFlushing = true;
            leadPending = 1;
            snapshotIntents();
            if (!submitLead(q.flush(ud))) {
                releaseLeadAfterFailure();
                return LED_DONE;
            }
            q.submit();
            return LED_ASYNC;
        }
        if (unflushedFrom < 0) unflushedFrom = nextSeq;
        long commitFirst = unflushedFrom;
        long floor = intentFloor();
        for (int k = 0; k < n; k++) {
            byte[] p = packed.get(k);
            JournalPage.seal(crc, p, nextSeq + k, nonce, commitFirst, Math.min(floor, nextSeq + k + 1), LE.u16(p, 32), LE.u16(p, 34));
            MemorySegment.copy(p, 0, dma, ValueLayout.JAVA_BYTE, (long) k * Layout.PAGE, Layout.PAGE);
        }
        recyclePacked();
        int maxPages = Math.max(1, device.geometry().maxTransfer() / Layout.PAGE);
        leadPending = 0;
        for (int k = 0; k < n; ) {
            int idx = layout.ringIndex(nextSeq + k);
            int run = Math.min(Math.min(n - k, layout.ringPages - idx), maxPages);
            MemorySegment b = k == 0 && run == 1 ? dma : dma.asSlice((long) k * Layout.PAGE, (long) run * Layout.PAGE);
            leadPending++;
            if (!submitLead(q.write(layout.journalPageOffset(idx), b, run * Layout.PAGE, ud))) {
                leadPending--;
                break;
            }
            k += run;
        }
        nextSeq += n;
        journalUsed = nextSeq - replayStart;
        if (leadPending == 0) { // refused outright: the store has failed
            releaseLeadAfterFailure();
            return LED_DONE;
        }
        q.submit();
        return LED_ASYNC;
    }

    private boolean submitLead(int status) {
        if (status == DeviceQueue.ACCEPTED) return true;
        if (leadFailure == 0) leadFailure = status;
        return false;
    }

    /**
     * A request of the led commit completed (the leading channel's thread). Returns true when the
     * commit is over (published, or failed and the store with it).
     */
    boolean leadIoDone(int status) {
        if (status < 0 && leadFailure == 0) leadFailure = status;
        if (--leadPending > 0) return false;
        if (leadFailure != 0) {
            releaseLeadAfterFailure();
            return true;
        }
        if (!leadFlushing) {
            if (leadTicket < 0) { // an intent's pages: written, nothing to publish
                releaseToken();
                return true;
            }
            leadFlushing = true;
            leadPending = 1;
            snapshotIntents();
            if (!submitLead(leadQueue.flush(leadUd))) {
                releaseLeadAfterFailure();
                return true;
            }
            leadQueue.submit();
            return false;
        }
        confirmIntents();
        unflushedFrom = -1;
        commits++;
        leadEnd();
        return true;
    }

    // ---- intents (token holder): INTENT records of writes not yet known durable

    /** Lowest journal page holding an INTENT not yet confirmed durable, or Long.MAX_VALUE. */
    private long intentFloor() {
        long f = Long.MAX_VALUE;
        for (StoreChannel ch : store.channelArray()) {
            long s = ch.intent();
            if (s >= 0) f = Math.min(f, s & ~StoreChannel.INTENT_DONE);
        }
        return f;
    }

    /** Before submitting a flush: the intents whose writes completed are the ones it makes durable. */
    private void snapshotIntents() {
        for (StoreChannel ch : store.channelArray()) {
            long s = ch.intent();
            ch.intentConfirm = s >= 0 && (s & StoreChannel.INTENT_DONE) != 0 ? s : -1;
        }
    }

    /** After that flush completed: those intents are durable, their records trustworthy. */
    private void confirmIntents() {
        for (StoreChannel ch : store.channelArray()) {
            if (ch.intentConfirm >= 0) ch.casIntent(ch.intentConfirm, -1);
            ch.intentConfirm = -1;
        }
    }

    /**
     * A checkpoint holds every completed write's checksum and starts replay after every intent:
     * forget them all. An intent whose write is still in flight is dropped here, and its channel
     * then logs the write's checksums the usual way when it completes. Caller holds {@link #lock},
     * before copying pages (so a write completed by now is in the copy).
     */
    private void dropIntentsLocked() {
        for (StoreChannel ch : store.channelArray()) {
            while (true) {
                long s = ch.intent();
                if (s < 0 || ch.casIntent(s, -1)) break;
            }
            ch.intentConfirm = -1;
        }
    }

    /** A write logged with an INTENT failed: its record stays unconfirmed until a checkpoint, so ask for one. */
    void intentFailed() {
        checkpointWanted = true;
        wake();
    }

    /** The led commit is durable: frees and arms take effect, tickets are published, the token is released. */
    private void leadEnd() {
        settle(passDrain, 0);
        if (state != CRASHED && leadTicket > syncDone) syncDone = leadTicket;
        if (nextSeq - replayStart > layout.ringPages / 2) checkpointWanted = true;
        releaseToken();
        wakeAll();
    }

    private void releaseLeadAfterFailure() {
        fail(new DeviceException(IoError.of(leadFailure), device.uri(),
                "journal commit failed: " + IoError.describe(leadFailure)));
        releaseToken();
    }

    /** Releases the token, then wakes the journal thread if a request arrived that nobody serves. */
    private void releaseToken() {
        leader = null;
        leadQueue = null;
        token.set(0);
        if (syncRequested.get() > syncDone || drainRequested || checkpointWanted || state != RUNNING) wake();
    }

    // ----------------------------------------------------------- checkpoint

    private final ArrayList<byte[]> snapshot = new ArrayList<>();

    /**
     * A sharp checkpoint. Under the store lock and the journal lock, so that no object or unit
     * changes meanwhile, it drains every record appended so far — their effects are in memory, so
     * the records themselves are dropped — and copies every dirty page; then, without the locks, it
     * writes the copies into their older slots with generation G+1, the whole generation table,
     * flushes, and writes superblock A, flush, B, flush, with replay starting at the next page
     * (or {@code forcedStart}). A page thus never shows a change whose record could be lost, except
     * slice checksums, which channels set without a lock after their data write completed: such a
     * checksum matches data this checkpoint's flush makes durable.
     */
    private void checkpoint(long forcedStart) {
        long ticket = syncRequested.get();
        long g1 = sb.generation() + 1;
        Drain d = checkpointDrain;
        int[] list;
        long newStart, handle;
        synchronized (store.objectLock()) {
            lock.lock();
            try {
                dropIntentsLocked();
                drainLocked(d, false);
                for (int off = 0; off < d.len; off += JournalRecord.length(d.buf, off)) image.markDirty(d.buf, off, dirty);
                dirty.clear(layout.dataPages, Integer.MAX_VALUE);
                list = dirty.stream().toArray();
                dirty.clear();
                for (int i = 0; i < list.length; i++) {
                    byte[] p = i < snapshot.size() ? snapshot.get(i) : addSnapshotPage();
                    image.writePayload(list[i], p);
                }
                newStart = forcedStart >= 0 ? forcedStart : nextSeq;
                handle = image.nextHandle;
            } finally {
                lock.unlock();
            }
        }
        int n = 0;
        int[] chunkPages = new int[CHUNK];
        for (int i = 0; i <= list.length; i++) {
            if (n == CHUNK || (i == list.length && n > 0)) {
                for (int k = 0; k < n; k++) {
                    int p = chunkPages[k];
                    long e = image.genTable[p];
                    int slot = e == 0 ? 0 : (int) ((e & 1) ^ 1);
                    io.write(layout.slotOffset(p, slot), dma.asSlice((long) k * Layout.PAGE, Layout.PAGE), Layout.PAGE);
                    image.genTable[p] = g1 << 1 | slot;
                }
                io.await();
                n = 0;
            }
            if (i == list.length) break;
            int p = list[i];
            byte[] src = snapshot.get(i);
            MetaPage.seal(crc, src, p, layout.kindOf(p), g1, nonce);
            MemorySegment.copy(src, 0, dma, ValueLayout.JAVA_BYTE, (long) n * Layout.PAGE, Layout.PAGE);
            chunkPages[n++] = p;
        }
        // the generation table, every page of it, into slot G+1 & 1
        int gslot = (int) (g1 & 1);
        for (int p = layout.firstGenPage; p < layout.metaPages; ) {
            int k = 0;
            for (; k < CHUNK && p < layout.metaPages; k++, p++) {
                image.writePayload(p, page);
                MetaPage.seal(crc, page, p, MetaPage.KIND_GENS, g1, nonce);
                MemorySegment.copy(page, 0, dma, ValueLayout.JAVA_BYTE, (long) k * Layout.PAGE, Layout.PAGE);
                io.write(layout.slotOffset(p, gslot), dma.asSlice((long) k * Layout.PAGE, Layout.PAGE), Layout.PAGE);
            }
            io.await();
        }
        io.flush();
        unflushedFrom = -1;
        Superblock next = sb.withCheckpoint(g1, newStart, sb.writeSeq() + 1, handle);
        writeSuper(next, 0);
        writeSuper(next, layout.superBOffset());
        sb = next;
        replayStart = newStart;
        nextSeq = newStart;
        journalUsed = 0;
        checkpoints++;
        settle(d, 0);
        if (ticket > syncDone) syncDone = ticket;
        wakeAll();
    }

    private byte[] addSnapshotPage() {
        byte[] p = new byte[Layout.PAGE];
        snapshot.add(p);
        return p;
    }

    private void writeSuper(Superblock s, long offset) {
        s.encode(page);
        MemorySegment.copy(page, 0, dma, ValueLayout.JAVA_BYTE, 0, Layout.PAGE);
        io.write(offset, dma.asSlice(0, Layout.PAGE), Layout.PAGE);
        io.flush();
    }

    Superblock superblock() { return sb; }
}
