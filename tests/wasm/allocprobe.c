/* Test plugin for the C SDK's allocator (HIE_PLUGIN replaces libc's malloc family) and its 64 KiB stack.
 * Every check verifies what it allocated byte by byte and fails with the first discrepancy. */
#include "hielements.h"

#include <malloc.h>

/* Fills n bytes with a pattern derived from `seed`, or checks that they still hold it. */
static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed * 31u + i * 7u);
}
static int holds(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31u + i * 7u)) return 0;
    return 1;
}

/* Interleaved malloc/realloc/free of many sizes; live blocks must keep their bytes and never overlap. */
static void churn(hie_ctx *c) {
    enum { N = 200 };
    unsigned char *blocks[N] = {0};
    size_t sizes[N] = {0};
    for (unsigned round = 0; round < 6; round++) {
        for (unsigned i = 0; i < N; i++) {
            unsigned k = (i * 17u + round * 5u) % N;
            if (blocks[k] && !holds(blocks[k], sizes[k], k)) { hie_fail(c, "block %u lost its bytes", k); return; }
            size_t n = (size_t)((k * 131u + round * 977u) % 5000u);
            if ((i + round) % 3 == 0) {
                free(blocks[k]);
                blocks[k] = (unsigned char *)malloc(n);
            } else {
                unsigned char *grown = (unsigned char *)realloc(blocks[k], n ? n : 1);
                if (blocks[k] && grown && !holds(grown, (sizes[k] < n ? sizes[k] : n), k)) {
                    hie_fail(c, "realloc of block %u to %zu lost its bytes", k, n);
                    return;
                }
                blocks[k] = grown;
                if (!n) n = 1;
            }
            if (!blocks[k]) { hie_fail(c, "malloc(%zu) returned NULL", n); return; }
            if ((uintptr_t)blocks[k] % 16) { hie_fail(c, "block %u is not 16-byte aligned", k); return; }
            if (malloc_usable_size(blocks[k]) < n) { hie_fail(c, "usable size below %zu", n); return; }
            sizes[k] = n;
            fill(blocks[k], n, k);
        }
    }
    for (unsigned k = 0; k < N; k++)
        if (!holds(blocks[k], sizes[k], k)) { hie_fail(c, "block %u lost its bytes at the end", k); return; }
    unsigned char *z = (unsigned char *)calloc(1000, 3);
    for (size_t i = 0; z && i < 3000; i++)
        if (z[i]) { hie_fail(c, "calloc byte %zu is %d", i, z[i]); return; }
    for (size_t align = 1; align <= 65536; align *= 2) {
        void *a = aligned_alloc(align, 100);
        void *b = NULL;
        int rc = posix_memalign(&b, align < sizeof(void *) ? sizeof(void *) : align, 3000);
        if (!a || rc || ((uintptr_t)a % align) || ((uintptr_t)b % align)) {
            hie_fail(c, "alignment %zu not honoured", align);
            return;
        }
        fill((unsigned char *)a, 100, 1);
        fill((unsigned char *)b, 3000, 2);
        void *moved = realloc(a, 20000);
        if (!moved || !holds((unsigned char *)moved, 100, 1)) { hie_fail(c, "realloc of an aligned block"); return; }
        free(moved);
        free(b);
    }
    hie_pass(c);
}

/* A buffer that keeps doubling (what hie_buf does) up to 32 MiB: grows in place, so memory stays near it. */
static void doubling(hie_ctx *c) {
    size_t n = 16;
    unsigned char *p = (unsigned char *)malloc(n);
    while (p && n < ((size_t)32 << 20)) {
        n *= 2;
        p = (unsigned char *)realloc(p, n);
        if (p) p[n - 1] = 1;
    }
    size_t memory = __builtin_wasm_memory_size(0) * 65536;
    if (!p) hie_fail(c, "realloc to %zu failed", n);
    else if (memory > ((size_t)40 << 20)) hie_fail(c, "memory grew to %zu bytes for a 32 MiB buffer", memory);
    else hie_pass(c);
}

/* Allocates 1 MiB blocks until malloc says no: it must answer NULL at the host's memory limit, not trap. */
static void exhaust(hie_ctx *c) {
    size_t total = 0;
    while (malloc((size_t)1 << 20)) total += (size_t)1 << 20;
    hie_fail(c, "malloc returned NULL after %zu MiB", total >> 20);
}

static int deep(int n) {
    volatile char frame[1024];
    frame[0] = (char)n;
    return n ? deep(n - 1) + frame[0] : 0;
}

/* Recursion far beyond the 64 KiB stack: must trap (stack-first layout), not overwrite data. */
static void overflow(hie_ctx *c) { hie_fail(c, "survived: %d", deep(100000)); }

static void always_pass(hie_ctx *c) { hie_pass(c); }

static const hie_function CHECKS[] = {
    {"churn", churn, "", HIE_NO_PARAMS, "CheckResult", ""},
    {"doubling", doubling, "", HIE_NO_PARAMS, "CheckResult", ""},
    {"exhaust", exhaust, "", HIE_NO_PARAMS, "CheckResult", ""},
    {"overflow", overflow, "", HIE_NO_PARAMS, "CheckResult", ""},
    {"always_pass", always_pass, "", HIE_NO_PARAMS, "CheckResult", ""},
    {0},
};

HIE_PLUGIN(.name = "allocprobe", .version = "0.1.0", .description = "allocator probe", .checks = CHECKS)
