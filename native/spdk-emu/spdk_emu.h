/*
 * The subset of the SPDK NVMe driver ABI (v24.09, x86_64) that dsf binds, declared here with
 * the same layouts and signatures so that libdsf_spdk_emu.so is a drop-in for a real SPDK bundle
 * library. No SPDK headers exist on the build machines: the layouts follow
 * ../shared/notes/spdk.md and are pinned by the static assertions below.
 */
#ifndef DSF_SPDK_EMU_H
#define DSF_SPDK_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* spdk/env.h */
struct spdk_env_opts {
	const char *name;
	const char *core_mask;
	const char *lcore_map;
	int shm_id;
	int mem_channel;
	int main_core;
	int mem_size;
	bool no_pci;
	bool hugepage_single_segments;
	bool unlink_hugepage;
	bool no_huge;
	uint32_t reserved;
	size_t num_pci_addr;
	const char *hugedir;
	void *pci_blocked;
	void *pci_allowed;
	const char *iova_mode;
	uint64_t base_virtaddr;
	void *env_context;
	const char *vf_token;
	size_t opts_size;
	bool enforce_numa;
	uint8_t reserved2[7];
};

#define SPDK_MALLOC_DMA 0x01
#define SPDK_MALLOC_SHARE 0x02
#define SPDK_ENV_NUMA_ID_ANY (-1)

/* spdk/nvme.h */
enum {
	SPDK_NVME_TRANSPORT_RDMA = 1,
	SPDK_NVME_TRANSPORT_FC = 2,
	SPDK_NVME_TRANSPORT_TCP = 3,
	SPDK_NVME_TRANSPORT_PCIE = 256,
	SPDK_NVME_TRANSPORT_VFIOUSER = 1024,
	SPDK_NVME_TRANSPORT_CUSTOM = 4096,
};

enum {
	SPDK_NVMF_ADRFAM_IPV4 = 1,
	SPDK_NVMF_ADRFAM_IPV6 = 2,
	SPDK_NVMF_ADRFAM_IB = 3,
	SPDK_NVMF_ADRFAM_FC = 4,
	SPDK_NVMF_ADRFAM_INTRA_HOST = 254,
};

#define SPDK_NVMF_TRSTRING_MAX_LEN 32
#define SPDK_NVMF_TRADDR_MAX_LEN 256
#define SPDK_NVMF_TRSVCID_MAX_LEN 32
#define SPDK_NVMF_NQN_MAX_LEN 223

struct spdk_nvme_transport_id {
	char trstring[SPDK_NVMF_TRSTRING_MAX_LEN + 1];
	int trtype;
	int adrfam;
	char traddr[SPDK_NVMF_TRADDR_MAX_LEN + 1];
	char trsvcid[SPDK_NVMF_TRSVCID_MAX_LEN + 1];
	char subnqn[SPDK_NVMF_NQN_MAX_LEN + 1];
	int priority;
};

/* Completion queue entry; status: phase bit 0, SC bits 1-8, SCT bits 9-11, CRD 12-13, M 14, DNR 15. */
struct spdk_nvme_cpl {
	uint32_t cdw0;
	uint32_t cdw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;
};

/* 856 bytes in v24.09; the emulator treats it as opaque, as the bindings do. */
struct spdk_nvme_ctrlr_opts {
	uint64_t opaque[107];
};

struct spdk_nvme_dsm_range {
	uint32_t attributes;
	uint32_t length;
	uint64_t starting_lba;
};

enum { SPDK_NVME_DSM_ATTR_DEALLOCATE = 0x4 };
enum { SPDK_NVME_NS_DEALLOCATE_SUPPORTED = 0x1, SPDK_NVME_NS_FLUSH_SUPPORTED = 0x2 };
enum { SPDK_NVME_DEALLOC_NOT_REPORTED = 0, SPDK_NVME_DEALLOC_READ_00 = 1, SPDK_NVME_DEALLOC_READ_FF = 2 };
#define SPDK_NVME_IO_FLAGS_FORCE_UNIT_ACCESS (1U << 30)

