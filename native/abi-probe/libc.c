/* libc structs and constants used by io.dsf.bindings.libc (see probe.h for the output format). */
#define _GNU_SOURCE
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

PROBE_SECTION(libc_structs) {
    STRUCT(timespec);
    FIELD(timespec, tv_sec);
    FIELD(timespec, tv_nsec);

    STRUCT(stat);
    FIELD(stat, st_dev);
    FIELD(stat, st_ino);
    FIELD(stat, st_nlink);
    FIELD(stat, st_mode);
    FIELD(stat, st_uid);
    FIELD(stat, st_gid);
    FIELD(stat, st_rdev);
    FIELD(stat, st_size);
    FIELD(stat, st_blksize);
    FIELD(stat, st_blocks);
    FIELD(stat, st_atim);
    FIELD(stat, st_mtim);
    FIELD(stat, st_ctim);

    STRUCT(statx_timestamp);
    FIELD(statx_timestamp, tv_sec);
    FIELD(statx_timestamp, tv_nsec);

    STRUCT(statx);
    FIELD(statx, stx_mask);
    FIELD(statx, stx_blksize);
    FIELD(statx, stx_attributes);
    FIELD(statx, stx_nlink);
    FIELD(statx, stx_uid);
    FIELD(statx, stx_gid);
    FIELD(statx, stx_mode);
    FIELD(statx, stx_ino);
    FIELD(statx, stx_size);
    FIELD(statx, stx_blocks);
    FIELD(statx, stx_attributes_mask);
    FIELD(statx, stx_atime);
    FIELD(statx, stx_btime);
    FIELD(statx, stx_ctime);
    FIELD(statx, stx_mtime);
    FIELD(statx, stx_rdev_major);
    FIELD(statx, stx_rdev_minor);
    FIELD(statx, stx_dev_major);
    FIELD(statx, stx_dev_minor);
    FIELD(statx, stx_mnt_id);
    FIELD(statx, stx_dio_mem_align);
    FIELD(statx, stx_dio_offset_align);

    STRUCT(iovec);
    FIELD(iovec, iov_base);
    FIELD(iovec, iov_len);

    STRUCT(msghdr);
    FIELD(msghdr, msg_name);
    FIELD(msghdr, msg_namelen);
    FIELD(msghdr, msg_iov);
    FIELD(msghdr, msg_iovlen);
    FIELD(msghdr, msg_control);
    FIELD(msghdr, msg_controllen);
    FIELD(msghdr, msg_flags);

    STRUCT(cmsghdr);
    FIELD(cmsghdr, cmsg_len);
    FIELD(cmsghdr, cmsg_level);
    FIELD(cmsghdr, cmsg_type);

    STRUCT(sockaddr_un);
    FIELD(sockaddr_un, sun_family);
    FIELD(sockaddr_un, sun_path);

    STRUCT(epoll_event);
    FIELD(epoll_event, events);
    FIELD(epoll_event, data);
}

/* the cmsg macros the bindings reimplement (LibcMacros) */
PROBE_SECTION(libc_macros) {
    printf("const CMSG_ALIGN_1 %zu\n", (size_t)CMSG_ALIGN(1));
    printf("const CMSG_LEN_4 %zu\n", (size_t)CMSG_LEN(4));
    printf("const CMSG_SPACE_4 %zu\n", (size_t)CMSG_SPACE(4));
    printf("const CMSG_SPACE_32 %zu\n", (size_t)CMSG_SPACE(32));
    {
        union {
            struct cmsghdr h;
            unsigned char b[64];
        } u;
        printf("const CMSG_DATA_OFFSET %zu\n", (size_t)(CMSG_DATA(&u.h) - u.b));
    }
}

