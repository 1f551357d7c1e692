package io.dsf.bindings.spdk;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Extensions exported only by {@code native/}'s SPDK emulator ({@code libdsf_spdk_emu.so}), for tests:
 * its version string and per-process overrides of its {@code DSF_SPDK_EMU_*} settings (keys
 * {@code dir}, {@code size}, {@code sector}, {@code kato_ms}, {@code max_xfer}, {@code max_qpairs},
 * {@code pin}), read whenever a controller is attached. Thread safe; control path only.
 */
public final class SpdkEmulator {
    private SpdkEmulator() {}

    /** Whether the library named by {@code DSF_SPDK_LIB} is the emulator (loads it if needed). */
    public static boolean isLoaded() {
        return SpdkLibrary.isEmulator();
    }

    /** The emulator's version string. */
    public static String version() {
        requireEmulator();
        try {
            MemorySegment s = (MemorySegment) Handles.VERSION.invokeExact();
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw new AssertionError("should not reach here", t);
        }
    }

    /**
     * Overrides an emulator setting for this process; {@code null} restores the environment's value.
     *
     * @throws IllegalArgumentException for an unknown key
     */
    public static void configure(String key, String value) {
        requireEmulator();
        int rc;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocateFrom(key);
            MemorySegment v = value == null ? MemorySegment.NULL : a.allocateFrom(value);
            rc = (int) Handles.CONFIGURE.invokeExact(k, v);
        } catch (Throwable t) {
            throw new AssertionError("should not reach here", t);
        }
        if (rc != 0) throw new IllegalArgumentException("emulator setting '" + key + "' rejected: " + rc);
    }

    private static void requireEmulator() {
        if (!SpdkLibrary.isEmulator())
            throw new IllegalStateException(SpdkLibrary.ENV + "=" + SpdkLibrary.path() + " is a real SPDK, not dsf's emulator");
    }

    private static final class Handles {
        static final MethodHandle VERSION;
        static final MethodHandle CONFIGURE;

        static {
            Linker linker = Linker.nativeLinker();
            VERSION = linker.downcallHandle(SpdkLibrary.symbols().find(SpdkLibrary.EMULATOR_SYMBOL).orElseThrow(),
                    FunctionDescriptor.of(ADDRESS));
            CONFIGURE = linker.downcallHandle(SpdkLibrary.symbols().find("dsf_spdk_emu_configure").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        }
    }
}
