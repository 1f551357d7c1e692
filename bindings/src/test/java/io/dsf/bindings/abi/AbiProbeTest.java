package io.dsf.bindings.abi;

import io.dsf.bindings.libc.LibcMacros;
import io.dsf.bindings.libc.gen.Libc;
import io.dsf.bindings.uring.gen.IoUring;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
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
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs {@code native/target/abi-probe} (built from this machine's headers) and fails when a Java
 * struct layout, field offset or hardcoded constant of the libc and io_uring bindings disagrees
 * with C, or when the bindings lay out a struct, field or constant the probe does not check.
 */
@Timeout(60)
class AbiProbeTest {
    /** Probe sections this test owns: {@code <lib>_structs} / {@code <lib>_consts} / {@code <lib>_macros}. */
    private static final Map<String, String> GEN_PACKAGES = Map.of(
            "libc", "io.dsf.bindings.libc.gen",
            "uring", "io.dsf.bindings.uring.gen");
    private static final List<Class<?>> CONSTANT_HOLDERS = List.of(Libc.class, IoUring.class);
    private static final Map<String, List<String>> STRUCTS = Map.of(
            "libc", List.of("timespec", "stat", "statx_timestamp", "statx", "iovec", "msghdr", "cmsghdr", "sockaddr_un", "epoll_event"),
            "uring", List.of("io_sqring_offsets", "io_cqring_offsets", "io_uring_params", "io_uring_sqe", "io_uring_cqe",
                    "__kernel_timespec", "io_uring_getevents_arg", "io_uring_rsrc_update"));

    record StructFact(String lib, String name, long size, Map<String, long[]> fields) {}

    private static final Map<String, StructFact> structs = new LinkedHashMap<>();
    private static final Map<String, Long> consts = new LinkedHashMap<>();

    @BeforeAll
    static void runProbe() throws Exception {
        String dir = System.getProperty("dsf.native.dir", "../native/target");
        Path probe = Path.of(dir, "abi-probe");
        assertTrue(Files.isExecutable(probe), "ABI probe not built: " + probe + " (the native module's make builds it; needs gcc)");
        Process p = new ProcessBuilder(probe.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "abi-probe did not finish");
        assertEquals(0, p.exitValue(), "abi-probe failed:\n" + out);
        parse(out);
    }

    private static void parse(String out) throws IOException {
        String lib = null;
        for (String line : out.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (line.startsWith("# section ")) {
                String section = w[2];
                String l = section.substring(0, section.indexOf('_'));
                lib = GEN_PACKAGES.containsKey(l) ? l : null; // other libraries' sections are checked by their own tests
                continue;
            }
            if (lib == null || line.startsWith("#") || line.isBlank()) continue;
            switch (w[0]) {
                case "struct" -> structs.put(w[1], new StructFact(lib, w[1], Long.parseLong(w[3]), new LinkedHashMap<>()));
                case "field" -> {
                    String s = w[1].substring(0, w[1].indexOf('.'));
                    String f = w[1].substring(w[1].indexOf('.') + 1);
                    StructFact sf = structs.get(s);
                    if (sf == null) throw new IOException("field before its struct: " + line);
                    sf.fields.put(f, new long[] {Long.parseLong(w[2]), Long.parseLong(w[3])});
                }
                case "const" -> consts.put(w[1], Long.parseLong(w[2]));
                default -> throw new IOException("unparseable probe line: " + line);
            }
        }
        assertTrue(structs.size() > 10 && consts.size() > 100, "probe output looks truncated:\n" + out);
    }

    private static Class<?> structClass(String lib, String name) {
        try {
            return Class.forName(GEN_PACKAGES.get(lib) + "." + name);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    @Test
    void structSizesAndFieldOffsetsMatchC() throws Exception {
        List<String> problems = new ArrayList<>();
        for (StructFact sf : structs.values()) {
            Class<?> c = structClass(sf.lib, sf.name);
            if (c == null) {
                problems.add("struct " + sf.name + ": probed but no class " + GEN_PACKAGES.get(sf.lib) + "." + sf.name);
                continue;
            }
            GroupLayout layout = (GroupLayout) c.getField("LAYOUT").get(null);
            if (layout.byteSize() != sf.size)
                problems.add("struct " + sf.name + ": Java size " + layout.byteSize() + ", C size " + sf.size);
            for (var f : sf.fields.entrySet()) {
                long cOff = f.getValue()[0], cSize = f.getValue()[1];
                Field jf;
                try {
                    jf = c.getField(f.getKey() + "$OFFSET");
                } catch (NoSuchFieldException e) {
                    problems.add(sf.name + "." + f.getKey() + ": no " + f.getKey() + "$OFFSET in " + c.getSimpleName());
                    continue;
                }
                long jOff = jf.getLong(null);
                if (jOff != cOff) problems.add(sf.name + "." + f.getKey() + ": Java offset " + jOff + ", C offset " + cOff);
                long[] found = find(layout, f.getKey(), 0);
                if (found == null) problems.add(sf.name + "." + f.getKey() + ": not named in the Java layout");
                else {
                    if (found[0] != cOff) problems.add(sf.name + "." + f.getKey() + ": layout offset " + found[0] + ", C offset " + cOff);
                    if (found[1] != cSize) problems.add(sf.name + "." + f.getKey() + ": layout size " + found[1] + ", C size " + cSize);
                }
            }
            // every offset the bindings publish must be probed
            for (Field jf : c.getFields()) {
                if (jf.getName().endsWith("$OFFSET") && !sf.fields.containsKey(jf.getName().replace("$OFFSET", "")))
                    problems.add(sf.name + ": Java publishes " + jf.getName() + " but the probe does not check it");
            }
        }
        for (var e : STRUCTS.entrySet())
            for (String s : e.getValue())
                if (!structs.containsKey(s)) problems.add("struct " + s + ": laid out in Java but not probed");
        if (!problems.isEmpty()) fail(problems.size() + " ABI mismatches:\n  " + String.join("\n  ", problems));
    }

    /** Finds a named member anywhere inside {@code g} (through anonymous unions and structs); returns {offset, size}. */
    private static long[] find(GroupLayout g, String name, long base) {
        long off = 0;
        boolean union = g instanceof java.lang.foreign.UnionLayout;
        for (MemoryLayout m : g.memberLayouts()) {
            long at = base + (union ? 0 : off);
            if (m.name().isPresent() && m.name().get().equals(name)) return new long[] {at, m.byteSize()};
            if (m instanceof GroupLayout inner && m.name().map(n -> n.startsWith("$anon")).orElse(false)) {
                long[] r = find(inner, name, at);
                if (r != null) return r;
            }
            off += m.byteSize();
        }
        return null;
    }

    @Test
    void constantsMatchC() throws Exception {
        List<String> problems = new ArrayList<>();
        Set<String> javaConstants = new TreeSet<>();
        for (Class<?> holder : CONSTANT_HOLDERS) {
            for (Field f : holder.getFields()) {
                int m = f.getModifiers();
                if (!Modifier.isStatic(m) || !Modifier.isFinal(m)) continue;
                if (f.getType() != int.class && f.getType() != long.class) continue;
                javaConstants.add(f.getName());
                Long c = consts.get(f.getName());
                if (c == null) {
                    problems.add(holder.getSimpleName() + "." + f.getName() + ": hardcoded in Java but not probed");
                    continue;
                }
                long j = f.getType() == int.class ? f.getInt(null) : f.getLong(null);
                boolean same = j == c || (f.getType() == int.class && (j & 0xffffffffL) == c);
                if (!same) problems.add(f.getName() + ": Java " + j + ", C " + c);
            }
        }
        Map<String, Long> macros = Map.of(
                "CMSG_ALIGN_1", LibcMacros.CMSG_ALIGN(1),
                "CMSG_LEN_4", LibcMacros.CMSG_LEN(4),
                "CMSG_SPACE_4", LibcMacros.CMSG_SPACE(4),
                "CMSG_SPACE_32", LibcMacros.CMSG_SPACE(32),
                "CMSG_DATA_OFFSET", LibcMacros.CMSG_DATA_OFFSET);
        for (var e : consts.entrySet()) {
            if (macros.containsKey(e.getKey())) {
                if (macros.get(e.getKey()).longValue() != e.getValue())
                    problems.add(e.getKey() + ": LibcMacros gives " + macros.get(e.getKey()) + ", C " + e.getValue());
            } else if (!javaConstants.contains(e.getKey())) {
                problems.add(e.getKey() + ": probed but not defined in " + CONSTANT_HOLDERS);
            }
        }
        if (!problems.isEmpty()) fail(problems.size() + " constant mismatches:\n  " + String.join("\n  ", problems));
    }
}
