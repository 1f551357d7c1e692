package io.dsf.bindings.libc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ThreadNice} sets the calling thread's nice value only (the kernel's view, /proc/thread-self/stat), and refuses values out of range. */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ThreadNiceTest {
    /** Field 19 of /proc/thread-self/stat: the calling thread's nice value. */
    static int niceOfThisThread() throws Exception {
        String stat = Files.readString(Path.of("/proc/thread-self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(f[16]); // fields from 3 (state) on: nice is field 19
    }

    @Test
    void setsTheCallingThreadsNiceValueOnly() throws Exception {
        int mine = niceOfThisThread();
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                boolean ok = ThreadNice.set(7);
                seen.set(ok ? niceOfThisThread() : "refused");
            } catch (Exception e) {
                seen.set(e);
            }
        });
        t.start();
        t.join();
        assertEquals(7, seen.get(), "the thread's own nice value");
        assertEquals(mine, niceOfThisThread(), "the caller's thread is untouched");
        assertFalse(ThreadNice.set(20));
        assertFalse(ThreadNice.set(-21));
        assertTrue(mine >= -20 && mine <= 19);
    }
}
