/* Runs every registered probe section, sorted by name (see probe.h). */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SECTIONS 64

static struct {
    const char *name;
    probe_fn fn;
} sections[MAX_SECTIONS];
static int nsections;

void probe_register(const char *name, probe_fn fn) {
    if (nsections == MAX_SECTIONS) {
        fprintf(stderr, "abi-probe: too many sections (raise MAX_SECTIONS)\n");
        exit(2);
    }
    sections[nsections].name = name;
    sections[nsections].fn = fn;
    nsections++;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void) {
    qsort(sections, (size_t)nsections, sizeof(sections[0]), by_name);
    printf("# dsf abi-probe: %d sections\n", nsections);
    for (int i = 0; i < nsections; i++) {
        printf("# section %s\n", sections[i].name);
        sections[i].fn();
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
