/*
 * libdsf_spdk_emu.so: an SPDK-NVMe-ABI emulator. It exports the spdk_* calls dsf binds, with the
 * same signatures and struct layouts as SPDK v24.09, over a file-backed namespace, so that the
 * very same Java code runs in CI without SPDK, DPDK, hugepages or an NVMe device.
 *
 * It enforces the rules a real SPDK imposes (../shared/notes/spdk.md), failing loudly on stderr:
 *  - spdk_env_opts_init() fills the options only when opts->opts_size == 128 was set first;
 *    spdk_env_init() refuses options without it;
 *  - spdk_env_init() succeeds once per process and pins the calling thread to the first CPU of
 *    core_mask (DSF_SPDK_EMU_PIN=0 turns pinning off);
 *  - a qpair belongs to the thread that allocated it: submitting or polling from another thread
 *    returns -EINVAL ("qpair used from two threads"). This is stricter than SPDK, which only
 *    requires one thread at a time, and matches how dsf uses qpairs;
 *  - keep-alive: when spdk_nvme_ctrlr_process_admin_completions() is not called within the
 *    keep-alive timeout the controller is disconnected for good: completions return -ENXIO
 *    (outstanding commands complete as ABORTED - SQ DELETION), submissions return -ENXIO;
 *  - payloads must lie in memory from spdk_zmalloc() (else -EFAULT, as a failed vtophys);
 *  - LBA ranges are checked when the command executes: LBA OUT OF RANGE (SCT 0, SC 0x80);
 *  - completions are delivered only inside spdk_nvme_qpair_process_completions() on the owning
 *    thread; commands execute there too (the "device" works between submission and polling).
 *
 * Namespace backing (one namespace, nsid 1, per transport id):
 *   file   $DSF_SPDK_EMU_DIR (default /tmp/dsf-spdk-emu) / <trtype>-<traddr>[-<trsvcid>-<subnqn>].img
 *          with every byte outside [A-Za-z0-9._-] replaced by '_', e.g. pcie-0000_00_04.0.img;
 *          created sparse and sized to DSF_SPDK_EMU_SIZE (default 1G); locked with flock() so that
 *          one process at a time attaches it, as with a real controller
 *   sector DSF_SPDK_EMU_SECTOR (512 or 4096, default 512)
 *   other  DSF_SPDK_EMU_KATO_MS (keep-alive, default 10000, 0 = off), DSF_SPDK_EMU_MAX_XFER
 *          (max I/O size reported, default 131072), DSF_SPDK_EMU_MAX_QPAIRS (default 128)
 * dsf_spdk_emu_configure(key, value) overrides these per process (keys: dir, size, sector,
 * kato_ms, max_xfer, max_qpairs, pin); it is an emulator-only symbol for tests.
 * Flush is fdatasync(); deallocate punches holes (reads return zeros).
 */
#define _GNU_SOURCE
#include "spdk_emu.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct spdk_env_opts) == 128, "spdk_env_opts is 128 bytes");
_Static_assert(offsetof(struct spdk_env_opts, core_mask) == 8, "core_mask @8");
_Static_assert(offsetof(struct spdk_env_opts, mem_size) == 36, "mem_size @36");
_Static_assert(offsetof(struct spdk_env_opts, no_pci) == 40, "no_pci @40");
_Static_assert(offsetof(struct spdk_env_opts, no_huge) == 43, "no_huge @43");
_Static_assert(offsetof(struct spdk_env_opts, iova_mode) == 80, "iova_mode @80");
_Static_assert(offsetof(struct spdk_env_opts, env_context) == 96, "env_context @96");
_Static_assert(offsetof(struct spdk_env_opts, opts_size) == 112, "opts_size @112");
_Static_assert(offsetof(struct spdk_env_opts, enforce_numa) == 120, "enforce_numa @120");
_Static_assert(sizeof(struct spdk_nvme_transport_id) == 564, "spdk_nvme_transport_id is 564 bytes");
_Static_assert(offsetof(struct spdk_nvme_transport_id, trtype) == 36, "trtype @36");
_Static_assert(offsetof(struct spdk_nvme_transport_id, adrfam) == 40, "adrfam @40");
_Static_assert(offsetof(struct spdk_nvme_transport_id, traddr) == 44, "traddr @44");
_Static_assert(offsetof(struct spdk_nvme_transport_id, trsvcid) == 301, "trsvcid @301");
_Static_assert(offsetof(struct spdk_nvme_transport_id, subnqn) == 334, "subnqn @334");
_Static_assert(offsetof(struct spdk_nvme_transport_id, priority) == 560, "priority @560");
_Static_assert(sizeof(struct spdk_nvme_cpl) == 16, "spdk_nvme_cpl is 16 bytes");
_Static_assert(offsetof(struct spdk_nvme_cpl, status) == 14, "status @14");
_Static_assert(sizeof(struct spdk_nvme_ctrlr_opts) == 856, "spdk_nvme_ctrlr_opts is 856 bytes");
_Static_assert(sizeof(struct spdk_nvme_dsm_range) == 16, "spdk_nvme_dsm_range is 16 bytes");

#define EMU_QP_REQS 512        /* requests per qpair (SPDK's default io_queue_requests) */
#define EMU_MAX_DSM_RANGES 256 /* NVMe limit per Dataset Management command */

enum { OP_READ, OP_WRITE, OP_FLUSH, OP_DSM };

static void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emu_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dsf-spdk-emu: %s\n", line);
	fflush(stderr);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- configuration */

enum cfg_key { CFG_DIR, CFG_SIZE, CFG_SECTOR, CFG_KATO_MS, CFG_MAX_XFER, CFG_MAX_QPAIRS, CFG_PIN, CFG_COUNT };

