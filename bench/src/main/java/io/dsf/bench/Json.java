package io.dsf.bench;

import java.util.Locale;

/** Builds one flat JSON object on one line. Not thread safe; control path only. */
final class Json {
    private final StringBuilder sb = new StringBuilder(512).append('{');
    private boolean first = true;

    Json number(String name, double v) {
        key(name);
        if (!Double.isFinite(v)) v = 0;
        if (v == Math.rint(v) && Math.abs(v) < 1e15) sb.append((long) v);
        else {
            String s = String.format(Locale.ROOT, "%.3f", v);
            int end = s.length();
            while (s.charAt(end - 1) == '0') end--;
            if (s.charAt(end - 1) == '.') end--;
            sb.append(s, 0, end);
        }
        return this;
    }

    Json number(String name, long v) {
        key(name);
        sb.append(v);
        return this;
    }

    Json bool(String name, boolean v) {
        key(name);
        sb.append(v);
        return this;
    }

    Json string(String name, String v) {
        key(name);
        quote(v);
        return this;
    }

    private void key(String name) {
        if (!first) sb.append(',');
        first = false;
        quote(name);
        sb.append(':');
    }

    private void quote(String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    @Override
    public String toString() { return sb + "}"; }
}
