/*
 * rdma-core (libibverbs, librdmacm) structs and constants used by rdma-transport's verbs binding
 * (io.dsf.rdma.verbs.gen; see probe.h for the output format). Built only when the headers are
 * installed (libibverbs-dev, librdmacm-dev); without them the sections are absent and the Java
 * ABI test skips, saying so.
 */
#include "probe.h"

#if __has_include(<infiniband/verbs.h>) && __has_include(<rdma/rdma_cma.h>)
#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <sys/socket.h>

/* offset of a field inside a struct the libraries own (the bindings read it, never allocate it) */
#define OFFSET_CONST(name, s, f) printf("const %s %zu\n", name, offsetof(struct s, f))

PROBE_SECTION(verbs_structs) {
    STRUCT(ibv_sge);
    FIELD(ibv_sge, addr);
    FIELD(ibv_sge, length);
    FIELD(ibv_sge, lkey);

    STRUCT(ibv_send_wr);
    FIELD(ibv_send_wr, wr_id);
    FIELD(ibv_send_wr, next);
    FIELD(ibv_send_wr, sg_list);
    FIELD(ibv_send_wr, num_sge);
    FIELD(ibv_send_wr, opcode);
    FIELD(ibv_send_wr, send_flags);
    FIELD(ibv_send_wr, imm_data);
    FIELD_AS(ibv_send_wr, wr.rdma.remote_addr, "rdma_remote_addr");
    FIELD_AS(ibv_send_wr, wr.rdma.rkey, "rdma_rkey");

    STRUCT(ibv_recv_wr);
    FIELD(ibv_recv_wr, wr_id);
    FIELD(ibv_recv_wr, next);
    FIELD(ibv_recv_wr, sg_list);
    FIELD(ibv_recv_wr, num_sge);

    STRUCT(ibv_wc);
    FIELD(ibv_wc, wr_id);
    FIELD(ibv_wc, status);
    FIELD(ibv_wc, opcode);
    FIELD(ibv_wc, vendor_err);
    FIELD(ibv_wc, byte_len);
    FIELD(ibv_wc, imm_data);
    FIELD(ibv_wc, qp_num);
    FIELD(ibv_wc, src_qp);
    FIELD(ibv_wc, wc_flags);
    FIELD(ibv_wc, pkey_index);
    FIELD(ibv_wc, slid);
    FIELD(ibv_wc, sl);
    FIELD(ibv_wc, dlid_path_bits);

    STRUCT(ibv_qp_cap);
    FIELD(ibv_qp_cap, max_send_wr);
    FIELD(ibv_qp_cap, max_recv_wr);
    FIELD(ibv_qp_cap, max_send_sge);
    FIELD(ibv_qp_cap, max_recv_sge);
    FIELD(ibv_qp_cap, max_inline_data);

    STRUCT(ibv_qp_init_attr);
    FIELD(ibv_qp_init_attr, qp_context);
    FIELD(ibv_qp_init_attr, send_cq);
    FIELD(ibv_qp_init_attr, recv_cq);
    FIELD(ibv_qp_init_attr, srq);
    FIELD(ibv_qp_init_attr, cap);
    FIELD(ibv_qp_init_attr, qp_type);
    FIELD(ibv_qp_init_attr, sq_sig_all);

    STRUCT(ibv_mr);
    FIELD(ibv_mr, context);
    FIELD(ibv_mr, pd);
    FIELD(ibv_mr, addr);
    FIELD(ibv_mr, length);
    FIELD(ibv_mr, handle);
    FIELD(ibv_mr, lkey);
    FIELD(ibv_mr, rkey);

    STRUCT(ibv_comp_channel);
    FIELD(ibv_comp_channel, context);
    FIELD(ibv_comp_channel, fd);
    FIELD(ibv_comp_channel, refcnt);
}

