package io.dsf.rdma.verbs.gen;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The verbs bindings against this machine's rdma-core headers: runs {@code native/abi-probe} and
 * compares its {@code verbs_*} and {@code rdmacm_*} sections (sizes, field offsets and sizes,
 * constants) with the layouts and constants in {@code io.dsf.rdma.verbs.gen}, both ways (nothing
 * probed is missing in Java, nothing Java lays out or hardcodes is unprobed). Skips, saying why,
 * where the headers are not installed (the probe then has no such sections).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VerbsAbiTest {
    private static final List<String> STRUCTS = List.of("ibv_sge", "ibv_send_wr", "ibv_recv_wr", "ibv_wc", "ibv_qp_cap",
            "ibv_qp_init_attr", "ibv_mr", "ibv_comp_channel", "rdma_event_channel", "rdma_conn_param", "sockaddr_in", "sockaddr_in6");
    private static final List<Class<?>> CONSTANT_HOLDERS = List.of(ibverbs_h.class, rdma_cma_h.class);

    record StructFact(String name, long size, Map<String, long[]> fields) {}

    private static final Map<String, StructFact> structs = new LinkedHashMap<>();
    private static final Map<String, Long> consts = new LinkedHashMap<>();

    @BeforeAll
    static void runProbe() throws Exception {
        Path probe = Path.of(System.getProperty("dsf.native.dir", "../native/target"), "abi-probe");
        assertTrue(Files.isExecutable(probe), "ABI probe not built: " + probe + " (native/'s make builds it; needs gcc)");
        Process p = new ProcessBuilder(probe.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "abi-probe did not finish");
        assertEquals(0, p.exitValue(), "abi-probe failed:\n" + out);
        boolean mine = false;
        for (String line : out.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (line.startsWith("# section ")) {
                mine = w[2].startsWith("verbs_") || w[2].startsWith("rdmacm_");
                continue;
            }
            if (!mine || line.startsWith("#") || line.isBlank()) continue;
            switch (w[0]) {
                case "struct" -> structs.put(w[1], new StructFact(w[1], Long.parseLong(w[3]), new LinkedHashMap<>()));
                case "field" -> {
                    String s = w[1].substring(0, w[1].indexOf('.'));
                    structs.get(s).fields().put(w[1].substring(w[1].indexOf('.') + 1), new long[] {Long.parseLong(w[2]), Long.parseLong(w[3])});
                }
                case "const" -> consts.put(w[1], Long.parseLong(w[2]));
                default -> fail("unparseable probe line: " + line);
            }
        }
        if (structs.isEmpty()) System.out.println("VerbsAbiTest skipped: the ABI probe has no verbs sections "
                + "(rdma-core headers not installed when native/ was built: apt-get install libibverbs-dev librdmacm-dev)");
        assumeTrue(!structs.isEmpty(), "rdma-core headers not installed (libibverbs-dev, librdmacm-dev): no verbs ABI to compare");
    }

    @Test
    void structLayoutsMatchTheHeaders() throws Exception {
        List<String> problems = new ArrayList<>();
        for (String name : STRUCTS) if (!structs.containsKey(name)) problems.add("struct " + name + ": laid out in Java but not probed");
        for (StructFact sf : structs.values()) {
            Class<?> c;
            try {
                c = Class.forName("io.dsf.rdma.verbs.gen." + sf.name());
            } catch (ClassNotFoundException e) {
                problems.add("struct " + sf.name() + ": probed but no Java class");
                continue;
            }
            GroupLayout layout = (GroupLayout) c.getField("LAYOUT").get(null);
            if (layout.byteSize() != sf.size()) problems.add(sf.name() + ": Java size " + layout.byteSize() + ", C size " + sf.size());
            for (var f : sf.fields().entrySet()) {
                long[] c0 = f.getValue();
                long[] j = find(layout, f.getKey());
                if (j == null) {
                    problems.add(sf.name() + "." + f.getKey() + ": not in the Java layout");
                    continue;
                }
                if (j[0] != c0[0]) problems.add(sf.name() + "." + f.getKey() + ": Java offset " + j[0] + ", C offset " + c0[0]);
                if (j[1] != c0[1]) problems.add(sf.name() + "." + f.getKey() + ": Java size " + j[1] + ", C size " + c0[1]);
                long published = c.getField(f.getKey() + "$OFFSET").getLong(null);
                if (published != c0[0]) problems.add(sf.name() + "." + f.getKey() + "$OFFSET is " + published + ", C offset " + c0[0]);
            }
            for (Field jf : c.getFields())
                if (jf.getName().endsWith("$OFFSET") && !sf.fields().containsKey(jf.getName().replace("$OFFSET", "")))
                    problems.add(sf.name() + ": Java publishes " + jf.getName() + " but the probe does not check it");
            for (MemoryLayout m : layout.memberLayouts())
                if (m.name().isPresent() && !sf.fields().containsKey(m.name().get()))
                    problems.add(sf.name() + "." + m.name().get() + ": named in Java but not probed");
        }
        if (!problems.isEmpty()) fail(problems.size() + " layout mismatches:\n  " + String.join("\n  ", problems));
    }

    private static long[] find(GroupLayout g, String name) {
        long off = 0;
        for (MemoryLayout m : g.memberLayouts()) {
            if (m.name().isPresent() && m.name().get().equals(name)) return new long[] {off, m.byteSize()};
            off += m.byteSize();
        }
        return null;
    }

    @Test
    void constantsMatchTheHeaders() throws Exception {
        List<String> problems = new ArrayList<>();
        TreeSet<String> java = new TreeSet<>();
        for (Class<?> holder : CONSTANT_HOLDERS) {
            for (Field f : holder.getFields()) {
                int m = f.getModifiers();
                if (!Modifier.isStatic(m) || !Modifier.isFinal(m) || (f.getType() != int.class && f.getType() != long.class)) continue;
                java.add(f.getName());
                Long c = consts.get(f.getName());
                long j = f.getType() == int.class ? f.getInt(null) : f.getLong(null);
                if (c == null) problems.add(holder.getSimpleName() + "." + f.getName() + ": hardcoded in Java but not probed");
                else if (c != j) problems.add(f.getName() + ": Java " + j + ", C " + c);
            }
        }
        for (String c : consts.keySet()) if (!java.contains(c)) problems.add(c + ": probed but not defined in " + CONSTANT_HOLDERS);
        if (!problems.isEmpty()) fail(problems.size() + " constant mismatches:\n  " + String.join("\n  ", problems));
    }

    @Test
    void theShimWasBuiltAgainstTheSameLayouts() {
        assumeTrue(verbs_shim_h.present(), "verbs shim not built: " + verbs_shim_h.location());
        assertEquals(ibv_sge.sizeof(), verbs_shim_h.dsf_verbs_shim_sizeof(0));
        assertEquals(ibv_send_wr.sizeof(), verbs_shim_h.dsf_verbs_shim_sizeof(1));
        assertEquals(ibv_recv_wr.sizeof(), verbs_shim_h.dsf_verbs_shim_sizeof(2));
        assertEquals(ibv_wc.sizeof(), verbs_shim_h.dsf_verbs_shim_sizeof(3));
        assertEquals(-1, verbs_shim_h.dsf_verbs_shim_sizeof(4));
    }
}
