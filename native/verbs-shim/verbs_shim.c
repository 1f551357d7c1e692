/*
 * libdsf_verbs_shim.so: the ibverbs data-path calls that rdma-core defines as static inline
 * functions in <infiniband/verbs.h> (they jump through the provider's ops table of the device
 * context), exported as real symbols so that Java's FFM linker can call them. No logic here.
 *
 * Needs only the headers (libibverbs-dev) to build: the inline functions call through function
 * pointers the provider library filled in, so the shim has no link-time dependency on
 * libibverbs; the process has loaded libibverbs already when it holds a queue pair or a CQ.
 */
#include <infiniband/verbs.h>
#include <stddef.h>

#define DSF_EXPORT __attribute__((visibility("default")))

DSF_EXPORT int dsf_ibv_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr) {
    return ibv_post_send(qp, wr, bad_wr);
}

DSF_EXPORT int dsf_ibv_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr) {
    return ibv_post_recv(qp, wr, bad_wr);
}

DSF_EXPORT int dsf_ibv_poll_cq(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc) {
    return ibv_poll_cq(cq, num_entries, wc);
}

DSF_EXPORT int dsf_ibv_req_notify_cq(struct ibv_cq *cq, int solicited_only) {
    return ibv_req_notify_cq(cq, solicited_only);
}

/*
 * Sizes of the structs the data path passes, as this shim was compiled: the Java side compares
 * them with its layouts when it loads the shim, so a shim built against other headers is refused
 * instead of corrupting memory. which: 0 ibv_sge, 1 ibv_send_wr, 2 ibv_recv_wr, 3 ibv_wc.
 */
DSF_EXPORT long dsf_verbs_shim_sizeof(int which) {
    switch (which) {
    case 0: return (long)sizeof(struct ibv_sge);
    case 1: return (long)sizeof(struct ibv_send_wr);
    case 2: return (long)sizeof(struct ibv_recv_wr);
    case 3: return (long)sizeof(struct ibv_wc);
    default: return -1;
    }
}
