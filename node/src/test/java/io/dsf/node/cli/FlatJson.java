package io.dsf.node.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/** Test helper: parses one flat JSON object (strings, numbers, booleans) strictly. Not thread safe. */
final class FlatJson {
    private final String s;
    private int i;

    private FlatJson(String s) { this.s = s; }

    static Map<String, Object> parse(String text) {
        FlatJson p = new FlatJson(text);
        Map<String, Object> m = p.object();
        if (p.i != text.length()) throw new IllegalArgumentException("junk after the object at " + p.i);
        return m;
    }

    private Map<String, Object> object() {
        Map<String, Object> m = new LinkedHashMap<>();
        expect('{');
        if (peek() == '}') { i++; return m; }
        while (true) {
            String k = string();
            expect(':');
            if (m.put(k, value()) != null) throw new IllegalArgumentException("duplicate key " + k);
            char c = s.charAt(i++);
            if (c == '}') return m;
            if (c != ',') throw new IllegalArgumentException("expected , or } at " + (i - 1));
        }
    }

    private Object value() {
        char c = peek();
        if (c == '"') return string();
        if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
        if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
        int start = i;
        while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
        if (start == i) throw new IllegalArgumentException("bad value at " + i);
        return Double.parseDouble(s.substring(start, i));
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (true) {
            char c = s.charAt(i++);
            if (c == '"') return b.toString();
            if (c == '\\') {
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'u' -> { b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; }
                    default -> b.append(e);
                }
            } else {
                if (c < 0x20) throw new IllegalArgumentException("control character in string at " + (i - 1));
                b.append(c);
            }
        }
    }

    private char peek() { return s.charAt(i); }

    private void expect(char c) {
        if (s.charAt(i) != c) throw new IllegalArgumentException("expected " + c + " at " + i + " in " + s);
        i++;
    }
}