static const struct {
	const char *key;
	const char *env;
	const char *dflt;
} g_cfg_def[CFG_COUNT] = {
	{ "dir", "DSF_SPDK_EMU_DIR", "/tmp/dsf-spdk-emu" },
	{ "size", "DSF_SPDK_EMU_SIZE", "1G" },
	{ "sector", "DSF_SPDK_EMU_SECTOR", "512" },
	{ "kato_ms", "DSF_SPDK_EMU_KATO_MS", "10000" },
	{ "max_xfer", "DSF_SPDK_EMU_MAX_XFER", "131072" },
	{ "max_qpairs", "DSF_SPDK_EMU_MAX_QPAIRS", "128" },
	{ "pin", "DSF_SPDK_EMU_PIN", "1" },
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* config, env state, controller list */
static char *g_cfg_override[CFG_COUNT];
static bool g_env_ready;
static struct spdk_nvme_ctrlr *g_ctrlrs;

/* Copies the effective value of a setting into buf. Caller holds g_lock. */
static void cfg_get(enum cfg_key k, char *buf, size_t len)
{
	const char *v = g_cfg_override[k];
	if (v == NULL) v = getenv(g_cfg_def[k].env);
	if (v == NULL || *v == '\0') v = g_cfg_def[k].dflt;
	snprintf(buf, len, "%s", v);
}

/* Parses "4096", "64k", "1G", "2GiB" (binary multiples). Returns 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-') return -EINVAL;
	int shift = 0;
	switch (tolower((unsigned char)*end)) {
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	case 't': shift = 40; end++; break;
	default: break;
	}
	if (shift != 0 && (*end == 'i' || *end == 'I')) end++;
	if (*end == 'b' || *end == 'B') end++;
	if (*end != '\0') return -EINVAL;
	if (shift != 0 && v > (UINT64_MAX >> shift)) return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int cfg_size(enum cfg_key k, uint64_t *out)
{
	char buf[64];
	cfg_get(k, buf, sizeof(buf));
	if (parse_size(buf, out) != 0) {
		emu_log("invalid %s '%s' (expected a size such as 4096, 64M or 1G)", g_cfg_def[k].env, buf);
		return -EINVAL;
	}
	return 0;
}

const char *dsf_spdk_emu_version(void)
{
	return "dsf-spdk-emu 1 (SPDK v24.09 NVMe driver ABI subset, file-backed namespace)";
}

int dsf_spdk_emu_configure(const char *key, const char *value)
{
	if (key == NULL) return -EINVAL;
	for (int k = 0; k < CFG_COUNT; k++) {
		if (strcmp(key, g_cfg_def[k].key) != 0) continue;
		char *copy = value == NULL ? NULL : strdup(value);
		if (value != NULL && copy == NULL) return -ENOMEM;
		pthread_mutex_lock(&g_lock);
		free(g_cfg_override[k]);
		g_cfg_override[k] = copy;
		pthread_mutex_unlock(&g_lock);
		return 0;
	}
	emu_log("dsf_spdk_emu_configure: unknown key '%s' (dir, size, sector, kato_ms, max_xfer, max_qpairs, pin)", key);
	return -EINVAL;
}

/* ---------------------------------------------------------------- env and DMA memory */

struct dma_region {
	uintptr_t start;
	size_t len;
};

static pthread_rwlock_t g_dma_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct dma_region *g_dma;
static size_t g_dma_n, g_dma_cap;
static uint64_t g_dma_total, g_dma_limit; /* limit 0 = unlimited; from mem_size */

static bool env_ready(void)
{
	pthread_mutex_lock(&g_lock);
	bool r = g_env_ready;
	pthread_mutex_unlock(&g_lock);
	return r;
}

static bool dma_contains(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	bool found = false;
	pthread_rwlock_rdlock(&g_dma_lock);
	for (size_t i = 0; i < g_dma_n; i++) {
		const struct dma_region *r = &g_dma[i];
		if (a >= r->start && a - r->start <= r->len && len <= r->len - (a - r->start)) {
			found = true;
			break;
		}
	}
	pthread_rwlock_unlock(&g_dma_lock);
	return found;
}

void spdk_env_opts_init(struct spdk_env_opts *opts)
{
	if (opts == NULL) return;
	if (opts->opts_size != sizeof(*opts)) {
		emu_log("spdk_env_opts_init: opts->opts_size is %zu, not %zu: set opts_size = sizeof(struct spdk_env_opts) "
			"before calling spdk_env_opts_init (options left unset)", opts->opts_size, sizeof(*opts));
		return;
	}
	memset(opts, 0, sizeof(*opts));
	opts->opts_size = sizeof(*opts);
	opts->name = "spdk";
	opts->core_mask = "0x1";
	opts->shm_id = -1;
	opts->mem_channel = -1;
	opts->main_core = -1;
	opts->mem_size = -1;
}

/* Pins the calling thread to the lowest CPU of a hex core mask, as DPDK pins its main lcore. */
static void pin_calling_thread(const char *mask)
{
	char pin[8];
	pthread_mutex_lock(&g_lock);
	cfg_get(CFG_PIN, pin, sizeof(pin));
	pthread_mutex_unlock(&g_lock);
	if (strcmp(pin, "0") == 0) return;
	if (mask == NULL) mask = "0x1";
	const char *h = mask;
	if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h += 2;
	char *end;
	errno = 0;
	unsigned long long bits = strtoull(h, &end, 16);
	if (errno != 0 || end == h || *end != '\0' || bits == 0) {
		emu_log("spdk_env_init: core_mask '%s' not understood by the emulator; calling thread not pinned", mask);
		return;
	}
	int cpu = __builtin_ctzll(bits);
	cpu_set_t allowed;
	if (pthread_getaffinity_np(pthread_self(), sizeof(allowed), &allowed) != 0 || !CPU_ISSET(cpu, &allowed)) {
		emu_log("spdk_env_init: CPU %d of core_mask %s is not available; calling thread not pinned", cpu, mask);
		return;
	}
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}

int spdk_env_init(const struct spdk_env_opts *opts)
{
	if (opts == NULL) {
		emu_log("spdk_env_init(NULL): re-initialisation after spdk_env_fini is not supported");
		return -EINVAL;
	}
	if (opts->opts_size != sizeof(*opts)) {
		emu_log("spdk_env_init: opts->opts_size is %zu, not %zu: set opts_size before spdk_env_opts_init",
			opts->opts_size, sizeof(*opts));
		return -EINVAL;
	}
	if (opts->name == NULL) {
		emu_log("spdk_env_init: opts->name is NULL: fill the options with spdk_env_opts_init first");
		return -EINVAL;
	}
	if (opts->no_huge && opts->mem_size <= 0) {
		emu_log("spdk_env_init: no_huge needs mem_size (MB) to be set");
		return -EINVAL;
	}
	pthread_mutex_lock(&g_lock);
	if (g_env_ready) {
		pthread_mutex_unlock(&g_lock);
		emu_log("spdk_env_init: called twice in one process (the SPDK environment is initialised once per process)");
		return -EALREADY;
	}
	g_env_ready = true;
	pthread_mutex_unlock(&g_lock);
	pthread_rwlock_wrlock(&g_dma_lock);
	g_dma_limit = opts->mem_size > 0 ? (uint64_t)opts->mem_size << 20 : 0;
	pthread_rwlock_unlock(&g_dma_lock);
	pin_calling_thread(opts->core_mask);
	return 0;
}

void *spdk_zmalloc(size_t size, size_t align, uint64_t *unused, int numa_id, uint32_t flags)
{
	(void)numa_id;
	if (!env_ready()) {
		emu_log("spdk_zmalloc: called before spdk_env_init (there is no DMA memory yet)");
		return NULL;
	}
	if (unused != NULL) {
		emu_log("spdk_zmalloc: the third argument must be NULL");
		return NULL;
	}
	if ((flags & (SPDK_MALLOC_DMA | SPDK_MALLOC_SHARE)) == 0) {
		emu_log("spdk_zmalloc: flags must contain SPDK_MALLOC_DMA or SPDK_MALLOC_SHARE");
		return NULL;
	}
	if (size == 0 || (align & (align - 1)) != 0) return NULL;
	if (align < 64) align = 64;
	void *p;
	if (posix_memalign(&p, align, size) != 0) return NULL;
	memset(p, 0, size);
	pthread_rwlock_wrlock(&g_dma_lock);
	if (g_dma_limit != 0 && g_dma_total + size > g_dma_limit) {
		pthread_rwlock_unlock(&g_dma_lock);
		emu_log("spdk_zmalloc: %zu bytes exceed mem_size (%llu MB in use of %llu)", size,
			(unsigned long long)(g_dma_total >> 20), (unsigned long long)(g_dma_limit >> 20));
		free(p);
		return NULL;
	}
	if (g_dma_n == g_dma_cap) {
		size_t cap = g_dma_cap == 0 ? 64 : g_dma_cap * 2;
		struct dma_region *n = realloc(g_dma, cap * sizeof(*n));
		if (n == NULL) {
			pthread_rwlock_unlock(&g_dma_lock);
			free(p);
			return NULL;
		}
		g_dma = n;
		g_dma_cap = cap;
	}
	g_dma[g_dma_n++] = (struct dma_region){ (uintptr_t)p, size };
	g_dma_total += size;
	pthread_rwlock_unlock(&g_dma_lock);
	return p;
}

void spdk_free(void *buf)
{
	if (buf == NULL) return;
	pthread_rwlock_wrlock(&g_dma_lock);
	for (size_t i = 0; i < g_dma_n; i++) {
		if (g_dma[i].start == (uintptr_t)buf) {
			g_dma_total -= g_dma[i].len;
			g_dma[i] = g_dma[--g_dma_n];
			pthread_rwlock_unlock(&g_dma_lock);
			free(buf);
			return;
		}
	}
	pthread_rwlock_unlock(&g_dma_lock);
	emu_log("spdk_free(%p): not a pointer returned by spdk_zmalloc (ignored)", buf);
}

/* ---------------------------------------------------------------- transport ids */

static int parse_trtype(const char *v, struct spdk_nvme_transport_id *trid)
{
	static const struct { const char *name; int type; } types[] = {
		{ "PCIe", SPDK_NVME_TRANSPORT_PCIE }, { "TCP", SPDK_NVME_TRANSPORT_TCP },
		{ "RDMA", SPDK_NVME_TRANSPORT_RDMA }, { "FC", SPDK_NVME_TRANSPORT_FC },
		{ "VFIOUSER", SPDK_NVME_TRANSPORT_VFIOUSER },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(v, types[i].name) != 0) continue;
		trid->trtype = types[i].type;
		size_t n = strlen(types[i].name);
		for (size_t j = 0; j <= n; j++) trid->trstring[j] = (char)toupper((unsigned char)types[i].name[j]);
		return 0;
	}
	emu_log("spdk_nvme_transport_id_parse: unknown trtype '%s' (PCIe, TCP, RDMA, FC, VFIOUSER)", v);
	return -ENOENT;
}

