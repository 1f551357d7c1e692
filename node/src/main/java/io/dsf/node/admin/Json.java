package io.dsf.node.admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The small JSON subset the admin protocol speaks (RFC 8259 values): objects become
 * {@code LinkedHashMap<String, Object>}, arrays {@code ArrayList<Object>}, numbers {@code Long} when
 * integral and in range, else {@code Double}; strings, booleans and {@code null} as themselves.
 * Parsing is strict (no trailing commas, no comments, no duplicate keys, nothing after the value)
 * and bounded (nesting depth {@value #MAX_DEPTH}), so hostile input ends in a {@link JsonException}
 * with the position, never in a stack overflow. Stateless; thread safe.
 */
public final class Json {
    /** Deepest nesting of objects and arrays accepted. */
    public static final int MAX_DEPTH = 32;

    private Json() {}

    /** Malformed JSON text: the message says what and where. */
    public static final class JsonException extends IllegalArgumentException {
        JsonException(String message) { super(message); }
    }

    /** Parses one JSON value that makes up the whole of {@code text} (surrounding whitespace allowed). */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.ws();
        Object v = p.value(0);
        p.ws();
        if (p.i != text.length()) throw p.error("unexpected text after the value");
        return v;
    }

    /** Parses a JSON object; anything else is a {@link JsonException}. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) throw new JsonException("expected a JSON object, got " + kind(v));
        return (Map<String, Object>) v;
    }

    /** What kind of JSON value {@code v} is, for messages. */
    public static String kind(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Boolean) return "a boolean";
        return "a number";
    }

    /** One line of JSON for maps, lists, strings, numbers, booleans and null. */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder(128);
        write(b, v, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, int depth) {
        if (depth > MAX_DEPTH) throw new IllegalArgumentException("value nested deeper than " + MAX_DEPTH);
        switch (v) {
            case null -> b.append("null");
            case String s -> quote(b, s);
            case Boolean x -> b.append(x);
            case Long x -> b.append(x);
            case Integer x -> b.append(x);
            case Short x -> b.append(x);
            case Double x -> number(b, x);
            case Float x -> number(b, x);
            case Map<?, ?> m -> {
                b.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) b.append(',');
                    first = false;
                    quote(b, String.valueOf(e.getKey()));
                    b.append(':');
                    write(b, e.getValue(), depth + 1);
                }
                b.append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) b.append(',');
                    write(b, l.get(i), depth + 1);
                }
                b.append(']');
            }
            default -> throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
        }
    }

    private static void number(StringBuilder b, double d) {
        if (!Double.isFinite(d)) b.append("null");
        else if (d == Math.rint(d) && Math.abs(d) < 1e15) b.append((long) d);
        else b.append(d); // the shortest decimal that reads back as d; valid JSON (e.g. 1.5E-7)
    }

    private static void quote(StringBuilder b, String s) {
        io.dsf.stargate.stats.VDiskStatsSnapshot.quote(b, s);
    }

    /** A recursive-descent parser over one string; not thread safe (one per call). */
    private static final class Parser {
        final String s;
        int i;

        Parser(String s) { this.s = s; }

        JsonException error(String what) {
            return new JsonException(what + " at offset " + i);
        }

        void ws() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                i++;
            }
        }

        Object value(int depth) {
            if (i >= s.length()) throw error("unexpected end of input");
            char c = s.charAt(i);
            return switch (c) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) yield number();
                    throw error("unexpected character '" + printable(c) + "'");
                }
            };
        }

        Object literal(String word, Object v) {
            if (!s.startsWith(word, i)) throw error("unexpected character '" + printable(s.charAt(i)) + "'");
            i += word.length();
            return v;
        }

        Map<String, Object> object(int depth) {
            if (depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH);
            i++; // {
            Map<String, Object> m = new LinkedHashMap<>();
            ws();
            if (i < s.length() && s.charAt(i) == '}') { i++; return m; }
            while (true) {
                ws();
                if (i >= s.length() || s.charAt(i) != '"') throw error("expected a string key");
                String k = string();
                ws();
                expect(':');
                ws();
                Object v = value(depth);
                if (m.containsKey(k)) throw error("duplicate key \"" + k + "\"");
                m.put(k, v);
                ws();
                if (i >= s.length()) throw error("unexpected end of input in an object");
                char c = s.charAt(i++);
                if (c == '}') return m;
                if (c != ',') { i--; throw error("expected ',' or '}'"); }
            }
        }

        List<Object> array(int depth) {
            if (depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH);
            i++; // [
            List<Object> l = new ArrayList<>();
            ws();
            if (i < s.length() && s.charAt(i) == ']') { i++; return l; }
            while (true) {
                ws();
                l.add(value(depth));
                ws();
                if (i >= s.length()) throw error("unexpected end of input in an array");
                char c = s.charAt(i++);
                if (c == ']') return l;
                if (c != ',') { i--; throw error("expected ',' or ']'"); }
            }
        }

        void expect(char c) {
            if (i >= s.length() || s.charAt(i) != c) throw error("expected '" + c + "'");
            i++;
        }

        String string() {
            i++; // "
            StringBuilder b = null;
            int start = i;
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i);
                if (c == '"') {
                    String r = b == null ? s.substring(start, i) : b.append(s, start, i).toString();
                    i++;
                    return r;
                }
                if (c < 0x20) throw error("control character in a string");
                if (c != '\\') { i++; continue; }
                if (b == null) b = new StringBuilder();
                b.append(s, start, i);
                i++;
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case '/' -> b.append('/');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw error("short \\u escape");
                        int v = 0;
                        for (int k = 0; k < 4; k++) {
                            int d = Character.digit(s.charAt(i + k), 16);
                            if (d < 0) throw error("bad \\u escape");
                            v = v << 4 | d;
                        }
                        i += 4;
                        b.append((char) v);
                    }
                    default -> { i--; throw error("bad escape '\\" + printable(e) + "'"); }
                }
                start = i;
            }
        }

        Object number() {
            int start = i;
            if (s.charAt(i) == '-') i++;
            if (i >= s.length() || !digit(s.charAt(i))) throw error("bad number");
            if (s.charAt(i) == '0') i++;
            else while (i < s.length() && digit(s.charAt(i))) i++;
            boolean integral = true;
            if (i < s.length() && s.charAt(i) == '.') {
                integral = false;
                i++;
                if (i >= s.length() || !digit(s.charAt(i))) throw error("bad number");
                while (i < s.length() && digit(s.charAt(i))) i++;
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                integral = false;
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
                if (i >= s.length() || !digit(s.charAt(i))) throw error("bad number");
                while (i < s.length() && digit(s.charAt(i))) i++;
            }
            if (i - start > 64) throw error("number longer than 64 characters");
            String t = s.substring(start, i);
            if (integral) {
                try {
                    return Long.parseLong(t);
                } catch (NumberFormatException tooBig) {
                    // falls through to a double
                }
            }
            return Double.parseDouble(t);
        }

        static boolean digit(char c) { return c >= '0' && c <= '9'; }

        static String printable(char c) {
            return c < 0x20 || c > 0x7e ? String.format(Locale.ROOT, "\\u%04x", (int) c) : String.valueOf(c);
        }
    }
}
