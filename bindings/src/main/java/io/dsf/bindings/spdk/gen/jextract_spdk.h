/* Input header for jextract (see jextract.args): the two SPDK headers dsf binds. */
#include <spdk/env.h>
#include <spdk/nvme.h>