static int parse_adrfam(const char *v, int *out)
{
	static const struct { const char *name; int fam; } fams[] = {
		{ "IPv4", SPDK_NVMF_ADRFAM_IPV4 }, { "IPv6", SPDK_NVMF_ADRFAM_IPV6 },
		{ "IB", SPDK_NVMF_ADRFAM_IB }, { "FC", SPDK_NVMF_ADRFAM_FC },
		{ "INTRA_HOST", SPDK_NVMF_ADRFAM_INTRA_HOST },
	};
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if (strcasecmp(v, fams[i].name) == 0) {
			*out = fams[i].fam;
			return 0;
		}
	}
	emu_log("spdk_nvme_transport_id_parse: unknown adrfam '%s' (IPv4, IPv6, IB, FC, INTRA_HOST)", v);
	return -ENOENT;
}

static int copy_field(char *dst, size_t max, const char *key, const char *v)
{
	if (strlen(v) > max) {
		emu_log("spdk_nvme_transport_id_parse: %s longer than %zu characters", key, max);
		return -EINVAL;
	}
	snprintf(dst, max + 1, "%s", v);
	return 0;
}

int spdk_nvme_transport_id_parse(struct spdk_nvme_transport_id *trid, const char *str)
{
	static const char ws[] = " \t\n\r";
	if (trid == NULL || str == NULL) return -EINVAL;
	const char *p = str;
	for (;;) {
		p += strspn(p, ws);
		if (*p == '\0') return 0;
		size_t tok = strcspn(p, ws);
		size_t klen = strcspn(p, ":=");
		if (klen >= tok) {
			emu_log("spdk_nvme_transport_id_parse: '%.*s' has no ':' or '=' between key and value", (int)tok, p);
			return -EINVAL;
		}
		char key[32];
		char val[SPDK_NVMF_TRADDR_MAX_LEN + 2];
		size_t vlen = tok - klen - 1;
		if (klen == 0 || klen >= sizeof(key) || vlen == 0 || vlen >= sizeof(val)) {
			emu_log("spdk_nvme_transport_id_parse: malformed key or value in '%.*s'", (int)tok, p);
			return -EINVAL;
		}
		memcpy(key, p, klen);
		key[klen] = '\0';
		memcpy(val, p + klen + 1, vlen);
		val[vlen] = '\0';
		p += tok;

		int rc = 0;
		if (strcasecmp(key, "trtype") == 0) {
			rc = parse_trtype(val, trid);
		} else if (strcasecmp(key, "adrfam") == 0) {
			rc = parse_adrfam(val, &trid->adrfam);
		} else if (strcasecmp(key, "traddr") == 0) {
			rc = copy_field(trid->traddr, SPDK_NVMF_TRADDR_MAX_LEN, key, val);
		} else if (strcasecmp(key, "trsvcid") == 0) {
			rc = copy_field(trid->trsvcid, SPDK_NVMF_TRSVCID_MAX_LEN, key, val);
		} else if (strcasecmp(key, "subnqn") == 0) {
			rc = copy_field(trid->subnqn, SPDK_NVMF_NQN_MAX_LEN, key, val);
		} else if (strcasecmp(key, "priority") == 0) {
			char *end;
			long pr = strtol(val, &end, 10);
			if (*end != '\0' || pr < 0 || pr > INT_MAX) rc = -EINVAL;
			else trid->priority = (int)pr;
		} else if (strcasecmp(key, "ns") == 0 || strcasecmp(key, "hostaddr") == 0 ||
			   strcasecmp(key, "hostsvcid") == 0 || strcasecmp(key, "hostnqn") == 0) {
			/* not part of the transport id: accepted and ignored, as SPDK does */
		} else {
			emu_log("spdk_nvme_transport_id_parse: unknown key '%s' (ignored)", key);
		}
		if (rc != 0) return rc;
	}
}

