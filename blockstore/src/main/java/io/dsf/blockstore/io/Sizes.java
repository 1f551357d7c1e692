package io.dsf.blockstore.io;

import java.util.Locale;

/** Parses and prints byte sizes ("4k", "1M", "2GiB", "512"): binary multiples. Thread safe. */
public final class Sizes {
    private Sizes() {}

    public static long parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty size");
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("ib")) t = t.substring(0, t.length() - 2);
        else if (t.endsWith("b") && t.length() > 1 && !Character.isDigit(t.charAt(t.length() - 2))) t = t.substring(0, t.length() - 1);
        else if (t.endsWith("b")) t = t.substring(0, t.length() - 1);
        int shift = 0;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'k' -> shift = 10;
            case 'm' -> shift = 20;
            case 'g' -> shift = 30;
            case 't' -> shift = 40;
            case 'p' -> shift = 50;
            default -> { }
        }
        if (shift != 0) t = t.substring(0, t.length() - 1);
        final long n;
        try {
            n = Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (examples: 4096, 4k, 64M, 1g, 2TiB)");
        }
        if (n < 0) throw new IllegalArgumentException("negative size: " + text);
        if (shift != 0 && n > (Long.MAX_VALUE >> shift)) throw new IllegalArgumentException("size overflows: " + text);
        return n << shift;
    }

    public static String format(long bytes) {
        String[] u = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int i = 0;
        long v = bytes;
        while (i < u.length - 1 && v >= 1024 && v % 1024 == 0) { v /= 1024; i++; }
        return v + u[i];
    }
}
