package io.dsf.frodo.vhostuser;

import io.dsf.bindings.libc.Errno;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.frodo.blk.VirtioBlkDevice;
import io.dsf.frodo.driver.VhostUserDriver;
import io.dsf.stargate.api.MemoryVDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.dsf.frodo.vhostuser.VhostUserProtocol.*;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Malformed and out-of-order vhost-user messages: each one closes its connection with an error
 * (never a crash or a hang), and the server goes on accepting the next front-end.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VhostUserProtocolTest {
    @TempDir Path dir;
    MemoryVDisk disk;
    VhostUserServer server;
    Arena arena;

    @BeforeEach
    void setUp() throws Exception {
        disk = new MemoryVDisk("proto", 16L << 20);
        server = VhostUserServer.start(dir.resolve("p.sock"), new VirtioBlkDevice(disk, 4), VhostOptions.defaults().withQueues(4));
        arena = Arena.ofShared();
    }

    @AfterEach
    void tearDown() {
        server.close();
        disk.close();
        arena.close();
    }

    interface Bad {
        void send(VhostUserDriver d, MemorySegment p) throws Exception;
    }

    record Case(String name, Bad bad) {}

    /** Descriptors the test made for one case; closed after it (the server closes its own copies). */
    private final List<Integer> made = new ArrayList<>();

    private int eventfd() {
        int fd = Errno.check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd");
        made.add(fd);
        return fd;
    }

    private int memfd(long size) {
        int fd = Errno.check(Libc.memfd_create(arena.allocateFrom("bad-guest"), Libc.MFD_CLOEXEC), "memfd");
        made.add(fd);
        Errno.check(Libc.ftruncate(fd, size), "ftruncate");
        return fd;
    }

    private void closeMade() throws Exception {
        for (int fd : made) Libc.close(fd);
        made.clear();
        for (AutoCloseable r : rings) r.close();
        rings.clear();
    }

    private static long openFds() throws java.io.IOException {
        try (var s = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private final List<AutoCloseable> rings = new ArrayList<>();

    /** Negotiates, maps 1 MiB of guest memory and starts ring 0: the rings run when the bad message comes. */
    private void running(VhostUserDriver d) throws Exception {
        d.negotiate(0);
        d.createGuestMemory(1 << 20);
        rings.add(d.startQueue(0, 16, true));
    }

    private static void region(MemorySegment p, int i, long gpa, long size, long uva, long offset) {
        long at = 8 + 32L * i;
        p.set(JAVA_LONG_UNALIGNED, at, gpa);
        p.set(JAVA_LONG_UNALIGNED, at + 8, size);
        p.set(JAVA_LONG_UNALIGNED, at + 16, uva);
        p.set(JAVA_LONG_UNALIGNED, at + 24, offset);
    }

    private static void state(MemorySegment p, int a, int b) {
        p.set(JAVA_INT_UNALIGNED, 0, a);
        p.set(JAVA_INT_UNALIGNED, 4, b);
    }

    private List<Case> cases() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("payload on GET_FEATURES", (d, p) -> d.sendRaw(GET_FEATURES, VERSION, 8, p, 8, null, 0)));
        c.add(new Case("unknown request", (d, p) -> d.sendRaw(99, VERSION, 0, p, 0, null, 0)));
        c.add(new Case("request 0", (d, p) -> d.sendRaw(0, VERSION, 0, p, 0, null, 0)));
        c.add(new Case("version 2", (d, p) -> d.sendRaw(GET_FEATURES, 2, 0, p, 0, null, 0)));
        c.add(new Case("reply flag on a request", (d, p) -> d.sendRaw(GET_FEATURES, VERSION | FLAG_REPLY, 0, p, 0, null, 0)));
        c.add(new Case("payload above the maximum", (d, p) -> d.sendRaw(SET_MEM_TABLE, VERSION, 100_000, p, 0, null, 0)));
        c.add(new Case("negative size", (d, p) -> d.sendRaw(SET_MEM_TABLE, VERSION, -1, p, 0, null, 0)));
        c.add(new Case("vring index out of range", (d, p) -> { state(p, 200, 64); d.sendRaw(SET_VRING_NUM, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("ring size not a power of two", (d, p) -> { state(p, 0, 100); d.sendRaw(SET_VRING_NUM, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("ring size 65536", (d, p) -> { state(p, 0, 65536); d.sendRaw(SET_VRING_NUM, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("base above 65535", (d, p) -> { state(p, 0, 70000); d.sendRaw(SET_VRING_BASE, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("vring state too short", (d, p) -> d.sendRaw(SET_VRING_NUM, VERSION, 4, p, 4, null, 0)));
        c.add(new Case("vring address too short", (d, p) -> d.sendRaw(SET_VRING_ADDR, VERSION, 32, p, 32, null, 0)));
        c.add(new Case("vring address unknown flags", (d, p) -> { state(p, 0, 6); d.sendRaw(SET_VRING_ADDR, VERSION, 40, p, 40, null, 0); }));
        c.add(new Case("memory table: 2 regions, 1 fd", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 2);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 64, p, 8 + 64, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("memory table: 0 regions", (d, p) -> { p.set(JAVA_INT_UNALIGNED, 0, 0); d.sendRaw(SET_MEM_TABLE, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("memory table: 9 regions", (d, p) -> { p.set(JAVA_INT_UNALIGNED, 0, 9); d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 9 * 32, p, 8 + 9 * 32, null, 0); }));
        c.add(new Case("memory table: size does not fit the count", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 40, p, 8 + 40, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("memory table: empty region", (d, p) -> {
            p.fill((byte) 0);
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("memory table: region wraps", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            p.set(JAVA_LONG_UNALIGNED, 8, -4096L);
            p.set(JAVA_LONG_UNALIGNED, 16, 8192L);
            p.set(JAVA_LONG_UNALIGNED, 24, 0L);
            p.set(JAVA_LONG_UNALIGNED, 32, 0L);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("memory table: fd that cannot be mapped", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            p.set(JAVA_LONG_UNALIGNED, 8, 0L);
            p.set(JAVA_LONG_UNALIGNED, 16, 1L << 20);
            p.set(JAVA_LONG_UNALIGNED, 24, 0x7000_0000_0000L);
            p.set(JAVA_LONG_UNALIGNED, 32, 0L);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("kick with the no-fd bit and an fd", (d, p) -> {
            p.set(JAVA_LONG_UNALIGNED, 0, VRING_NOFD_MASK);
            d.sendRaw(SET_VRING_KICK, VERSION, 8, p, 8, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("call without fd or no-fd bit", (d, p) -> { p.set(JAVA_LONG_UNALIGNED, 0, 0L); d.sendRaw(SET_VRING_CALL, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("kick with unknown bits", (d, p) -> {
            p.set(JAVA_LONG_UNALIGNED, 0, 1L << 20);
            d.sendRaw(SET_VRING_KICK, VERSION, 8, p, 8, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("descriptors on GET_FEATURES", (d, p) -> d.sendRaw(GET_FEATURES, VERSION, 0, p, 0, new int[] {eventfd(), eventfd()}, 2)));
        c.add(new Case("more descriptors than a message may carry", (d, p) -> {
            int[] fds = new int[12];
            for (int i = 0; i < fds.length; i++) fds[i] = eventfd();
            try (io.dsf.bindings.libc.ScmRights big = new io.dsf.bindings.libc.ScmRights(12)) {
                p.set(JAVA_INT_UNALIGNED, 0, SET_MEM_TABLE);
                p.set(JAVA_INT_UNALIGNED, 4, VERSION);
                p.set(JAVA_INT_UNALIGNED, 8, 0);
                assertEquals(12, big.send(d.socketFd(), p, 12, fds, 12, 0));
            }
        }));
        c.add(new Case("config size does not match the payload", (d, p) -> { state(p, 0, 60); d.sendRaw(GET_CONFIG, VERSION, 20, p, 20, null, 0); }));
        c.add(new Case("config range beyond 256 bytes", (d, p) -> { state(p, 250, 60); d.sendRaw(GET_CONFIG, VERSION, 72, p, 72, null, 0); }));
        c.add(new Case("features that were not offered", (d, p) -> { p.set(JAVA_LONG_UNALIGNED, 0, 1L << 63); d.sendRaw(SET_FEATURES, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("protocol features that were not offered", (d, p) -> { p.set(JAVA_LONG_UNALIGNED, 0, 1L << 40); d.sendRaw(SET_PROTOCOL_FEATURES, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("enable value 2", (d, p) -> { state(p, 0, 2); d.sendRaw(SET_VRING_ENABLE, VERSION, 8, p, 8, null, 0); }));
        c.add(new Case("inflight queue size 100", (d, p) -> {
            p.fill((byte) 0);
            p.set(JAVA_SHORT_UNALIGNED, 16, (short) 1);
            p.set(JAVA_SHORT_UNALIGNED, 18, (short) 100);
            d.sendRaw(GET_INFLIGHT_FD, VERSION, 24, p, 24, null, 0);
        }));
        c.add(new Case("set inflight without an fd", (d, p) -> {
            p.fill((byte) 0);
            p.set(JAVA_LONG_UNALIGNED, 0, 4096L);
            p.set(JAVA_SHORT_UNALIGNED, 16, (short) 1);
            p.set(JAVA_SHORT_UNALIGNED, 18, (short) 64);
            d.sendRaw(SET_INFLIGHT_FD, VERSION, 24, p, 24, null, 0);
        }));
        c.add(new Case("set inflight area too small", (d, p) -> {
            p.fill((byte) 0);
            p.set(JAVA_LONG_UNALIGNED, 0, 64L);
            p.set(JAVA_SHORT_UNALIGNED, 16, (short) 2);
            p.set(JAVA_SHORT_UNALIGNED, 18, (short) 64);
            d.sendRaw(SET_INFLIGHT_FD, VERSION, 24, p, 24, new int[] {eventfd()}, 1);
        }));
        c.add(new Case("ring started before the memory table", (d, p) -> {
            d.negotiate(0);
            d.setState(SET_VRING_NUM, 0, 64);
            p.fill((byte) 0);
            d.sendRaw(SET_VRING_ADDR, VERSION, 40, p, 40, null, 0);
            d.setU64(SET_VRING_KICK, 0, false, eventfd());
            d.setState(SET_VRING_ENABLE, 0, 1);
        }));
        c.add(new Case("ring outside guest memory", (d, p) -> {
            d.negotiate(0);
            d.createGuestMemory(1 << 20);
            d.setState(SET_VRING_NUM, 0, 64);
            p.fill((byte) 0);
            p.set(JAVA_LONG_UNALIGNED, 8, 0x1000L);
            p.set(JAVA_LONG_UNALIGNED, 16, 0x2000L);
            p.set(JAVA_LONG_UNALIGNED, 24, 0x3000L);
            d.sendRaw(SET_VRING_ADDR, VERSION, 40, p, 40, null, 0);
            d.setU64(SET_VRING_KICK, 0, false, eventfd());
            d.setState(SET_VRING_ENABLE, 0, 1);
        }));
        // ---- out of order: ring state changed under a running ring, areas swapped while rings run
        c.add(new Case("SET_VRING_NUM while the ring runs", (d, p) -> { running(d); d.setState(SET_VRING_NUM, 0, 32); }));
        c.add(new Case("SET_VRING_BASE while the ring runs", (d, p) -> { running(d); d.setState(SET_VRING_BASE, 0, 5); }));
        c.add(new Case("SET_VRING_ADDR while the ring runs", (d, p) -> {
            running(d);
            p.fill((byte) 0);
            d.sendRaw(SET_VRING_ADDR, VERSION, 40, p, 40, null, 0);
        }));
        c.add(new Case("GET_INFLIGHT_FD while a ring runs", (d, p) -> {
            running(d);
            p.fill((byte) 0);
            p.set(JAVA_SHORT_UNALIGNED, 16, (short) 1);
            p.set(JAVA_SHORT_UNALIGNED, 18, (short) 16);
            d.sendRaw(GET_INFLIGHT_FD, VERSION, 24, p, 24, null, 0);
        }));
        c.add(new Case("kick (auto-enabling) before the ring size", (d, p) -> {
            d.negotiate(VHOST_USER_F_PROTOCOL_FEATURES); // without protocol features a kick enables the ring
            d.createGuestMemory(1 << 20);
            d.setU64(SET_VRING_KICK, 0, false, eventfd());
        }));
        c.add(new Case("memory table replaced by one the running ring is not inside", (d, p) -> {
            running(d);
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            p.set(JAVA_INT_UNALIGNED, 4, 0);
            region(p, 0, VhostUserDriver.GPA_BASE, 1 << 20, 0x7200_0000_0000L, 0);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {memfd(1 << 20)}, 1);
        }));
        // ---- messages this back-end does not implement, some carrying descriptors
        c.add(new Case("SET_LOG_BASE with a descriptor", (d, p) -> { p.fill((byte) 0); d.sendRaw(SET_LOG_BASE, VERSION, 16, p, 16, new int[] {eventfd()}, 1); }));
        c.add(new Case("SET_LOG_FD", (d, p) -> d.sendRaw(SET_LOG_FD, VERSION, 0, p, 0, new int[] {eventfd()}, 1)));
        c.add(new Case("ADD_MEM_REG", (d, p) -> { p.fill((byte) 0); d.sendRaw(37, VERSION, 40, p, 40, new int[] {memfd(4096)}, 1); }));
        c.add(new Case("SET_SLAVE_REQ_FD", (d, p) -> d.sendRaw(21, VERSION, 0, p, 0, new int[] {eventfd()}, 1)));
        // ---- wrong descriptor counts
        c.add(new Case("SET_VRING_ERR with 2 descriptors", (d, p) -> { p.set(JAVA_LONG_UNALIGNED, 0, 0L); d.sendRaw(SET_VRING_ERR, VERSION, 8, p, 8, new int[] {eventfd(), eventfd()}, 2); }));
        c.add(new Case("SET_VRING_CALL for a vring out of range, with a descriptor", (d, p) -> { p.set(JAVA_LONG_UNALIGNED, 0, 0xffL); d.sendRaw(SET_VRING_CALL, VERSION, 8, p, 8, new int[] {eventfd()}, 1); }));
        c.add(new Case("memory table: 1 region, 3 descriptors", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            region(p, 0, VhostUserDriver.GPA_BASE, 1 << 20, 0x7200_0000_0000L, 0);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {memfd(1 << 20), eventfd(), eventfd()}, 3);
        }));
        c.add(new Case("SET_INFLIGHT_FD with 2 descriptors", (d, p) -> {
            p.fill((byte) 0);
            p.set(JAVA_LONG_UNALIGNED, 0, 4096L);
            p.set(JAVA_SHORT_UNALIGNED, 16, (short) 1);
            p.set(JAVA_SHORT_UNALIGNED, 18, (short) 16);
            d.sendRaw(SET_INFLIGHT_FD, VERSION, 24, p, 24, new int[] {memfd(4096), memfd(4096)}, 2);
        }));
        c.add(new Case("GET_VRING_BASE with a descriptor", (d, p) -> { state(p, 0, 0); d.sendRaw(GET_VRING_BASE, VERSION, 8, p, 8, new int[] {eventfd()}, 1); }));
        c.add(new Case("SET_OWNER with a descriptor", (d, p) -> d.sendRaw(SET_OWNER, VERSION, 0, p, 0, new int[] {eventfd()}, 1)));
        // ---- wrong sizes
        c.add(new Case("SET_FEATURES of 4 bytes", (d, p) -> d.sendRaw(SET_FEATURES, VERSION, 4, p, 4, null, 0)));
        c.add(new Case("GET_VRING_BASE of 4 bytes", (d, p) -> d.sendRaw(GET_VRING_BASE, VERSION, 4, p, 4, null, 0)));
        c.add(new Case("SET_VRING_ENABLE of 16 bytes", (d, p) -> { state(p, 0, 1); d.sendRaw(SET_VRING_ENABLE, VERSION, 16, p, 16, null, 0); }));
        c.add(new Case("SET_PROTOCOL_FEATURES of 16 bytes", (d, p) -> { p.fill((byte) 0); d.sendRaw(SET_PROTOCOL_FEATURES, VERSION, 16, p, 16, null, 0); }));
        c.add(new Case("SET_INFLIGHT_FD of 16 bytes", (d, p) -> { p.fill((byte) 0); d.sendRaw(SET_INFLIGHT_FD, VERSION, 16, p, 16, new int[] {memfd(4096)}, 1); }));
        c.add(new Case("vring kick of 16 bytes", (d, p) -> { p.fill((byte) 0); d.sendRaw(SET_VRING_KICK, VERSION, 16, p, 16, new int[] {eventfd()}, 1); }));
        c.add(new Case("memory table: 8 + 33 bytes", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            region(p, 0, VhostUserDriver.GPA_BASE, 1 << 20, 0x7200_0000_0000L, 0);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 33, p, 8 + 33, new int[] {memfd(1 << 20)}, 1);
        }));
        // ---- memory tables that would map wrong memory
        c.add(new Case("memory table: overlapping regions", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 2);
            region(p, 0, VhostUserDriver.GPA_BASE, 1 << 20, 0x7200_0000_0000L, 0);
            region(p, 1, VhostUserDriver.GPA_BASE + (512 << 10), 1 << 20, 0x7300_0000_0000L, 0);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 64, p, 8 + 64, new int[] {memfd(1 << 20), memfd(1 << 20)}, 2);
        }));
        c.add(new Case("memory table: negative mmap offset", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            region(p, 0, VhostUserDriver.GPA_BASE, 1 << 20, 0x7200_0000_0000L, -4096L);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {memfd(1 << 20)}, 1);
        }));
        c.add(new Case("memory table: mmap offset past the file", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 1);
            region(p, 0, VhostUserDriver.GPA_BASE, 1 << 20, 0x7200_0000_0000L, 1L << 20);
            d.sendRaw(SET_MEM_TABLE, VERSION, 8 + 32, p, 8 + 32, new int[] {memfd(1 << 20)}, 1);
        }));
        c.add(new Case("SET_CONFIG of a read-only field", (d, p) -> {
            p.set(JAVA_INT_UNALIGNED, 0, 0);   // capacity
            p.set(JAVA_INT_UNALIGNED, 4, 8);
            p.set(JAVA_INT_UNALIGNED, 8, 0);
            p.set(JAVA_LONG_UNALIGNED, 12, 1L << 40);
            d.sendRaw(SET_CONFIG, VERSION, 20, p, 20, null, 0);
        }));
        c.add(new Case("truncated payload", (d, p) -> {
            d.sendRaw(SET_FEATURES, VERSION, 8, p, 4, null, 0);
            Libc.shutdown(d.socketFd(), Libc.SHUT_WR);
        }));
        c.add(new Case("truncated header", (d, p) -> {
            assertEquals(6, Libc.write(d.socketFd(), p, 6));
            Libc.shutdown(d.socketFd(), Libc.SHUT_WR);
        }));
        return c;
    }

    @Test
    void everyMalformedMessageClosesItsConnectionAndTheServerGoesOn() throws Exception {
        long before = server.connections();
        List<Case> all = cases();
        runCases(all); // the first round also opens whatever the JVM and the server open once
        long fdsBefore = openFds();
        runCases(all);
        assertEquals(before + 4L * all.size(), server.connections());
        long leaked = openFds() - fdsBefore;
        assertTrue(leaked <= 1, leaked + " more open descriptors after a second round of " + all.size()
                + " refused connections: the server must close every descriptor it was passed");
    }

    private void runCases(List<Case> cases) throws Exception {
        for (Case k : cases) {
            try (VhostUserDriver d = VhostUserDriver.connect(server.socket())) {
                MemorySegment p = arena.allocate(MAX_PAYLOAD, 8);
                k.bad.send(d, p);
                assertTrue(d.closedByPeer(5000), k.name + ": the back-end closes the connection");
            } finally {
                closeMade();
            }
            try (VhostUserDriver ok = VhostUserDriver.connect(server.socket())) {
                assertNotEquals(0, ok.getU64(GET_FEATURES) & VIRTIO_F_VERSION_1, k.name + ": the next connection is served");
            }
        }
    }

    @Test
    void replyAckReportsSuccessAndFailure() throws Exception {
        try (VhostUserDriver d = VhostUserDriver.connect(server.socket())) {
            long pf = d.getU64(GET_PROTOCOL_FEATURES);
            assertNotEquals(0, pf & PROTOCOL_F_REPLY_ACK);
            assertNotEquals(0, pf & PROTOCOL_F_CONFIG);
            assertNotEquals(0, pf & PROTOCOL_F_INFLIGHT_SHMFD);
            assertNotEquals(0, pf & PROTOCOL_F_MQ);
            d.setU64(SET_PROTOCOL_FEATURES, PROTOCOL_F_REPLY_ACK | PROTOCOL_F_MQ, false);
            assertEquals(0, d.setU64(SET_FEATURES, d.getU64(GET_FEATURES), true), "ack 0 for a good message");
            MemorySegment p = arena.allocate(8, 8);
            state(p, 200, 64);
            d.send(SET_VRING_NUM, true, p, 8);
            assertEquals(8, d.readReply(SET_VRING_NUM));
            assertEquals(1, d.replyPayload().get(JAVA_LONG_UNALIGNED, 0), "ack 1 for a refused message");
            assertTrue(d.closedByPeer(5000));
        }
    }

    @Test
    void inflightAreaIsCreatedForTheFrontEnd() throws Exception {
        try (VhostUserDriver d = VhostUserDriver.connect(server.socket())) {
            d.negotiate(0);
            MemorySegment p = arena.allocate(24, 8);
            p.fill((byte) 0);
            p.set(JAVA_SHORT_UNALIGNED, 16, (short) 2);
            p.set(JAVA_SHORT_UNALIGNED, 18, (short) 128);
            d.send(GET_INFLIGHT_FD, false, p, 24);
            assertEquals(24, d.readReply(GET_INFLIGHT_FD));
            long size = d.replyPayload().get(JAVA_LONG_UNALIGNED, 0);
            assertEquals(2 * io.dsf.frodo.virtq.InflightQueue.queueRegionSize(128), size);
            int fd = d.lastReplyFd();
            assertTrue(fd >= 0, "the area's memfd came with the reply");
            // hand it back as QEMU does
            MemorySegment s = arena.allocate(24, 8);
            MemorySegment.copy(d.replyPayload(), 0, s, 0, 24);
            d.send(SET_INFLIGHT_FD, false, s, 24, fd);
            assertEquals(1, d.getU64(GET_QUEUE_NUM) > 0 ? 1 : 0, "still connected");
            Libc.close(fd);
        }
    }

    /**
     * A memory table whose region is larger than the file behind it: mapping it succeeds, but any
     * access beyond the file's end would fault (SIGBUS). The table is refused before anything touches it.
     */
    @Test
    void regionLargerThanTheFileBehindItIsRefused() throws Exception {
        int memfd = Errno.check(Libc.memfd_create(arena.allocateFrom("short-guest"), Libc.MFD_CLOEXEC), "memfd");
        try {
            Errno.check(Libc.ftruncate(memfd, 1 << 20), "ftruncate");
            try (VhostUserDriver d = VhostUserDriver.connect(server.socket())) {
                d.negotiate(0);
                MemorySegment p = arena.allocate(8 + MEM_REGION_SIZE, 8);
                p.set(JAVA_INT_UNALIGNED, 0, 1);
                p.set(JAVA_INT_UNALIGNED, 4, 0);
                p.set(JAVA_LONG_UNALIGNED, 8, VhostUserDriver.GPA_BASE);
                p.set(JAVA_LONG_UNALIGNED, 16, 64L << 20);       // 64 MiB claimed ...
                p.set(JAVA_LONG_UNALIGNED, 24, 0x7100_0000_0000L);
                p.set(JAVA_LONG_UNALIGNED, 32, 0L);
                d.send(SET_MEM_TABLE, false, p, 8 + MEM_REGION_SIZE, memfd); // ... over a 1 MiB file
                assertTrue(d.closedByPeer(5000), "the table is refused");
            }
            try (VhostUserDriver ok = VhostUserDriver.connect(server.socket())) {
                assertNotEquals(0, ok.getU64(GET_FEATURES) & VIRTIO_F_VERSION_1, "the server goes on");
            }
        } finally {
            Libc.close(memfd);
        }
    }
}