/* ---------------------------------------------------------------- controller, namespace, qpairs */

struct emu_req {
	uint8_t op;
	uint16_t nranges;
	uint32_t count;
	uint32_t flags; /* io_flags, or the DSM attribute bits */
	uint64_t lba;
	void *buf;
	struct spdk_nvme_dsm_range *ranges;
	spdk_nvme_cmd_cb cb;
	void *cb_arg;
};

struct spdk_nvme_ns {
	struct spdk_nvme_ctrlr *ctrlr;
	uint32_t id;
};

struct spdk_nvme_qpair {
	struct spdk_nvme_ctrlr *ctrlr;
	struct spdk_nvme_qpair *next;
	pthread_t owner;
	uint16_t id;
	bool in_completion;
	atomic_bool warned;
	uint32_t head, tail; /* FIFO of submitted commands, indexes taken modulo EMU_QP_REQS */
	struct emu_req reqs[EMU_QP_REQS];
};

struct spdk_nvme_ctrlr {
	struct spdk_nvme_transport_id trid;
	struct spdk_nvme_ctrlr *next;
	struct spdk_nvme_ns ns;
	char path[PATH_MAX];
	int fd;
	uint64_t size;
	uint32_t sector;
	uint32_t max_xfer;
	uint32_t max_qpairs;
	uint64_t kato_ns;
	_Atomic uint64_t last_admin_ns;
	atomic_int failed;
	pthread_mutex_t lock; /* qpair list */
	struct spdk_nvme_qpair *qpairs;
	uint32_t nqpairs;
	uint16_t next_qid;
};

static bool ctrlr_alive(struct spdk_nvme_ctrlr *c)
{
	if (atomic_load(&c->failed)) return false;
	if (c->kato_ns != 0 && now_ns() - atomic_load(&c->last_admin_ns) > c->kato_ns) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&c->failed, &expected, 1)) {
			emu_log("controller %s %s: keep-alive timeout: admin completions not polled for more than %llu ms, "
				"the controller is disconnected (call spdk_nvme_ctrlr_process_admin_completions regularly)",
				c->trid.trstring, c->trid.traddr, (unsigned long long)(c->kato_ns / 1000000));
		}
		return false;
	}
	return true;
}

