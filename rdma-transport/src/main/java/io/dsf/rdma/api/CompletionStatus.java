package io.dsf.rdma.api;

/**
 * Status of a completed work request, the subset of {@code enum ibv_wc_status} dsf tells apart
 * (both transports map to these). Constants only; thread safe.
 */
public final class CompletionStatus {
    private CompletionStatus() {}

    /** Done: a send or write was received and placed by the peer; a receive holds a message. */
    public static final int SUCCESS = 0;
    /** Flushed without being done, because the endpoint was closed or broke (verbs: WR_FLUSH_ERR). */
    public static final int FLUSHED = 1;
    /** A received message was longer than the posted receive buffer (verbs: LOC_LEN_ERR); the connection is broken. */
    public static final int LOCAL_LENGTH_ERROR = 2;
    /** The peer refused a write: unknown remote key, range outside its region, no remote-write access (verbs: REM_ACCESS_ERR). */
    public static final int REMOTE_ACCESS_ERROR = 3;
    /** The peer refused the request as invalid, e.g. a send longer than its receive buffer (verbs: REM_INV_REQ_ERR). */
    public static final int REMOTE_INVALID_REQUEST = 4;
    /** The connection was lost with this request unacknowledged: it may or may not have arrived (verbs: RETRY_EXC_ERR). */
    public static final int TRANSPORT_ERROR = 5;
    /** Anything else the hardware reports (verbs: the other statuses; the vendor detail is logged). */
    public static final int GENERAL_ERROR = 6;

    /** A short name for logs and messages. */
    public static String name(int status) {
        return switch (status) {
            case SUCCESS -> "SUCCESS";
            case FLUSHED -> "FLUSHED";
            case LOCAL_LENGTH_ERROR -> "LOCAL_LENGTH_ERROR";
            case REMOTE_ACCESS_ERROR -> "REMOTE_ACCESS_ERROR";
            case REMOTE_INVALID_REQUEST -> "REMOTE_INVALID_REQUEST";
            case TRANSPORT_ERROR -> "TRANSPORT_ERROR";
            case GENERAL_ERROR -> "GENERAL_ERROR";
            default -> "status " + status;
        };
    }
}
