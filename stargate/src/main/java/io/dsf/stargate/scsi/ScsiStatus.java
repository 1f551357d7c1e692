package io.dsf.stargate.scsi;

/**
 * SCSI status codes (SAM-5 table 33) as returned in {@link ScsiTask#status()}. Immutable constants.
 */
public final class ScsiStatus {
    public static final int GOOD = 0x00;
    public static final int CHECK_CONDITION = 0x02;
    public static final int CONDITION_MET = 0x04;
    public static final int BUSY = 0x08;
    public static final int RESERVATION_CONFLICT = 0x18;
    /** The target lacks a resource for the command right now (the vDisk's door is full); retry. */
    public static final int TASK_SET_FULL = 0x28;
    public static final int ACA_ACTIVE = 0x30;
    /** The task was aborted by a task management function; its data transfer is meaningless. */
    public static final int TASK_ABORTED = 0x40;

    private ScsiStatus() {}

    /** Words for a status, for logs and test messages. */
    public static String describe(int status) {
        return switch (status) {
            case GOOD -> "GOOD";
            case CHECK_CONDITION -> "CHECK CONDITION";
            case CONDITION_MET -> "CONDITION MET";
            case BUSY -> "BUSY";
            case RESERVATION_CONFLICT -> "RESERVATION CONFLICT";
            case TASK_SET_FULL -> "TASK SET FULL";
            case ACA_ACTIVE -> "ACA ACTIVE";
            case TASK_ABORTED -> "TASK ABORTED";
            default -> String.format("status 0x%02x", status);
        };
    }
}