static bool same_trid(const struct spdk_nvme_transport_id *a, const struct spdk_nvme_transport_id *b)
{
	return a->trtype == b->trtype && strcasecmp(a->traddr, b->traddr) == 0 &&
	       strcasecmp(a->trsvcid, b->trsvcid) == 0 && strcmp(a->subnqn, b->subnqn) == 0;
}

static void append_sanitized(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(dst);
	for (; *src != '\0' && n + 1 < cap; src++) {
		unsigned char ch = (unsigned char)*src;
		dst[n++] = (isalnum(ch) || ch == '.' || ch == '-' || ch == '_') ? (char)ch : '_';
	}
	dst[n] = '\0';
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) return -ENAMETOOLONG;
	for (char *s = tmp + 1; *s != '\0'; s++) {
		if (*s != '/') continue;
		*s = '\0';
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -errno;
		*s = '/';
	}
	if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -errno;
	return 0;
}

/* Resolves settings and opens the backing file. Caller holds g_lock. Returns 0 or -errno. */
static int ctrlr_open_backing(struct spdk_nvme_ctrlr *c)
{
	char dir[PATH_MAX], num[64];
	uint64_t size, sector, max_xfer, kato_ms, max_qpairs;
	cfg_get(CFG_DIR, dir, sizeof(dir));
	if (cfg_size(CFG_SIZE, &size) || cfg_size(CFG_SECTOR, &sector) || cfg_size(CFG_MAX_XFER, &max_xfer) ||
	    cfg_size(CFG_MAX_QPAIRS, &max_qpairs)) return -EINVAL;
	cfg_get(CFG_KATO_MS, num, sizeof(num));
	if (parse_size(num, &kato_ms) != 0) {
		emu_log("invalid DSF_SPDK_EMU_KATO_MS '%s'", num);
		return -EINVAL;
	}
	if (sector != 512 && sector != 4096) {
		emu_log("DSF_SPDK_EMU_SECTOR must be 512 or 4096, not %llu", (unsigned long long)sector);
		return -EINVAL;
	}
	size -= size % sector;
	if (size == 0) {
		emu_log("DSF_SPDK_EMU_SIZE is smaller than one sector");
		return -EINVAL;
	}
	max_xfer -= max_xfer % sector;
	if (max_xfer == 0 || max_xfer > (1u << 30)) max_xfer = 131072;
	if (max_qpairs == 0 || max_qpairs > 65535) max_qpairs = 128;

	char name[512] = "";
	for (const char *t = c->trid.trstring; *t != '\0'; t++) {
		size_t n = strlen(name);
		name[n] = (char)tolower((unsigned char)*t);
		name[n + 1] = '\0';
	}
	strcat(name, "-");
	append_sanitized(name, 200, c->trid.traddr);
	if (c->trid.trtype != SPDK_NVME_TRANSPORT_PCIE) {
		strcat(name, "-");
		append_sanitized(name, 260, c->trid.trsvcid);
		strcat(name, "-");
		append_sanitized(name, 500, c->trid.subnqn);
	}
	int rc = mkdir_p(dir);
	if (rc != 0) {
		emu_log("cannot create %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (snprintf(c->path, sizeof(c->path), "%s/%s.img", dir, name) >= (int)sizeof(c->path)) return -ENAMETOOLONG;
	c->fd = open(c->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (c->fd < 0) {
		rc = -errno;
		emu_log("cannot open %s: %s", c->path, strerror(errno));
		return rc;
	}
	if (flock(c->fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		emu_log("%s is attached by another process (one process per controller)", c->path);
		close(c->fd);
		return rc;
	}
	struct stat st;
	if (fstat(c->fd, &st) != 0 || ((uint64_t)st.st_size != size && ftruncate(c->fd, (off_t)size) != 0)) {
		rc = -errno;
		emu_log("cannot size %s to %llu bytes: %s", c->path, (unsigned long long)size, strerror(errno));
		close(c->fd);
		return rc;
	}
	c->size = size;
	c->sector = (uint32_t)sector;
	c->max_xfer = (uint32_t)max_xfer;
	c->max_qpairs = (uint32_t)max_qpairs;
	c->kato_ns = kato_ms * 1000000ull;
	return 0;
}

void spdk_nvme_ctrlr_get_default_ctrlr_opts(struct spdk_nvme_ctrlr_opts *opts, size_t opts_size)
{
	if (opts == NULL) return;
	memset(opts, 0, opts_size < sizeof(*opts) ? opts_size : sizeof(*opts));
}

struct spdk_nvme_ctrlr *spdk_nvme_connect(const struct spdk_nvme_transport_id *trid,
		const struct spdk_nvme_ctrlr_opts *opts, size_t opts_size)
{
	if (trid == NULL) return NULL;
	if (opts != NULL && opts_size == 0) {
		emu_log("spdk_nvme_connect: opts given with opts_size 0");
		return NULL;
	}
	if (trid->trtype != SPDK_NVME_TRANSPORT_PCIE && trid->trtype != SPDK_NVME_TRANSPORT_TCP &&
	    trid->trtype != SPDK_NVME_TRANSPORT_RDMA) {
		emu_log("spdk_nvme_connect: transport type %d is not emulated (PCIe, TCP, RDMA)", trid->trtype);
		return NULL;
	}
	if (trid->traddr[0] == '\0' || (trid->trtype != SPDK_NVME_TRANSPORT_PCIE &&
					 (trid->trsvcid[0] == '\0' || trid->subnqn[0] == '\0'))) {
		emu_log("spdk_nvme_connect: transport id needs traddr%s", trid->trtype == SPDK_NVME_TRANSPORT_PCIE ? "" :
			", trsvcid and subnqn");
		return NULL;
	}
	struct spdk_nvme_ctrlr *c = calloc(1, sizeof(*c));
	if (c == NULL) return NULL;
	c->trid = *trid;
	c->ns.ctrlr = c;
	c->ns.id = 1;
	pthread_mutex_init(&c->lock, NULL);

	pthread_mutex_lock(&g_lock);
	if (!g_env_ready) {
		pthread_mutex_unlock(&g_lock);
		emu_log("spdk_nvme_connect: spdk_env_init has not been called");
		free(c);
		return NULL;
	}
	for (struct spdk_nvme_ctrlr *o = g_ctrlrs; o != NULL; o = o->next) {
		if (same_trid(&o->trid, trid)) {
			pthread_mutex_unlock(&g_lock);
			emu_log("spdk_nvme_connect: %s %s is already attached in this process", trid->trstring, trid->traddr);
			free(c);
			return NULL;
		}
	}
	if (ctrlr_open_backing(c) != 0) {
		pthread_mutex_unlock(&g_lock);
		free(c);
		return NULL;
	}
	atomic_store(&c->last_admin_ns, now_ns());
	c->next = g_ctrlrs;
	g_ctrlrs = c;
	pthread_mutex_unlock(&g_lock);
	emu_log("attached %s %s -> %s (%llu bytes, %u-byte sectors, keep-alive %llu ms)", c->trid.trstring,
		c->trid.traddr, c->path, (unsigned long long)c->size, c->sector,
		(unsigned long long)(c->kato_ns / 1000000));
	return c;
}

int32_t spdk_nvme_ctrlr_process_admin_completions(struct spdk_nvme_ctrlr *ctrlr)
{
	if (ctrlr == NULL) return -EINVAL;
	if (!ctrlr_alive(ctrlr)) return -ENXIO;
	atomic_store(&ctrlr->last_admin_ns, now_ns());
	return 0;
}

uint32_t spdk_nvme_ctrlr_get_num_ns(struct spdk_nvme_ctrlr *ctrlr) { return ctrlr == NULL ? 0 : 1; }

uint32_t spdk_nvme_ctrlr_get_first_active_ns(struct spdk_nvme_ctrlr *ctrlr) { return ctrlr == NULL ? 0 : 1; }

struct spdk_nvme_ns *spdk_nvme_ctrlr_get_ns(struct spdk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	return ctrlr != NULL && nsid == 1 ? &ctrlr->ns : NULL;
}

bool spdk_nvme_ns_is_active(struct spdk_nvme_ns *ns) { return ns != NULL; }

uint32_t spdk_nvme_ns_get_id(struct spdk_nvme_ns *ns) { return ns->id; }

uint64_t spdk_nvme_ns_get_size(struct spdk_nvme_ns *ns) { return ns->ctrlr->size; }

uint64_t spdk_nvme_ns_get_num_sectors(struct spdk_nvme_ns *ns) { return ns->ctrlr->size / ns->ctrlr->sector; }

uint32_t spdk_nvme_ns_get_sector_size(struct spdk_nvme_ns *ns) { return ns->ctrlr->sector; }

uint32_t spdk_nvme_ns_get_max_io_xfer_size(struct spdk_nvme_ns *ns) { return ns->ctrlr->max_xfer; }

uint32_t spdk_nvme_ns_get_flags(struct spdk_nvme_ns *ns)
{
	(void)ns;
	return SPDK_NVME_NS_DEALLOCATE_SUPPORTED | SPDK_NVME_NS_FLUSH_SUPPORTED;
}

int spdk_nvme_ns_get_dealloc_logical_block_read_value(struct spdk_nvme_ns *ns)
{
	(void)ns;
	return SPDK_NVME_DEALLOC_READ_00;
}

struct spdk_nvme_qpair *spdk_nvme_ctrlr_alloc_io_qpair(struct spdk_nvme_ctrlr *ctrlr,
		const struct spdk_nvme_io_qpair_opts *opts, size_t opts_size)
{
	(void)opts;
	(void)opts_size;
	if (ctrlr == NULL) return NULL;
	if (!ctrlr_alive(ctrlr)) {
		emu_log("spdk_nvme_ctrlr_alloc_io_qpair: controller %s is disconnected", ctrlr->trid.traddr);
		return NULL;
	}
	struct spdk_nvme_qpair *qp = calloc(1, sizeof(*qp));
	if (qp == NULL) return NULL;
	qp->ctrlr = ctrlr;
	qp->owner = pthread_self();
	pthread_mutex_lock(&ctrlr->lock);
	if (ctrlr->nqpairs >= ctrlr->max_qpairs) {
		pthread_mutex_unlock(&ctrlr->lock);
		emu_log("spdk_nvme_ctrlr_alloc_io_qpair: controller %s has no free I/O queue (%u allocated)",
			ctrlr->trid.traddr, ctrlr->nqpairs);
		free(qp);
		return NULL;
	}
	qp->id = ++ctrlr->next_qid;
	qp->next = ctrlr->qpairs;
	ctrlr->qpairs = qp;
	ctrlr->nqpairs++;
	pthread_mutex_unlock(&ctrlr->lock);
	return qp;
}

static bool owner_thread(struct spdk_nvme_qpair *qp, const char *fn)
{
	if (pthread_equal(pthread_self(), qp->owner)) return true;
	if (!atomic_exchange(&qp->warned, true)) {
		emu_log("%s: qpair %u used from two threads (it belongs to the thread that allocated it; "
			"SPDK qpairs are not thread safe)", fn, qp->id);
	}
	return false;
}

static uint16_t make_status(int sct, int sc)
{
	return (uint16_t)(((sct & 0x7) << 9) | ((sc & 0xff) << 1) | 1 /* phase */);
}

/* Completes every queued command as ABORTED - SQ DELETION, calling its callback. */
static void abort_all(struct spdk_nvme_qpair *qp)
{
	qp->in_completion = true;
	while (qp->head != qp->tail) {
		struct emu_req r = qp->reqs[qp->head % EMU_QP_REQS];
		struct spdk_nvme_cpl cpl = { .sqid = qp->id, .cid = (uint16_t)(qp->head % EMU_QP_REQS),
					     .status = make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_ABORTED_SQ_DELETION) };
		qp->head++;
		free(r.ranges);
		if (r.cb != NULL) r.cb(r.cb_arg, &cpl);
	}
	qp->in_completion = false;
}

int spdk_nvme_ctrlr_free_io_qpair(struct spdk_nvme_qpair *qpair)
{
	if (qpair == NULL) return -EINVAL;
	if (qpair->in_completion) {
		emu_log("spdk_nvme_ctrlr_free_io_qpair: qpair %u freed from its own completion callback", qpair->id);
		return -EBUSY;
	}
	struct spdk_nvme_ctrlr *c = qpair->ctrlr;
	pthread_mutex_lock(&c->lock);
	for (struct spdk_nvme_qpair **pp = &c->qpairs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == qpair) {
			*pp = qpair->next;
			c->nqpairs--;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	abort_all(qpair);
	free(qpair);
	return 0;
}

int spdk_nvme_detach(struct spdk_nvme_ctrlr *ctrlr)
{
	if (ctrlr == NULL) return -EINVAL;
	pthread_mutex_lock(&g_lock);
	for (struct spdk_nvme_ctrlr **pp = &g_ctrlrs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ctrlr) {
			*pp = ctrlr->next;
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	if (ctrlr->qpairs != NULL) {
		emu_log("spdk_nvme_detach: %u I/O qpairs of %s still allocated; freeing them", ctrlr->nqpairs,
			ctrlr->trid.traddr);
		while (ctrlr->qpairs != NULL) spdk_nvme_ctrlr_free_io_qpair(ctrlr->qpairs);
	}
	close(ctrlr->fd);
	pthread_mutex_destroy(&ctrlr->lock);
	free(ctrlr);
	return 0;
}

/* Common submission checks: owner thread, connection, free request. Returns 0 or -errno. */
static int submit_check(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qp, const char *fn)
{
	if (ns == NULL || qp == NULL) return -EINVAL;
	if (ns->ctrlr != qp->ctrlr) {
		emu_log("%s: namespace and qpair belong to different controllers", fn);
		return -EINVAL;
	}
	if (!owner_thread(qp, fn)) return -EINVAL;
	if (!ctrlr_alive(qp->ctrlr)) return -ENXIO;
	if (qp->tail - qp->head >= EMU_QP_REQS) return -ENOMEM;
	return 0;
}

static void enqueue(struct spdk_nvme_qpair *qp, const struct emu_req *r)
{
	qp->reqs[qp->tail % EMU_QP_REQS] = *r;
	qp->tail++;
}

static int submit_rw(uint8_t op, struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qp, void *payload,
		     uint64_t lba, uint32_t count, spdk_nvme_cmd_cb cb, void *arg, uint32_t flags, const char *fn)
{
	int rc = submit_check(ns, qp, fn);
	if (rc != 0) return rc;
	if (payload == NULL || count == 0) return -EINVAL;
	if (((uintptr_t)payload & 3) != 0) {
		emu_log("%s: payload %p is not dword aligned", fn, payload);
		return -EINVAL;
	}
	size_t len = (size_t)count * ns->ctrlr->sector;
	if (!dma_contains(payload, len)) {
		emu_log("%s: payload %p (+%zu bytes) is not DMA memory from spdk_zmalloc (vtophys failed)", fn, payload, len);
		return -EFAULT;
	}
	struct emu_req r = { .op = op, .count = count, .flags = flags, .lba = lba, .buf = payload, .cb = cb, .cb_arg = arg };
	enqueue(qp, &r);
	return 0;
}

int spdk_nvme_ns_cmd_read(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, void *payload,
		uint64_t lba, uint32_t lba_count, spdk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)
{
	return submit_rw(OP_READ, ns, qpair, payload, lba, lba_count, cb_fn, cb_arg, io_flags, "spdk_nvme_ns_cmd_read");
}

int spdk_nvme_ns_cmd_write(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, void *payload,
		uint64_t lba, uint32_t lba_count, spdk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)
{
	return submit_rw(OP_WRITE, ns, qpair, payload, lba, lba_count, cb_fn, cb_arg, io_flags, "spdk_nvme_ns_cmd_write");
}

int spdk_nvme_ns_cmd_flush(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, spdk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	int rc = submit_check(ns, qpair, "spdk_nvme_ns_cmd_flush");
	if (rc != 0) return rc;
	struct emu_req r = { .op = OP_FLUSH, .cb = cb_fn, .cb_arg = cb_arg };
	enqueue(qpair, &r);
	return 0;
}

int spdk_nvme_ns_cmd_dataset_management(struct spdk_nvme_ns *ns, struct spdk_nvme_qpair *qpair, uint32_t type,
		const struct spdk_nvme_dsm_range *ranges, uint16_t num_ranges, spdk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	int rc = submit_check(ns, qpair, "spdk_nvme_ns_cmd_dataset_management");
	if (rc != 0) return rc;
	if (ranges == NULL || num_ranges == 0 || num_ranges > EMU_MAX_DSM_RANGES) return -EINVAL;
	/* like SPDK, copy the ranges: the caller's array may live on its stack */
	struct spdk_nvme_dsm_range *copy = malloc(num_ranges * sizeof(*copy));
	if (copy == NULL) return -ENOMEM;
	memcpy(copy, ranges, num_ranges * sizeof(*copy));
	struct emu_req r = { .op = OP_DSM, .nranges = num_ranges, .flags = type, .ranges = copy, .cb = cb_fn, .cb_arg = cb_arg };
	enqueue(qpair, &r);
	return 0;
}

static uint16_t errno_status(int err, bool write)
{
	if (err == ENOSPC || err == EDQUOT) return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_CAPACITY_EXCEEDED);
	if (err == EIO) return make_status(SPDK_NVME_SCT_MEDIA_ERROR, write ? SPDK_NVME_SC_WRITE_FAULTS : SPDK_NVME_SC_UNRECOVERED_READ_ERROR);
	return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_INTERNAL_DEVICE_ERROR);
}

static bool lba_range_ok(const struct spdk_nvme_ctrlr *c, uint64_t lba, uint64_t count)
{
	uint64_t sectors = c->size / c->sector;
	return lba < sectors && count <= sectors - lba;
}

static uint16_t exec_rw(struct spdk_nvme_ctrlr *c, const struct emu_req *r)
{
	if (!lba_range_ok(c, r->lba, r->count)) return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_LBA_OUT_OF_RANGE);
	bool write = r->op == OP_WRITE;
	char *p = r->buf;
	size_t left = (size_t)r->count * c->sector;
	off_t off = (off_t)(r->lba * c->sector);
	while (left > 0) {
		ssize_t n = write ? pwrite(c->fd, p, left, off) : pread(c->fd, p, left, off);
		if (n < 0) {
			if (errno == EINTR) continue;
			return errno_status(errno, write);
		}
		if (n == 0) {
			if (write) return errno_status(ENOSPC, true);
			memset(p, 0, left); /* beyond the end of a shrunken file */
			break;
		}
		p += n;
		left -= (size_t)n;
		off += n;
	}
	if (write && (r->flags & SPDK_NVME_IO_FLAGS_FORCE_UNIT_ACCESS) != 0 && fdatasync(c->fd) != 0)
		return errno_status(errno, true);
	return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_SUCCESS);
}

static int zero_range(int fd, off_t off, off_t len)
{
	static const char zeros[65536];
	while (len > 0) {
		ssize_t n = pwrite(fd, zeros, len < (off_t)sizeof(zeros) ? (size_t)len : sizeof(zeros), off);
		if (n < 0) {
			if (errno == EINTR) continue;
			return errno;
		}
		off += n;
		len -= n;
	}
	return 0;
}

static uint16_t exec_dsm(struct spdk_nvme_ctrlr *c, const struct emu_req *r)
{
	for (uint16_t i = 0; i < r->nranges; i++) {
		if (!lba_range_ok(c, r->ranges[i].starting_lba, r->ranges[i].length))
			return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_LBA_OUT_OF_RANGE);
	}
	if ((r->flags & SPDK_NVME_DSM_ATTR_DEALLOCATE) == 0) return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_SUCCESS);
	for (uint16_t i = 0; i < r->nranges; i++) {
		off_t off = (off_t)(r->ranges[i].starting_lba * c->sector);
		off_t len = (off_t)r->ranges[i].length * c->sector;
		if (len == 0) continue;
		if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) != 0) {
			int err = errno == EOPNOTSUPP ? zero_range(c->fd, off, len) : errno;
			if (err != 0) return errno_status(err, true);
		}
	}
	return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_SUCCESS);
}

