/* Input of jextract-verbs.args: the rdma-core headers the verbs transport binds. */
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <netinet/in.h>
