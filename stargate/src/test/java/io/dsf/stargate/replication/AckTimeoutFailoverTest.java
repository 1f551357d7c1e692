package io.dsf.stargate.replication;

import io.dsf.rdma.Transports;
import io.dsf.rdma.api.CompletionQueue;
import io.dsf.rdma.api.Endpoint;
import io.dsf.rdma.api.EndpointOptions;
import io.dsf.rdma.api.RdmaListener;
import io.dsf.rdma.api.RdmaTransport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.dsf.stargate.replication.ReplicationDescriptor.MAX_PAYLOAD;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A peer that accepts connections but never answers: after the ack timeout the pending batch goes to
 * the other peer, which gets its own full timeout (it was once failed in the same sweep that dropped
 * the silent one, and the batch failed although the replacement was healthy).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AckTimeoutFailoverTest {
    final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void down() throws Exception {
        for (AutoCloseable x : open) x.close();
    }

    @Test
    void aSilentPeersBatchIsAcknowledgedByItsReplacement() throws Exception {
        RdmaTransport transport = Transports.open("tcp");
        open.add(0, transport);
        TestBatches.Replica goodReplica = TestBatches.Replica.start(transport, "mem:64m", 16);
        open.add(0, goodReplica);
        ReplicaService good = goodReplica.svc();
        // the silent peer: completes the transport handshake, posts no receive, never answers
        RdmaTransport silentT = Transports.open("tcp");
        open.add(0, silentT);
        RdmaListener silent = silentT.listen(new InetSocketAddress("127.0.0.1", 0));
        CompletionQueue scq = silentT.createCompletionQueue(256);
        List<Endpoint> held = new ArrayList<>();
        Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Endpoint e = silent.accept(scq, new EndpointOptions(4, 2, 1 << 20), TimeUnit.MILLISECONDS.toNanos(100));
                    if (e != null) held.add(e);
                }
            } catch (Exception ignored) {
                // listener closed at the end
            }
        });
        open.add(0, () -> {
            acceptor.interrupt();
            silent.close();
        });

        List<PeerAddress> peers = List.of(new PeerAddress("S", "127.0.0.1", silent.localAddress().getPort()),
                new PeerAddress("G", "127.0.0.1", good.address().getPort()));
        Replication rep = new Replication("A", transport, peers, Replication.Options.rf(2).withAckTimeout(TimeUnit.MILLISECONDS.toNanos(300)));
        int viaSilent = 0;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment batch = a.allocate(MAX_PAYLOAD, 4096);
            for (long v = 1; v <= 8; v++) {
                BatchReplicator r = rep.create(v, 0);
                try {
                    int len = TestBatches.build(batch, 99, 1, new long[] {8}, new int[] {1}, (int) v);
                    r.replicate(batch, len, 0, 4L << 20, 0);
                    long vd = v;
                    boolean silentFirst = rep.shards().stream().anyMatch(s -> s.vdisk() == vd && s.peers().contains("S"));
                    if (silentFirst) viaSilent++;
                    ShardReplicatorTrimTest.pollUntil(r, () -> r.status() != BatchReplicator.PENDING, "batch of vDisk " + v);
                    assertEquals(BatchReplicator.ACKED, r.status(), "vDisk " + v + ": the healthy replacement acknowledges");
                } finally {
                    r.close();
                }
            }
        }
        assertTrue(viaSilent > 0, "the rotation chose the silent peer first at least once");
        assertTrue(rep.failovers() >= viaSilent, "each of those batches failed over: " + rep.failovers());
        assertEquals(0, rep.batchesFailed());
        assertEquals(8, good.batchesStored());
    }
}
