package io.dsf.rdma.verbs;

import io.dsf.rdma.Transports;
import io.dsf.rdma.api.CompletionStatus;
import io.dsf.rdma.api.RdmaException;
import io.dsf.rdma.verbs.gen.ibverbs_h;
import io.dsf.rdma.verbs.gen.verbs_shim_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the verbs transport says where it cannot run, and the parts of it that need no device:
 * without a device, opening it fails with UNAVAILABLE and a reason naming what is missing (never
 * a linkage error); the libraries and the shim load where rdma-core is installed; completion
 * statuses map as documented.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VerbsAvailabilityTest {

    @Test
    void withoutADeviceOpeningFailsWithAReason() {
        String reason = VerbsLibrary.noDeviceReason();
        System.out.println("verbs here: " + (reason == null ? "devices " + VerbsLibrary.deviceNames() : reason));
        assumeTrue(reason != null, "an RDMA device exists here: " + VerbsLibrary.deviceNames());
        RdmaException e = assertThrows(RdmaException.class, () -> Transports.open("verbs"));
        assertEquals(RdmaException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertTrue(reason.contains("no RDMA device") || reason.contains("cannot be loaded") || reason.contains("not built"), reason);
    }

    @Test
    void librariesAndShimLoadWhereRdmaCoreIsInstalled() {
        String reason = VerbsLibrary.unavailableReason();
        if (reason != null) System.out.println("VerbsAvailabilityTest: rdma-core not usable here: " + reason);
        assumeTrue(reason == null, reason);
        assertTrue(verbs_shim_h.present());
        assertEquals("success", ibverbs_h.ibv_wc_status_str(ibverbs_h.IBV_WC_SUCCESS).toLowerCase(java.util.Locale.ROOT).replace(" ", ""));
    }

    @Test
    void completionStatusesMapAsDocumented() {
        assertEquals(CompletionStatus.SUCCESS, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_SUCCESS));
        assertEquals(CompletionStatus.FLUSHED, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_WR_FLUSH_ERR));
        assertEquals(CompletionStatus.LOCAL_LENGTH_ERROR, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_LOC_LEN_ERR));
        assertEquals(CompletionStatus.REMOTE_ACCESS_ERROR, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_REM_ACCESS_ERR));
        assertEquals(CompletionStatus.REMOTE_INVALID_REQUEST, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_REM_INV_REQ_ERR));
        assertEquals(CompletionStatus.TRANSPORT_ERROR, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_RETRY_EXC_ERR));
        assertEquals(CompletionStatus.TRANSPORT_ERROR, VerbsCompletionQueue.mapStatus(ibverbs_h.IBV_WC_RNR_RETRY_EXC_ERR));
        assertEquals(CompletionStatus.GENERAL_ERROR, VerbsCompletionQueue.mapStatus(21));
    }
}
