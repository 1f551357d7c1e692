package io.dsf.bindings.spdk.gen;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;

import static io.dsf.bindings.spdk.gen.spdk_nvme_h.C_POINTER;

/**
 * {@code typedef void (*spdk_nvme_cmd_cb)(void *ctx, const struct spdk_nvme_cpl *cpl)}. The hot path
 * uses {@code io.dsf.bindings.spdk.SpdkCompletionStub} instead, which receives both pointers as
 * {@code long} so no segment is allocated per completion. Thread safe.
 */
public final class spdk_nvme_cmd_cb {
    private spdk_nvme_cmd_cb() {}

    /** The callback body. */
    @FunctionalInterface
    public interface Function {
        void apply(MemorySegment ctx, MemorySegment cpl);
    }

    public static final FunctionDescriptor $DESC = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER);

    public static FunctionDescriptor descriptor() { return $DESC; }

    private static final MethodHandle UP$MH;

    static {
        try {
            UP$MH = MethodHandles.lookup().findVirtual(Function.class, "apply", $DESC.toMethodType());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** An upcall stub for {@code fi}, valid until {@code arena} closes; {@code fi} must not throw. */
    public static MemorySegment allocate(Function fi, Arena arena) {
        return Linker.nativeLinker().upcallStub(UP$MH.bindTo(fi), $DESC, arena);
    }
}
