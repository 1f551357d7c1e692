package io.dsf.bindings.spdk;

/**
 * The Linux errno values SPDK returns negated from its calls ({@code -ENXIO} from a failed qpair,
 * {@code -ENOMEM} when a qpair has no free request, ...). Constants only; thread safe.
 */
public final class SpdkErrno {
    private SpdkErrno() {}

    public static final int ENOENT = 2;
    public static final int ENXIO = 6;
    public static final int ENOMEM = 12;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EINVAL = 22;
    public static final int EALREADY = 114;
}
