package io.dsf.bindings.spdk;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Makes the allocation-free upcall stub for {@code spdk_nvme_cmd_cb}: the target receives
 * {@code (long ctx, long cplAddress)} instead of two {@code MemorySegment}s, so a completion creates
 * no objects. On LP64 targets (x86_64, aarch64) a pointer and a 64-bit integer are passed in the same
 * registers, so the C signature {@code void (*)(void *, const struct spdk_nvme_cpl *)} is unchanged.
 * Read the status with {@link SpdkCpl#statusAt(long)}. The target must be a static
 * {@code void(long,long)} method that never throws (an exception escaping an upcall ends the JVM).
 * Thread safe; create the stub once per process.
 */
public final class SpdkCompletionStub {
    private SpdkCompletionStub() {}

    /** {@code void (*)(void *ctx, const struct spdk_nvme_cpl *cpl)} with both pointers as 64-bit integers. */
    public static final FunctionDescriptor RAW_DESC = FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG);

    /** Creates the stub; it lives as long as {@code arena} (normally {@link Arena#global()}). */
    public static MemorySegment create(MethodHandle target, Arena arena) {
        if (ADDRESS.byteSize() != Long.BYTES)
            throw new UnsupportedOperationException("the raw SPDK completion stub needs 64-bit pointers");
        if (!target.type().equals(MethodType.methodType(void.class, long.class, long.class)))
            throw new IllegalArgumentException("completion target must be void(long ctx, long cpl): " + target.type());
        return Linker.nativeLinker().upcallStub(target, RAW_DESC, arena);
    }
}