PROBE_SECTION(libc_consts) {
    /* open(2) */
    CONST(O_RDONLY);
    CONST(O_WRONLY);
    CONST(O_RDWR);
    CONST(O_CREAT);
    CONST(O_EXCL);
    CONST(O_TRUNC);
    CONST(O_APPEND);
    CONST(O_NONBLOCK);
    CONST(O_DSYNC);
    CONST(O_SYNC);
    CONST(O_DIRECT);
    CONST(O_CLOEXEC);
    CONST(O_NOFOLLOW);
    CONST(AT_FDCWD);
    CONST(AT_EMPTY_PATH);
    CONST(AT_STATX_SYNC_AS_STAT);
    /* fcntl(2) */
    CONST(F_GETFD);
    CONST(F_SETFD);
    CONST(F_GETFL);
    CONST(F_SETFL);
    CONST(F_DUPFD_CLOEXEC);
    CONST(FD_CLOEXEC);
    /* fallocate(2) */
    CONST(FALLOC_FL_KEEP_SIZE);
    CONST(FALLOC_FL_PUNCH_HOLE);
    CONST(FALLOC_FL_ZERO_RANGE);
    /* stat(2) / statx(2) */
    CONST(S_IFMT);
    CONST(S_IFREG);
    CONST(S_IFBLK);
    CONST(S_IFCHR);
    CONST(S_IFDIR);
    CONST(S_IFIFO);
    CONST(S_IFSOCK);
    CONST(STATX_TYPE);
    CONST(STATX_SIZE);
    CONST(STATX_BASIC_STATS);
    CONST(STATX_DIOALIGN);
    /* ioctl(2) on block devices */
    CONST(BLKGETSIZE64);
    CONST(BLKSSZGET);
    CONST(BLKPBSZGET);
    CONST(BLKDISCARD);
    /* mmap(2) / madvise(2) */
    CONST(PROT_NONE);
    CONST(PROT_READ);
    CONST(PROT_WRITE);
    CONST(MAP_SHARED);
    CONST(MAP_PRIVATE);
    CONST(MAP_ANONYMOUS);
    CONST(MAP_POPULATE);
    CONST(MAP_NORESERVE);
    CONST(MADV_NORMAL);
    CONST(MADV_WILLNEED);
    CONST(MADV_DONTNEED);
    CONST(MADV_REMOVE);
    CONST(MADV_DONTFORK);
    CONST(MADV_HUGEPAGE);
    CONST(MADV_POPULATE_WRITE);
    /* memfd_create(2) */
    CONST(MFD_CLOEXEC);
    CONST(MFD_ALLOW_SEALING);
    CONST(MFD_HUGETLB);
    /* eventfd(2) */
    CONST(EFD_CLOEXEC);
    CONST(EFD_NONBLOCK);
    CONST(EFD_SEMAPHORE);
    /* epoll(7) */
    CONST(EPOLL_CLOEXEC);
    CONST(EPOLL_CTL_ADD);
    CONST(EPOLL_CTL_DEL);
    CONST(EPOLL_CTL_MOD);
    CONST(EPOLLIN);
    CONST(EPOLLOUT);
    CONST(EPOLLERR);
    CONST(EPOLLHUP);
    CONST(EPOLLRDHUP);
    CONST(EPOLLET);
    /* sockets */
    CONST(AF_UNIX);
    CONST(SOCK_STREAM);
    CONST(SOCK_DGRAM);
    CONST(SOCK_SEQPACKET);
    CONST(SOCK_NONBLOCK);
    CONST(SOCK_CLOEXEC);
    CONST(SOL_SOCKET);
    CONST(SCM_RIGHTS);
    CONST(MSG_DONTWAIT);
    CONST(MSG_NOSIGNAL);
    CONST(MSG_CMSG_CLOEXEC);
    CONST(MSG_CTRUNC);
    CONST(MSG_TRUNC);
    CONST(SHUT_RD);
    CONST(SHUT_WR);
    CONST(SHUT_RDWR);
    /* errno values */
    CONST(EPERM);
    CONST(ENOENT);
    CONST(EINTR);
    CONST(EIO);
    CONST(ENXIO);
    CONST(EBADF);
    CONST(EAGAIN);
    CONST(ENOMEM);
    CONST(EACCES);
    CONST(EFAULT);
    CONST(EBUSY);
    CONST(EEXIST);
    CONST(ENODEV);
    CONST(EISDIR);
    CONST(EINVAL);
    CONST(EMFILE);
    CONST(ENOTTY);
    CONST(EFBIG);
    CONST(ENOSPC);
    CONST(EPIPE);
    CONST(ENOSYS);
    CONST(ETIME);
    CONST(EOPNOTSUPP);
    CONST(ECONNRESET);
    CONST(ENOTCONN);
    CONST(ETIMEDOUT);
    CONST(ECONNREFUSED);
    CONST(EALREADY);
    CONST(ECANCELED);
}