static uint16_t exec_req(struct spdk_nvme_ctrlr *c, const struct emu_req *r)
{
	switch (r->op) {
	case OP_READ:
	case OP_WRITE:
		return exec_rw(c, r);
	case OP_FLUSH:
		return fdatasync(c->fd) == 0 ? make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_SUCCESS) : errno_status(errno, true);
	case OP_DSM:
		return exec_dsm(c, r);
	default:
		return make_status(SPDK_NVME_SCT_GENERIC, SPDK_NVME_SC_INVALID_FIELD);
	}
}

int32_t spdk_nvme_qpair_process_completions(struct spdk_nvme_qpair *qpair, uint32_t max_completions)
{
	if (qpair == NULL) return -EINVAL;
	if (!owner_thread(qpair, "spdk_nvme_qpair_process_completions")) return -EINVAL;
	if (qpair->in_completion) return 0; /* called from a completion callback: nothing nested */
	if (!ctrlr_alive(qpair->ctrlr)) {
		abort_all(qpair);
		return -ENXIO;
	}
	uint32_t n = qpair->tail - qpair->head; /* commands submitted by callbacks wait for the next call */
	if (max_completions != 0 && n > max_completions) n = max_completions;
	qpair->in_completion = true;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t slot = qpair->head % EMU_QP_REQS;
		struct emu_req r = qpair->reqs[slot];
		qpair->head++;
		struct spdk_nvme_cpl cpl = { .sqhd = (uint16_t)(qpair->head % EMU_QP_REQS), .sqid = qpair->id,
					     .cid = (uint16_t)slot, .status = exec_req(qpair->ctrlr, &r) };
		free(r.ranges);
		if (r.cb != NULL) r.cb(r.cb_arg, &cpl);
	}
	qpair->in_completion = false;
	return (int32_t)n;
}
