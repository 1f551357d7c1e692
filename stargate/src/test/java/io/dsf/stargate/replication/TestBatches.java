package io.dsf.stargate.replication;

import io.dsf.rdma.api.Access;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Completions;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.MemoryRegion;
import io.dsf.rdma.api.PostStatus;
import io.dsf.rdma.api.RdmaTransport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/** Builds OpLog batches in the on-store layout, and a hand-driven owner connection for protocol tests. Test helper; one thread. */
final class TestBatches {
    private TestBatches() {}

    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    static int crc(MemorySegment m, long off, long len) {
        CRC32C c = new CRC32C();
        c.update(m.asSlice(off, len).asByteBuffer());
        return (int) c.getValue();
    }

    /**
     * Writes a sealed batch at offset 0 of {@code dst}: entry i covers {@code nBlocks[i]} blocks from
     * {@code blocks[i]} with data bytes derived from {@code seed}; returns its length.
     */
    static int build(MemorySegment dst, long objectId, long firstSeq, long[] blocks, int[] nBlocks, int seed) {
        return build(dst, objectId, firstSeq, blocks, nBlocks, new boolean[blocks.length], seed);
    }

    /** As {@link #build}, with entry i a write-zeroes entry (no data slices) where {@code zero[i]}. */
    static int build(MemorySegment dst, long objectId, long firstSeq, long[] blocks, int[] nBlocks, boolean[] zero, int seed) {
        int slices = 0;
        for (int i = 0; i < nBlocks.length; i++) if (!zero[i]) slices += nBlocks[i];
        dst.asSlice(0, 4096).fill((byte) 0);
        dst.set(I, 0, OpLogBatchView.MAGIC);
        dst.set(S, 4, (short) OpLogBatchView.VERSION);
        dst.set(S, 6, (short) blocks.length);
        dst.set(L, 8, objectId);
        dst.set(I, 16, slices);
        int at = 0;
        for (int i = 0; i < blocks.length; i++) {
            long e = 32 + 32L * i;
            if (zero[i]) {
                dst.set(L, e, firstSeq + i);
                dst.set(L, e + 8, blocks[i]);
                dst.set(I, e + 16, nBlocks[i]);
                dst.set(I, e + 20, OpLogBatchView.FLAG_ZERO);
                dst.set(I, e + 24, 0);
                continue;
            }
            long d = 4096L * (1 + at);
            for (long k = 0; k < 4096L * nBlocks[i]; k += 8) dst.set(L, d + k, (seed * 31L + blocks[i]) * 0x9E3779B97F4A7C15L + k);
            dst.set(L, e, firstSeq + i);
            dst.set(L, e + 8, blocks[i]);
            dst.set(I, e + 16, nBlocks[i]);
            dst.set(I, e + 20, 0);
            dst.set(I, e + 24, crc(dst, d, 4096L * nBlocks[i]));
            at += nBlocks[i];
        }
        dst.set(I, 20, 0);
        dst.set(I, 20, crc(dst, 0, 4096));
        return 4096 * (1 + slices);
    }

    /** An owner-side connection driven by hand: sends messages, waits for answers. */
    /** A replica service on its own {@code mem:} (or any URI) device and store, for tests; closes all three. */
    record Replica(io.dsf.blockstore.spi.BlockDevice dev, io.dsf.blockstore.store.BlockStore store, ReplicaService svc) implements AutoCloseable {
        static Replica start(RdmaTransport t, String deviceUri, int connections) throws Exception {
            io.dsf.blockstore.spi.BlockDevice dev = io.dsf.blockstore.spi.BlockDevices.open(deviceUri);
            io.dsf.blockstore.store.BlockStore store = io.dsf.blockstore.store.BlockStore.format(dev, io.dsf.blockstore.store.FormatOptions.DEFAULTS);
            return new Replica(dev, store, ReplicaService.start(t, dev, store, new InetSocketAddress("127.0.0.1", 0), connections));
        }

        @Override
        public void close() {
            svc.close();
            store.close();
            dev.close();
        }
    }

    static final class Owner implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final MemorySegment send = arena.allocate(ReplicationDescriptor.RECV_BUFFER, 4096), recv = arena.allocate(4096, 4096);
        final MemoryRegion sendMr, recvMr;
        final CompletionQueue cq;
        final Endpoint ep;
        final Completions comps = new Completions(16);
        final ReplicationFrame frame = new ReplicationFrame();

        Owner(RdmaTransport t, InetSocketAddress to) throws Exception {
            sendMr = t.register(send, Access.LOCAL_WRITE);
            recvMr = t.register(recv, Access.LOCAL_WRITE);
            cq = t.createCompletionQueue(32);
            ep = t.connect(to, cq, new EndpointOptions(4, 2, 1 << 20), TimeUnit.SECONDS.toNanos(5));
            if (ep.postRecv(recvMr, 0, 4096, 100) != PostStatus.OK) throw new IllegalStateException("recv");
        }

        /** Appends a trailer after {@code len} payload bytes already in {@link #send}. */
        int seal(int type, int len, long batchId, long vdisk, int shard, long segment, long segOff, long segBytes, String owner) {
            frame.wrap(send, send.asByteBuffer(), len).encode(type, 0, len, batchId, vdisk, shard, segment, segOff, segBytes,
                    owner.getBytes(StandardCharsets.US_ASCII));
            return len + ReplicationDescriptor.TRAILER;
        }

        void post(int length) {
            int st = ep.postSend(sendMr, 0, length, 1);
            if (st != PostStatus.OK) throw new IllegalStateException(PostStatus.name(st));
        }

        /**
         * Waits for the answer: returns its frame (type ACK or NACK), or null when the connection broke
         * (the receive completed with an error). Send completions are skipped.
         */
        ReplicationFrame answer() {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                int n = cq.await(comps, TimeUnit.MILLISECONDS.toNanos(50));
                for (int i = 0; i < n; i++) {
                    if (comps.wrId(i) != 100) continue;
                    if (!comps.isSuccess(i)) return null;
                    ReplicationFrame f = frame.wrap(recv, recv.asByteBuffer(), 0);
                    if (f.validate(comps.byteLength(i)) != ReplicationFrame.VALID) throw new AssertionError("bad answer");
                    ep.postRecv(recvMr, 0, 4096, 100);
                    return f;
                }
            }
            throw new AssertionError("no answer within 20 s");
        }

        @Override
        public void close() {
            ep.close();
            cq.close();
            sendMr.close();
            recvMr.close();
            arena.close();
        }
    }
}
