/* The headers io.dsf.bindings.uring.gen is generated from (see jextract-uring.args). */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <sys/syscall.h>
#include <unistd.h>
