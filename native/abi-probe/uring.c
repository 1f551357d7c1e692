/* io_uring structs and constants used by io.dsf.bindings.uring (see probe.h for the output format). */
#define _GNU_SOURCE
#include "probe.h"

#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <sys/syscall.h>

PROBE_SECTION(uring_structs) {
    STRUCT(io_sqring_offsets);
    FIELD(io_sqring_offsets, head);
    FIELD(io_sqring_offsets, tail);
    FIELD(io_sqring_offsets, ring_mask);
    FIELD(io_sqring_offsets, ring_entries);
    FIELD(io_sqring_offsets, flags);
    FIELD(io_sqring_offsets, dropped);
    FIELD(io_sqring_offsets, array);
    FIELD(io_sqring_offsets, resv1);
    FIELD(io_sqring_offsets, resv2);

    STRUCT(io_cqring_offsets);
    FIELD(io_cqring_offsets, head);
    FIELD(io_cqring_offsets, tail);
    FIELD(io_cqring_offsets, ring_mask);
    FIELD(io_cqring_offsets, ring_entries);
    FIELD(io_cqring_offsets, overflow);
    FIELD(io_cqring_offsets, cqes);
    FIELD(io_cqring_offsets, flags);
    FIELD(io_cqring_offsets, resv1);
    FIELD(io_cqring_offsets, resv2);

    STRUCT(io_uring_params);
    FIELD(io_uring_params, sq_entries);
    FIELD(io_uring_params, cq_entries);
    FIELD(io_uring_params, flags);
    FIELD(io_uring_params, sq_thread_cpu);
    FIELD(io_uring_params, sq_thread_idle);
    FIELD(io_uring_params, features);
    FIELD(io_uring_params, wq_fd);
    FIELD(io_uring_params, resv);
    FIELD(io_uring_params, sq_off);
    FIELD(io_uring_params, cq_off);

    STRUCT(io_uring_sqe);
    FIELD(io_uring_sqe, opcode);
    FIELD(io_uring_sqe, flags);
    FIELD(io_uring_sqe, ioprio);
    FIELD(io_uring_sqe, fd);
    FIELD(io_uring_sqe, off);
    FIELD(io_uring_sqe, addr2);
    FIELD(io_uring_sqe, addr);
    FIELD(io_uring_sqe, len);
    FIELD(io_uring_sqe, rw_flags);
    FIELD(io_uring_sqe, fsync_flags);
    FIELD(io_uring_sqe, timeout_flags);
    FIELD(io_uring_sqe, cancel_flags);
    FIELD(io_uring_sqe, user_data);
    FIELD(io_uring_sqe, buf_index);
    FIELD(io_uring_sqe, personality);
    FIELD(io_uring_sqe, splice_fd_in);
    FIELD(io_uring_sqe, file_index);
    FIELD(io_uring_sqe, addr3);

    STRUCT(io_uring_cqe);
    FIELD(io_uring_cqe, user_data);
    FIELD(io_uring_cqe, res);
    FIELD(io_uring_cqe, flags);

    STRUCT(__kernel_timespec);
    FIELD(__kernel_timespec, tv_sec);
    FIELD(__kernel_timespec, tv_nsec);

    STRUCT(io_uring_getevents_arg);
    FIELD(io_uring_getevents_arg, sigmask);
    FIELD(io_uring_getevents_arg, sigmask_sz);
    FIELD(io_uring_getevents_arg, pad);
    FIELD(io_uring_getevents_arg, ts);

    STRUCT(io_uring_rsrc_update);
    FIELD(io_uring_rsrc_update, offset);
    FIELD(io_uring_rsrc_update, resv);
    FIELD(io_uring_rsrc_update, data);
}

PROBE_SECTION(uring_consts) {
    /* x86_64 syscall numbers */
    CONST(__NR_io_uring_setup);
    CONST(__NR_io_uring_enter);
    CONST(__NR_io_uring_register);
    /* setup flags */
    CONST(IORING_SETUP_IOPOLL);
    CONST(IORING_SETUP_SQPOLL);
    CONST(IORING_SETUP_SQ_AFF);
    CONST(IORING_SETUP_CQSIZE);
    CONST(IORING_SETUP_CLAMP);
    CONST(IORING_SETUP_SUBMIT_ALL);
    CONST(IORING_SETUP_COOP_TASKRUN);
    CONST(IORING_SETUP_TASKRUN_FLAG);
    CONST(IORING_SETUP_SINGLE_ISSUER);
    CONST(IORING_SETUP_DEFER_TASKRUN);
    /* features */
    CONST(IORING_FEAT_SINGLE_MMAP);
    CONST(IORING_FEAT_NODROP);
    CONST(IORING_FEAT_SUBMIT_STABLE);
    CONST(IORING_FEAT_SQPOLL_NONFIXED);
    CONST(IORING_FEAT_EXT_ARG);
    CONST(IORING_FEAT_NATIVE_WORKERS);
    /* mmap offsets */
    CONST(IORING_OFF_SQ_RING);
    CONST(IORING_OFF_CQ_RING);
    CONST(IORING_OFF_SQES);
    /* opcodes */
    CONST(IORING_OP_NOP);
    CONST(IORING_OP_READV);
    CONST(IORING_OP_WRITEV);
    CONST(IORING_OP_FSYNC);
    CONST(IORING_OP_READ_FIXED);
    CONST(IORING_OP_WRITE_FIXED);
    CONST(IORING_OP_TIMEOUT);
    CONST(IORING_OP_ASYNC_CANCEL);
    CONST(IORING_OP_FALLOCATE);
    CONST(IORING_OP_READ);
    CONST(IORING_OP_WRITE);
    /* sqe flags */
    CONST(IOSQE_FIXED_FILE);
    CONST(IOSQE_IO_DRAIN);
    CONST(IOSQE_IO_LINK);
    CONST(IOSQE_IO_HARDLINK);
    CONST(IOSQE_ASYNC);
    CONST(IOSQE_CQE_SKIP_SUCCESS);
    /* op flags */
    CONST(IORING_FSYNC_DATASYNC);
    CONST(IORING_TIMEOUT_ABS);
    CONST(IORING_ASYNC_CANCEL_ALL);
    CONST(IORING_ASYNC_CANCEL_FD);
    CONST(IORING_ASYNC_CANCEL_ANY);
    CONST(IORING_ASYNC_CANCEL_FD_FIXED);
    /* sq ring flags */
    CONST(IORING_SQ_NEED_WAKEUP);
    CONST(IORING_SQ_CQ_OVERFLOW);
    CONST(IORING_SQ_TASKRUN);
    /* cqe flags */
    CONST(IORING_CQE_F_BUFFER);
    CONST(IORING_CQE_F_MORE);
    /* enter flags */
    CONST(IORING_ENTER_GETEVENTS);
    CONST(IORING_ENTER_SQ_WAKEUP);
    CONST(IORING_ENTER_SQ_WAIT);
    CONST(IORING_ENTER_EXT_ARG);
    /* register opcodes */
    CONST(IORING_REGISTER_BUFFERS);
    CONST(IORING_UNREGISTER_BUFFERS);
    CONST(IORING_REGISTER_FILES);
    CONST(IORING_UNREGISTER_FILES);
    CONST(IORING_REGISTER_FILES_UPDATE);
    CONST(IORING_REGISTER_PROBE);
}
