/*
 * ABI probe: prints, from this machine's headers, the size and field offsets of every C struct
 * the Java bindings lay out, and the value of every constant they hardcode. The Java ABI test
 * (bindings/src/test/java/io/dsf/bindings/abi) runs the probe and compares line by line.
 *
 * Output, one fact per line:
 *   struct NAME size BYTES
 *   field NAME.FIELD OFFSET SIZE
 *   const NAME VALUE
 *
 * Each probe_*.c file registers its sections with PROBE_SECTION; main.c runs them sorted by
 * name, so several libraries' probes can live side by side in this folder.
 */
#ifndef DSF_ABI_PROBE_H
#define DSF_ABI_PROBE_H

#include <stddef.h>
#include <stdio.h>

typedef void (*probe_fn)(void);

void probe_register(const char *name, probe_fn fn);

#define PROBE_SECTION(name)                                                        \
    static void probe_##name(void);                                                \
    __attribute__((constructor)) static void probe_register_##name(void) {         \
        probe_register(#name, probe_##name);                                       \
    }                                                                              \
    static void probe_##name(void)

#define STRUCT(s) printf("struct %s size %zu\n", #s, sizeof(struct s))
#define FIELD(s, f) \
    printf("field %s.%s %zu %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))
/* a field whose C name differs from the name the bindings give it (e.g. inside a union) */
#define FIELD_AS(s, f, javaName) \
    printf("field %s.%s %zu %zu\n", #s, javaName, offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

#endif