/* Generic command status codes (SCT 0) the emulator returns. */
enum {
	SPDK_NVME_SC_SUCCESS = 0x00,
	SPDK_NVME_SC_INVALID_FIELD = 0x02,
	SPDK_NVME_SC_INTERNAL_DEVICE_ERROR = 0x06,
	SPDK_NVME_SC_ABORTED_SQ_DELETION = 0x08,
	SPDK_NVME_SC_LBA_OUT_OF_RANGE = 0x80,
	SPDK_NVME_SC_CAPACITY_EXCEEDED = 0x81,
};
enum { SPDK_NVME_SCT_GENERIC = 0, SPDK_NVME_SCT_MEDIA_ERROR = 2 };
enum { SPDK_NVME_SC_WRITE_FAULTS = 0x80, SPDK_NVME_SC_UNRECOVERED_READ_ERROR = 0x81 };

struct spdk_nvme_ctrlr;
struct spdk_nvme_ns;
struct spdk_nvme_qpair;
struct spdk_nvme_io_qpair_opts;

typedef void (*spdk_nvme_cmd_cb)(void *ctx, const struct spdk_nvme_cpl *cpl);

void spdk_env_opts_init(struct spdk_env_opts *opts);
int spdk_env_init(const struct spdk_env_opts *opts);
void *spdk_zmalloc(size_t size, size_t align, uint64_t *unused, int numa_id, uint32_t flags);
void spdk_free(void *buf);

int spdk_nvme_transport_id_parse(struct spdk_nvme_transport_id *trid, const char *str);
void spdk_nvme_ctrlr_get_default_ctrlr_opts(struct spdk_nvme_ctrlr_opts *opts, size_t opts_size);
struct spdk_nvme_ctrlr *spdk_nvme_connect(const struct spdk_nvme_transport_id *trid,
		const struct spdk_nvme_ctrlr_opts *opts, size_t opts_size);
int spdk_nvme_detach(struct spdk_nvme_ctrlr *ctrlr);
int32_t spdk_nvme_ctrlr_process_admin_completions(struct spdk_nvme_ctrlr *ctrlr);
uint32_t spdk_nvme_ctrlr_get_num_ns(struct spdk_nvme_ctrlr *ctrlr);
uint32_t spdk_nvme_ctrlr_get_first_active_ns(struct spdk_nvme_ctrlr *ctrlr);
struct spdk_nvme_ns *spdk_nvme_ctrlr_get_ns(struct spdk_nvme_ctrlr *ctrlr, uint32_t nsid);

bool spdk_nvme_ns_is_active(struct spdk_nvme_ns *ns);
uint32_t spdk_nvme_ns_get_id(struct spdk_nvme_ns *ns);
uint64_t spdk_nvme_ns_get_size(struct spdk_nvme_ns *ns);
uint64_t spdk_nvme_ns_get_num_sectors(struct spdk_nvme_ns *ns);
uint32_t spdk_nvme_ns_get_sector_size(struct spdk_nvme_ns *ns);
uint32_t spdk_nvme_ns_get_max_io_xfer_size(struct spdk_nvme_ns *ns);
uint32_t spdk_nvme_ns_get_flags(struct spdk_nvme_ns *ns);
int spdk_nvme_ns_get_dealloc_logical_block_read_value(struct spdk_nvme_ns *ns);

struct spdk_nvme_qpair *spdk_nvme_ctrlr_alloc_io_qpair(struct spdk_nvme_ctrlr *ctrlr,
		const struct spdk_nvme_io_qpair_opts *opts, size_t opts_size);
int spdk_nvme_ctrlr_free_io_qpair(struct spdk_nvme_qpair *qpair);
int32_t spdk_nvme_qpair_process_completions(struct spdk_nvme_qpair *qpair, uint32_t max_completions);

int spdk_nvme_ns_cmd_read(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, void *payload,
		uint64_t lba, uint32_t lba_count, spdk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags);
int spdk_nvme_ns_cmd_write(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, void *payload,
		uint64_t lba, uint32_t lba_count, spdk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags);
int spdk_nvme_ns_cmd_flush(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair,
		spdk_nvme_cmd_cb cb_fn, void *cb_arg);
int spdk_nvme_ns_cmd_dataset_management(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair,
		uint32_t type, const struct spdk_nvme_dsm_range *ranges, uint16_t num_ranges,
		spdk_nvme_cmd_cb cb_fn, void *cb_arg);

/* Emulator-only extensions (a real SPDK does not export them; the bindings probe for them). */
const char *dsf_spdk_emu_version(void);
int dsf_spdk_emu_configure(const char *key, const char *value);

#ifdef __cplusplus
}
#endif

#endif /* DSF_SPDK_EMU_H */
