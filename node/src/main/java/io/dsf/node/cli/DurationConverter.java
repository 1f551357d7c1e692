package io.dsf.node.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.util.Locale;

/**
 * Parses a duration into nanoseconds: plain seconds ({@code 10}, {@code 0.5}) or with a unit
 * ({@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}). Thread safe.
 */
public final class DurationConverter implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String t = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        double scale = 1e9;
        if (t.endsWith("ms")) { scale = 1e6; t = t.substring(0, t.length() - 2); }
        else if (t.endsWith("us")) { scale = 1e3; t = t.substring(0, t.length() - 2); }
        else if (t.endsWith("s")) t = t.substring(0, t.length() - 1);
        else if (t.endsWith("m")) { scale = 60e9; t = t.substring(0, t.length() - 1); }
        else if (t.endsWith("h")) { scale = 3600e9; t = t.substring(0, t.length() - 1); }
        double v;
        try {
            v = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("not a duration: '" + value + "' (seconds, or with a unit: 500ms, 10s, 2m, 1h)");
        }
        if (!Double.isFinite(v) || v < 0) throw new TypeConversionException("not a duration: '" + value + "' (must be >= 0)");
        double nanos = v * scale;
        if (nanos > 365 * 86400e9) throw new TypeConversionException("duration too long: '" + value + "'");
        return (long) nanos;
    }
}