PROBE_SECTION(verbs_consts) {
    CONST(IBV_WC_SUCCESS);
    CONST(IBV_WC_LOC_LEN_ERR);
    CONST(IBV_WC_WR_FLUSH_ERR);
    CONST(IBV_WC_REM_INV_REQ_ERR);
    CONST(IBV_WC_REM_ACCESS_ERR);
    CONST(IBV_WC_RETRY_EXC_ERR);
    CONST(IBV_WC_RNR_RETRY_EXC_ERR);
    CONST(IBV_WC_SEND);
    CONST(IBV_WC_RDMA_WRITE);
    CONST(IBV_WC_RECV);
    CONST(IBV_WC_RECV_RDMA_WITH_IMM);
    CONST(IBV_WC_WITH_IMM);
    CONST(IBV_WR_RDMA_WRITE);
    CONST(IBV_WR_RDMA_WRITE_WITH_IMM);
    CONST(IBV_WR_SEND);
    CONST(IBV_WR_SEND_WITH_IMM);
    CONST(IBV_SEND_SIGNALED);
    CONST(IBV_ACCESS_LOCAL_WRITE);
    CONST(IBV_ACCESS_REMOTE_WRITE);
    CONST(IBV_ACCESS_REMOTE_READ);
    CONST(IBV_QPT_RC);
    OFFSET_CONST("IBV_QP_QP_NUM_OFFSET", ibv_qp, qp_num);
    OFFSET_CONST("IBV_CONTEXT_DEVICE_OFFSET", ibv_context, device);
}

PROBE_SECTION(rdmacm_structs) {
    STRUCT(rdma_event_channel);
    FIELD(rdma_event_channel, fd);

    STRUCT(rdma_conn_param);
    FIELD(rdma_conn_param, private_data);
    FIELD(rdma_conn_param, private_data_len);
    FIELD(rdma_conn_param, responder_resources);
    FIELD(rdma_conn_param, initiator_depth);
    FIELD(rdma_conn_param, flow_control);
    FIELD(rdma_conn_param, retry_count);
    FIELD(rdma_conn_param, rnr_retry_count);
    FIELD(rdma_conn_param, srq);
    FIELD(rdma_conn_param, qp_num);

    STRUCT(sockaddr_in);
    FIELD(sockaddr_in, sin_family);
    FIELD(sockaddr_in, sin_port);
    FIELD(sockaddr_in, sin_addr);
    FIELD(sockaddr_in, sin_zero);

    STRUCT(sockaddr_in6);
    FIELD(sockaddr_in6, sin6_family);
    FIELD(sockaddr_in6, sin6_port);
    FIELD(sockaddr_in6, sin6_flowinfo);
    FIELD(sockaddr_in6, sin6_addr);
    FIELD(sockaddr_in6, sin6_scope_id);
}

PROBE_SECTION(rdmacm_consts) {
    CONST(RDMA_PS_TCP);
    CONST(RDMA_CM_EVENT_ADDR_RESOLVED);
    CONST(RDMA_CM_EVENT_ADDR_ERROR);
    CONST(RDMA_CM_EVENT_ROUTE_RESOLVED);
    CONST(RDMA_CM_EVENT_ROUTE_ERROR);
    CONST(RDMA_CM_EVENT_CONNECT_REQUEST);
    CONST(RDMA_CM_EVENT_CONNECT_ERROR);
    CONST(RDMA_CM_EVENT_UNREACHABLE);
    CONST(RDMA_CM_EVENT_REJECTED);
    CONST(RDMA_CM_EVENT_ESTABLISHED);
    CONST(RDMA_CM_EVENT_DISCONNECTED);
    CONST(RDMA_CM_EVENT_DEVICE_REMOVAL);
    CONST(RDMA_CM_EVENT_TIMEWAIT_EXIT);
    CONST(AF_INET);
    CONST(AF_INET6);
    OFFSET_CONST("RDMA_CM_ID_VERBS_OFFSET", rdma_cm_id, verbs);
    OFFSET_CONST("RDMA_CM_ID_QP_OFFSET", rdma_cm_id, qp);
    OFFSET_CONST("RDMA_CM_ID_SRC_ADDR_OFFSET", rdma_cm_id, route.addr.src_storage);
    OFFSET_CONST("RDMA_CM_ID_DST_ADDR_OFFSET", rdma_cm_id, route.addr.dst_storage);
    OFFSET_CONST("RDMA_CM_EVENT_ID_OFFSET", rdma_cm_event, id);
    OFFSET_CONST("RDMA_CM_EVENT_LISTEN_ID_OFFSET", rdma_cm_event, listen_id);
    OFFSET_CONST("RDMA_CM_EVENT_EVENT_OFFSET", rdma_cm_event, event);
    OFFSET_CONST("RDMA_CM_EVENT_STATUS_OFFSET", rdma_cm_event, status);
    OFFSET_CONST("RDMA_CM_EVENT_PARAM_OFFSET", rdma_cm_event, param);
}
#else
typedef int dsf_verbs_probe_unavailable; /* rdma-core headers not installed: no verbs sections */
#endif
