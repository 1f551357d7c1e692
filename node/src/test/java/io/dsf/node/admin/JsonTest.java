package io.dsf.node.admin;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The admin protocol's JSON: values round-trip; malformed text of every kind is a typed error with a position. */
class JsonTest {
    @Test
    void valuesRoundTrip() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a \"quoted\" \\ line\nwith\ttabs \u0001 and é");
        m.put("n", -42L);
        m.put("big", Long.MAX_VALUE);
        m.put("d", 1.5e-7);
        m.put("t", true);
        m.put("z", null);
        m.put("l", List.of(1L, "x", List.of(), Map.of()));
        String w = Json.write(m);
        assertFalse(w.contains("\n"), "one line");
        assertEquals(m, Json.parse(w));
        assertEquals(12345678901234567890.0, Json.parse("12345678901234567890"), "beyond long: a double");
        assertEquals("\u00e9\ud83d\ude00/", Json.parse("\"\\u00e9\\ud83d\\ude00\\/\""));
        assertEquals(List.of(1L, 2.5, -0.0), Json.parse(" [1, 2.5e0 ,-0.0] "));
    }

    @Test
    void malformedTextIsATypedErrorNeverACrash() {
        String[] bad = {"", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{a:1}", "{\"a\":1}}",
                "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"ctl \u0001\"", "01", "-", "1.", "1e", "+1", "tru", "nul",
                "{\"a\":1,\"a\":2}", "NaN", "[" + "1".repeat(100) + "]", "/* c */ 1", "'single'"};
        for (String b : bad) {
            Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse(b), () -> "accepted: " + b);
            assertTrue(e.getMessage().contains("offset") || e.getMessage().contains("expected"), e.getMessage());
        }
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        assertThrows(Json.JsonException.class, () -> Json.parse(deep), "deep nesting is refused, not a stack overflow");
        assertEquals(31, depth(Json.parse("[".repeat(31) + "]".repeat(31))));
        assertThrows(Json.JsonException.class, () -> Json.parseObject("[1]"), "an array where an object is required");
    }

    private static int depth(Object o) {
        int d = 0;
        while (o instanceof List<?> l) {
            d++;
            o = l.isEmpty() ? null : l.get(0);
        }
        return d;
    }
}
