package io.dsf.bench;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Prints the first N I/O errors and verify mismatches of a run (on stderr) and counts the rest.
 * Thread safe: job threads call it from their completion path, only when something went wrong.
 */
public final class ErrorReporter {
    private final PrintWriter out;
    private final int limit;
    private final AtomicInteger seen = new AtomicInteger();

    public ErrorReporter(PrintWriter out, int limit) {
        this.out = out;
        this.limit = limit;
    }

    /** Whether the next report would still be printed; lets callers skip building the message. */
    public boolean wantsMore() { return seen.get() < limit; }

    public void report(String line) {
        int n = seen.getAndIncrement();
        if (n < limit) {
            synchronized (out) {
                out.println(line);
                if (n == limit - 1) out.println("(further errors are counted, not printed)");
                out.flush();
            }
        }
    }
}
