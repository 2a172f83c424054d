/*
 * hielements.h — header-only SDK for hie-tasks WebAssembly plugins (ABI 1), C and Zig.
 *
 * A plugin is one C file:
 *
 *     #include "hielements.h"
 *
 *     static void always_pass(hie_ctx *c) { hie_pass(c); }
 *
 *     static const hie_function CHECKS[] = {
 *         {"always_pass", always_pass, "A check that always passes", HIE_NO_PARAMS, "Bool", ""},
 *         {0},
 *     };
 *
 *     HIE_PLUGIN(.name = "demo", .version = "0.1.0", .description = "Demo", .checks = CHECKS)
 *
 * Build:  python -m ziglang cc --target=wasm32-wasi -O2 -mexec-model=reactor -s -Wl,-z,stack-size=65536 \
 *             -I<sdk> demo.c -o demo.wasm
 *         (or `hie-tasks plugins build DIR`). The stack is 64 KiB (zig's default of 16 MiB makes every call's
 *         fresh instance map and reset 16 MiB); keep big buffers on the heap. Overflowing it traps.
 *
 * HIE_PLUGIN defines every export the host looks for: memory (by the toolchain), alloc, dealloc,
 * hielements_abi_version, library_call, library_check, library_metadata and library_doc. The generated
 * library_call/library_check parse the request, find the function in your tables, run it and answer
 * "Unknown function: <lib>.<fn>" for names that are not there.
 *
 * Memory: the host runs every call in a fresh instance, so helpers allocate with malloc and nothing needs to
 * be freed by hand (free what you like; it only matters for plugins that build very large intermediate data).
 * HIE_PLUGIN also supplies malloc/free/realloc/calloc and friends (see "The plugin's malloc"), tuned for
 * instances that live for one call; #define HIE_SYSTEM_MALLOC before the #include to keep libc's.
 *
 * Dependencies: wasi-libc only (stdio, stdlib, string, dirent, sys/stat).
 */
#ifndef HIELEMENTS_H
#define HIELEMENTS_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HIE_ABI_VERSION 1
/* Every helper is static (header-only) and marked unused so a plugin that needs only a few compiles quietly
 * under -Wall. sdk/zig/hielements_impl.c redefines it to compile the helpers once as linkable functions. */
#ifndef HIE_API
#define HIE_API static __attribute__((unused))
#endif
/* Nesting limit of the request parser: a request deeper than this is refused instead of exhausting the
 * (small, fixed) wasm stack. Real requests are at most a handful of levels deep. */
#define HIE_JSON_MAX_DEPTH 64

/* ------------------------------------------------------------------------------------------------------ */
/* JSON document                                                                                            */
/* ------------------------------------------------------------------------------------------------------ */

typedef enum { HIE_JNULL, HIE_JBOOL, HIE_JNUMBER, HIE_JSTRING, HIE_JARRAY, HIE_JOBJECT } hie_jtype;

typedef struct hie_json {
    hie_jtype type;
    int boolean;
    /* Numbers: `number` always; `integer` and is_integer when the literal had no fraction/exponent and
     * fits in 64 bits — so {"Int": 9007199254740993} keeps every digit. */
    double number;
    long long integer;
    int is_integer;
    /* Strings: decoded UTF-8, NUL-terminated; `len` counts bytes (a "\u0000" escape can embed a NUL). */
    char *str;
    size_t len;
    /* Arrays and objects: `count` children in `items`; objects also have `keys[i]` (NUL-terminated). */
    struct hie_json *items;
    char **keys;
    size_t count;
} hie_json;

typedef struct {
    const char *p;
    const char *end;
    const char *error;
    int depth;
} hie__parser;

HIE_API void hie__ws(hie__parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

HIE_API int hie__fail(hie__parser *ps, const char *why) {
    if (!ps->error) ps->error = why;
    return 0;
}

/* Appends code point `cp` as UTF-8; the caller reserved 4 bytes. */
HIE_API size_t hie__put_utf8(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

HIE_API int hie__hex4(hie__parser *ps, uint32_t *out) {
    uint32_t v = 0;
    if (ps->end - ps->p < 4) return hie__fail(ps, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        char ch = *ps->p++;
        v <<= 4;
        if (ch >= '0' && ch <= '9') v |= (uint32_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f') v |= (uint32_t)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F') v |= (uint32_t)(ch - 'A' + 10);
        else return hie__fail(ps, "bad hex digit in \\u escape");
    }
    *out = v;
    return 1;
}

/* Parses a JSON string at ps->p (which is at the opening quote) into a fresh NUL-terminated buffer. */
HIE_API int hie__string(hie__parser *ps, char **out, size_t *out_len) {
    const char *start = ++ps->p;
    /* Decoded text is never longer than its escaped form, plus room for the NUL. */
    const char *q = start;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) return hie__fail(ps, "unterminated string");
    char *buf = (char *)malloc((size_t)(q - start) + 1);
    if (!buf) return hie__fail(ps, "out of memory");
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char ch = (unsigned char)*ps->p++;
        if (ch != '\\') { buf[n++] = (char)ch; continue; }
        if (ps->p >= ps->end) return hie__fail(ps, "unterminated escape");
        char esc = *ps->p++;
        switch (esc) {
            case '"': buf[n++] = '"'; break;
            case '\\': buf[n++] = '\\'; break;
            case '/': buf[n++] = '/'; break;
            case 'b': buf[n++] = '\b'; break;
            case 'f': buf[n++] = '\f'; break;
            case 'n': buf[n++] = '\n'; break;
            case 'r': buf[n++] = '\r'; break;
            case 't': buf[n++] = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!hie__hex4(ps, &cp)) return 0;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    /* A high surrogate must be followed by an escaped low one; otherwise it is a lone
                     * surrogate, which UTF-8 cannot carry, so it becomes U+FFFD. */
                    uint32_t lo = 0;
                    if (ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
                        const char *save = ps->p;
                        ps->p += 2;
                        if (!hie__hex4(ps, &lo)) return 0;
                        if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        else { ps->p = save; cp = 0xFFFD; }
                    } else {
                        cp = 0xFFFD;
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    cp = 0xFFFD;
                }
                /* Escape text is 6 (or 12) bytes and its UTF-8 at most 4, so the buffer never overflows. */
                n += hie__put_utf8(buf + n, cp);
                break;
            }
            default: return hie__fail(ps, "unknown escape in string");
        }
    }
    ps->p++; /* closing quote */
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 1;
}

HIE_API int hie__value(hie__parser *ps, hie_json *v);

HIE_API int hie__grow(hie_json *v, size_t *cap, int with_keys) {
    if (v->count < *cap) return 1;
    size_t ncap = *cap ? *cap * 2 : 4;
    hie_json *items = (hie_json *)realloc(v->items, ncap * sizeof(hie_json));
    if (!items) return 0;
    v->items = items;
    if (with_keys) {
        char **keys = (char **)realloc(v->keys, ncap * sizeof(char *));
        if (!keys) return 0;
        v->keys = keys;
    }
    *cap = ncap;
    return 1;
}

HIE_API int hie__container(hie__parser *ps, hie_json *v, int is_object) {
    char close = is_object ? '}' : ']';
    size_t cap = 0;
    v->type = is_object ? HIE_JOBJECT : HIE_JARRAY;
    if (++ps->depth > HIE_JSON_MAX_DEPTH) return hie__fail(ps, "JSON nested too deeply");
    ps->p++;
    hie__ws(ps);
    if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return 1; }
    for (;;) {
        if (!hie__grow(v, &cap, is_object)) return hie__fail(ps, "out of memory");
        hie_json *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        if (is_object) {
            size_t klen;
            hie__ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return hie__fail(ps, "expected an object key");
            if (!hie__string(ps, &v->keys[v->count], &klen)) return 0;
            hie__ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return hie__fail(ps, "expected ':' after an object key");
            ps->p++;
        }
        if (!hie__value(ps, item)) return 0;
        v->count++;
        hie__ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return 1; }
        return hie__fail(ps, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

HIE_API int hie__number(hie__parser *ps, hie_json *v) {
    char tmp[64];
    size_t n = 0;
    int integral = 1;
    while (ps->p < ps->end && n < sizeof tmp - 1) {
        char ch = *ps->p;
        if (ch == '.' || ch == 'e' || ch == 'E') integral = 0;
        else if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '+')) break;
        tmp[n++] = ch;
        ps->p++;
    }
    tmp[n] = '\0';
    char *endp;
    v->type = HIE_JNUMBER;
    v->number = strtod(tmp, &endp);
    if (endp == tmp || *endp != '\0') return hie__fail(ps, "malformed number");
    if (integral) {
        errno = 0;
        long long i = strtoll(tmp, &endp, 10);
        v->is_integer = *endp == '\0' && errno != ERANGE;
        v->integer = i;
    }
    return 1;
}

HIE_API int hie__literal(hie__parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return hie__fail(ps, "unexpected character");
    ps->p += n;
    return 1;
}

HIE_API int hie__value(hie__parser *ps, hie_json *v) {
    hie__ws(ps);
    if (ps->p >= ps->end) return hie__fail(ps, "unexpected end of JSON");
    switch (*ps->p) {
        case '{': return hie__container(ps, v, 1);
        case '[': return hie__container(ps, v, 0);
        case '"': v->type = HIE_JSTRING; return hie__string(ps, &v->str, &v->len);
        case 't': v->type = HIE_JBOOL; v->boolean = 1; return hie__literal(ps, "true");
        case 'f': v->type = HIE_JBOOL; v->boolean = 0; return hie__literal(ps, "false");
        case 'n': v->type = HIE_JNULL; return hie__literal(ps, "null");
        default:
            if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return hie__number(ps, v);
            return hie__fail(ps, "unexpected character");
    }
}

/* Parses `len` bytes of JSON into *out. Returns 1, or 0 with *error set to a static message. */
HIE_API int hie_json_parse(const char *text, size_t len, hie_json *out, const char **error) {
    hie__parser ps = {text, text + len, NULL, 0};
    memset(out, 0, sizeof *out);
    int ok = hie__value(&ps, out);
    if (ok) {
        hie__ws(&ps);
        if (ps.p != ps.end) ok = hie__fail(&ps, "trailing characters after JSON");
    }
    if (!ok && error) *error = ps.error ? ps.error : "invalid JSON";
    return ok;
}

/* The member `key` of an object, or NULL (also for non-objects). */
HIE_API const hie_json *hie_json_get(const hie_json *obj, const char *key) {
    if (!obj || obj->type != HIE_JOBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Reading Values (tolerant like the host: tagged or bare JSON)                                             */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct {
    const char *kind;  /* "File", "Folder" or "Glob" ("File" when the kind is missing, as the host does) */
    const char *text;  /* what the spec wrote: the relative path or the pattern */
    const char **paths; /* absolute paths of the matched files */
    size_t npaths;
    int resolved;
} hie_scope;

HIE_API int hie_value_string(const hie_json *v, const char **out) {
    const hie_json *t = hie_json_get(v, "String");
    if (t) v = t;
    if (!v || v->type != HIE_JSTRING) return 0;
    *out = v->str;
    return 1;
}

/* Int, or a Float truncated toward zero (as every built-in library does), or a bare number. */
HIE_API int hie_value_int(const hie_json *v, long long *out) {
    const hie_json *t = hie_json_get(v, "Int");
    if (!t) t = hie_json_get(v, "Float");
    if (t) v = t;
    if (!v || v->type != HIE_JNUMBER) return 0;
    *out = v->is_integer ? v->integer : (long long)v->number;
    return 1;
}

HIE_API int hie_value_float(const hie_json *v, double *out) {
    const hie_json *t = hie_json_get(v, "Float");
    if (!t) t = hie_json_get(v, "Int");
    if (t) v = t;
    if (!v || v->type != HIE_JNUMBER) return 0;
    *out = v->number;
    return 1;
}

HIE_API int hie_value_bool(const hie_json *v, int *out) {
    const hie_json *t = hie_json_get(v, "Bool");
    if (t) v = t;
    if (!v || v->type != HIE_JBOOL) return 0;
    *out = v->boolean;
    return 1;
}

/* The items of a List (tagged or a bare array); each item is itself a Value to read with hie_value_*. */
HIE_API int hie_value_list(const hie_json *v, const hie_json **items, size_t *count) {
    const hie_json *t = hie_json_get(v, "List");
    if (t) v = t;
    if (!v || v->type != HIE_JARRAY) return 0;
    *items = v->items;
    *count = v->count;
    return 1;
}

HIE_API int hie_value_scope(const hie_json *v, hie_scope *out) {
    static const char *const kinds[] = {"File", "Folder", "Glob"};
    const hie_json *s = hie_json_get(v, "Scope");
    if (!s || s->type != HIE_JOBJECT) return 0;
    memset(out, 0, sizeof *out);
    out->kind = "File";
    out->text = "";
    const hie_json *kind = hie_json_get(s, "kind");
    for (int i = 0; i < 3; i++) {
        const hie_json *k = hie_json_get(kind, kinds[i]);
        if (k && k->type == HIE_JSTRING) { out->kind = kinds[i]; out->text = k->str; break; }
    }
    const hie_json *paths = hie_json_get(s, "paths");
    if (paths && paths->type == HIE_JARRAY && paths->count) {
        out->paths = (const char **)malloc(paths->count * sizeof(char *));
        if (!out->paths) return 0;
        for (size_t i = 0; i < paths->count; i++)
            if (paths->items[i].type == HIE_JSTRING) out->paths[out->npaths++] = paths->items[i].str;
    }
    const hie_json *resolved = hie_json_get(s, "resolved");
    out->resolved = resolved && resolved->type == HIE_JBOOL && resolved->boolean;
    return 1;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Growable byte buffer and JSON writing                                                                    */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct {
    char *data; /* NUL-terminated while not out of memory */
    size_t len;
    size_t cap;
    int oom; /* set once an allocation failed; later writes are dropped */
} hie_buf;

HIE_API int hie_buf_reserve(hie_buf *b, size_t extra) {
    if (b->oom) return 0;
    if (b->len + extra + 1 <= b->cap) return 1;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1) {
        if (ncap > SIZE_MAX / 2) { b->oom = 1; return 0; }
        ncap *= 2;
    }
    char *d = (char *)realloc(b->data, ncap);
    if (!d) { b->oom = 1; return 0; }
    b->data = d;
    b->cap = ncap;
    return 1;
}

HIE_API void hie_buf_putn(hie_buf *b, const char *s, size_t n) {
    if (!hie_buf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

HIE_API void hie_buf_puts(hie_buf *b, const char *s) { hie_buf_putn(b, s, strlen(s)); }

HIE_API void hie_buf_vprintf(hie_buf *b, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || !hie_buf_reserve(b, (size_t)n)) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

HIE_API __attribute__((format(printf, 2, 3))) void hie_buf_printf(hie_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    hie_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid (overlong, surrogate, > U+10FFFF,
 * truncated). */
HIE_API size_t hie__utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t need;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { need = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return need;
}

/* Writes s[0..n) as a JSON string literal: quotes, backslashes and control characters escaped, invalid UTF-8
 * replaced byte by byte with U+FFFD — file names on disk need not be UTF-8, the host's JSON must be. */
HIE_API void hie_buf_json_strn(hie_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    hie_buf_putn(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') { char e[2] = {'\\', (char)c}; hie_buf_putn(b, e, 2); i++; }
        else if (c == '\n') { hie_buf_putn(b, "\\n", 2); i++; }
        else if (c == '\r') { hie_buf_putn(b, "\\r", 2); i++; }
        else if (c == '\t') { hie_buf_putn(b, "\\t", 2); i++; }
        else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            hie_buf_putn(b, e, 6);
            i++;
        } else {
            size_t k = hie__utf8_seq(u + i, n - i);
            if (k) { hie_buf_putn(b, s + i, k); i += k; }
            else { hie_buf_putn(b, "\xEF\xBF\xBD", 3); i++; }
        }
    }
    hie_buf_putn(b, "\"", 1);
}

HIE_API void hie_buf_json_str(hie_buf *b, const char *s) { hie_buf_json_strn(b, s, s ? strlen(s) : 0); }

/* Value writers. They place the separating comma themselves: a comma is due unless the previous byte opened
 * a container or a member, so lists can be filled in loops without bookkeeping. */
HIE_API void hie__sep(hie_buf *b) {
    if (b->len == 0) return;
    char last = b->data[b->len - 1];
    if (last != '[' && last != '{' && last != ':') hie_buf_putn(b, ",", 1);
}

HIE_API void hie_w_null(hie_buf *b) { hie__sep(b); hie_buf_puts(b, "null"); }
HIE_API void hie_w_bool(hie_buf *b, int v) { hie__sep(b); hie_buf_puts(b, v ? "{\"Bool\":true}" : "{\"Bool\":false}"); }
HIE_API void hie_w_int(hie_buf *b, long long v) { hie__sep(b); hie_buf_printf(b, "{\"Int\":%lld}", v); }
HIE_API void hie_w_float(hie_buf *b, double v) {
    hie__sep(b);
    /* JSON has no NaN/Infinity: send them as null inside the tag, which the host reads as an error. */
    if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308) hie_buf_puts(b, "{\"Float\":null}");
    else hie_buf_printf(b, "{\"Float\":%.17g}", v);
}
HIE_API void hie_w_string(hie_buf *b, const char *s) {
    hie__sep(b);
    hie_buf_puts(b, "{\"String\":");
    hie_buf_json_str(b, s);
    hie_buf_puts(b, "}");
}
HIE_API void hie_w_list_begin(hie_buf *b) { hie__sep(b); hie_buf_puts(b, "{\"List\":["); }
HIE_API void hie_w_list_end(hie_buf *b) { hie_buf_puts(b, "]}"); }
/* A resolved Scope: call hie_w_scope_path for each file, then hie_w_scope_end. */
HIE_API void hie_w_scope_begin(hie_buf *b, const char *kind, const char *text) {
    hie__sep(b);
    hie_buf_puts(b, "{\"Scope\":{\"kind\":{");
    hie_buf_json_str(b, kind);
    hie_buf_puts(b, ":");
    hie_buf_json_str(b, text);
    hie_buf_puts(b, "},\"resolved\":true,\"paths\":[");
}
HIE_API void hie_w_scope_path(hie_buf *b, const char *path) { hie__sep(b); hie_buf_json_str(b, path); }
HIE_API void hie_w_scope_end(hie_buf *b) { hie_buf_puts(b, "]}}"); }

/* ------------------------------------------------------------------------------------------------------ */
/* String lists, files and directories                                                                      */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct {
    char **items;
    size_t count;
    size_t cap;
} hie_strlist;

HIE_API int hie_strlist_push(hie_strlist *l, const char *s) {
    if (l->count == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **items = (char **)realloc(l->items, ncap * sizeof(char *));
        if (!items) return 0;
        l->items = items;
        l->cap = ncap;
    }
    char *copy = strdup(s);
    if (!copy) return 0;
    l->items[l->count++] = copy;
    return 1;
}

HIE_API int hie__strcmp_p(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Byte-wise order, the same order Python's sorted() gives the host's own path lists. */
HIE_API void hie_strlist_sort(hie_strlist *l) {
    if (l->count > 1) qsort(l->items, l->count, sizeof(char *), hie__strcmp_p);
}

HIE_API char *hie_path_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *out = (char *)malloc(la + (size_t)slash + lb + 1);
    if (!out) return NULL;
    memcpy(out, a, la);
    if (slash) out[la] = '/';
    memcpy(out + la + (size_t)slash, b, lb + 1);
    return out;
}

/* Appends every regular file below `dir` (recursively, hidden entries included, symlinks neither followed
 * nor listed — like files.folder_selector) to `out`. Unsorted; call hie_strlist_sort. Returns 0 when `dir`
 * cannot be opened (e.g. the plugin was granted fs = "none"). */
HIE_API int hie_walk_files(const char *dir, hie_strlist *out) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *full = hie_path_join(dir, e->d_name);
        if (!full) break;
        unsigned char t = e->d_type;
        if (t == DT_UNKNOWN) {
            struct stat st;
            if (lstat(full, &st) == 0) t = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_LNK;
        }
        if (t == DT_REG) hie_strlist_push(out, full);
        else if (t == DT_DIR) hie_walk_files(full, out);
        free(full);
    }
    closedir(d);
    return 1;
}

HIE_API int hie_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

HIE_API int hie_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads a whole file into a NUL-terminated malloc'd buffer (*len excludes the NUL). NULL if unreadable. */
HIE_API char *hie_read_file_raw(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    hie_buf b = {0};
    char chunk[8192];
    size_t n;
    hie_buf_reserve(&b, 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) hie_buf_putn(&b, chunk, n);
    int bad = ferror(f) || b.oom;
    fclose(f);
    if (bad) { free(b.data); return NULL; }
    if (len) *len = b.len;
    return b.data;
}

/* Iterates over lines: `*pos` starts at 0; each call sets *line and *line_len (without "\r\n") and returns 1,
 * or 0 at the end. */
HIE_API int hie_next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len) {
    if (*pos >= len) return 0;
    const char *s = text + *pos;
    const char *nl = (const char *)memchr(s, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - s) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n && s[n - 1] == '\r') n--;
    *line = s;
    *line_len = n;
    return 1;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Calls: context, verdicts, return values                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct {
    const char *function;  /* the function or check name */
    const char *workspace; /* absolute workspace path ("" if the request had none) */
    const hie_json *args;  /* the argument Values */
    size_t argc;
    int is_check;
    hie_buf out;      /* the answer: one Value (call) or one CheckResult (check) */
    hie_strlist deps; /* files read beyond the Scope arguments, reported as "deps" */
} hie_ctx;

typedef struct {
    const char *name;
    const char *type;
    const char *description;
} hie_param;

typedef struct {
    const char *name;
    void (*fn)(hie_ctx *c);
    const char *description;
    const hie_param *params; /* terminated by {0}; build with HIE_PARAMS(...) or HIE_NO_PARAMS */
    const char *return_type;
    const char *example;
} hie_function;

#define HIE_PARAMS(...) ((const hie_param[]){__VA_ARGS__, {0}})
#define HIE_NO_PARAMS ((const hie_param *)0)

typedef struct {
    const char *name;
    const char *version;
    const char *description;
    const hie_function *selectors; /* terminated by {0}; may be NULL */
    const hie_function *checks;    /* terminated by {0}; may be NULL */
} hie_plugin;

/* The i-th argument, or NULL when there are fewer. */
HIE_API const hie_json *hie_arg(const hie_ctx *c, size_t i) { return i < c->argc ? &c->args[i] : NULL; }
HIE_API int hie_arg_string(const hie_ctx *c, size_t i, const char **out) { return hie_value_string(hie_arg(c, i), out); }
HIE_API int hie_arg_int(const hie_ctx *c, size_t i, long long *out) { return hie_value_int(hie_arg(c, i), out); }
HIE_API int hie_arg_float(const hie_ctx *c, size_t i, double *out) { return hie_value_float(hie_arg(c, i), out); }
HIE_API int hie_arg_bool(const hie_ctx *c, size_t i, int *out) { return hie_value_bool(hie_arg(c, i), out); }
HIE_API int hie_arg_scope(const hie_ctx *c, size_t i, hie_scope *out) { return hie_value_scope(hie_arg(c, i), out); }
HIE_API int hie_arg_list(const hie_ctx *c, size_t i, const hie_json **items, size_t *count) {
    return hie_value_list(hie_arg(c, i), items, count);
}

/* `path` relative to the workspace when it lies inside it (for messages), else `path` itself. No allocation:
 * points into `path`. */
HIE_API const char *hie_rel_path(const hie_ctx *c, const char *path) {
    size_t n = strlen(c->workspace);
    if (n && strncmp(path, c->workspace, n) == 0 && path[n] == '/') return path + n + 1;
    return path;
}

/* Records a workspace file the answer depends on, so the incremental engine reruns the check when it changes. */
HIE_API void hie_add_dep(hie_ctx *c, const char *path) { hie_strlist_push(&c->deps, path); }

/* hie_read_file_raw + hie_add_dep: also records a file that does not exist, because creating it later can
 * change the answer. */
HIE_API char *hie_read_file(hie_ctx *c, const char *path, size_t *len) {
    hie_add_dep(c, path);
    return hie_read_file_raw(path, len);
}

/* Verdicts (checks). The first verdict a check gives wins; later ones are ignored. */
HIE_API void hie__verdict(hie_ctx *c, const char *tag, const char *fmt, va_list ap) {
    if (c->out.len) return;
    hie_buf msg = {0};
    hie_buf_vprintf(&msg, fmt, ap);
    hie_buf_printf(&c->out, "{\"%s\":", tag);
    hie_buf_json_strn(&c->out, msg.data ? msg.data : "", msg.len);
    hie_buf_puts(&c->out, "}");
    free(msg.data);
}

HIE_API void hie_pass(hie_ctx *c) {
    if (!c->out.len) hie_buf_puts(&c->out, "{\"Pass\":null}");
}

HIE_API __attribute__((format(printf, 2, 3))) void hie_fail(hie_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    hie__verdict(c, "Fail", fmt, ap);
    va_end(ap);
}

/* An Error verdict from a check, or an error answer from a selector (the scope stays unset). */
HIE_API __attribute__((format(printf, 2, 3))) void hie_error(hie_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    hie__verdict(c, "Error", fmt, ap);
    va_end(ap);
}

/* Non-variadic forms, for callers that cannot use C varargs (Zig's @cImport, other languages' FFI). */
HIE_API void hie_fail_str(hie_ctx *c, const char *msg) { hie_fail(c, "%s", msg); }
HIE_API void hie_error_str(hie_ctx *c, const char *msg) { hie_error(c, "%s", msg); }

/* Return values (selectors): write exactly one Value into hie_result(c) with the hie_w_* writers. */
HIE_API hie_buf *hie_result(hie_ctx *c) { return &c->out; }
HIE_API void hie_return_string(hie_ctx *c, const char *s) { hie_w_string(&c->out, s); }
HIE_API void hie_return_int(hie_ctx *c, long long v) { hie_w_int(&c->out, v); }
HIE_API void hie_return_bool(hie_ctx *c, int v) { hie_w_bool(&c->out, v); }

/* Returns a resolved Scope of `kind` ("File", "Folder", "Glob") holding `files` sorted. */
HIE_API void hie_return_scope(hie_ctx *c, const char *kind, const char *text, hie_strlist *files) {
    hie_strlist_sort(files);
    hie_w_scope_begin(&c->out, kind, text);
    for (size_t i = 0; i < files->count; i++) hie_w_scope_path(&c->out, files->items[i]);
    hie_w_scope_end(&c->out);
}

/* ------------------------------------------------------------------------------------------------------ */
/* The plugin's malloc                                                                                      */
/* ------------------------------------------------------------------------------------------------------ */

/* HIE_PLUGIN replaces libc's malloc family with this allocator (define HIE_SYSTEM_MALLOC before including
 * the header to keep libc's). Why: each call runs in a fresh instance, and what a call costs the host is
 * mostly how many fresh memory pages it touches. Zig's wasi libc gives every size class its own 64 KiB page
 * from memory.grow, so a check that only parses its request and answers grew memory five times, and every
 * grown page costs a grow, page faults and the host's reset after the call. Here blocks are carved from one
 * contiguous region that starts at __heap_base inside the initial memory, in power-of-two size classes with
 * a free list each; memory grows only when the region is full, by exactly the pages missing. A freed block
 * at the end of the region goes back to it, and a realloc of the last block grows in place, so a buffer
 * that keeps doubling does not leave its old copies behind. Single-threaded, like wasm32-wasi. */

#define HIE__MIN_BLOCK ((size_t)16)
#define HIE__CLASSES 28 /* 16 B << 27 = 2 GiB, more than a wasm32 memory can hold next to the rest */
#define HIE__MAX_REQUEST (HIE__MIN_BLOCK << (HIE__CLASSES - 1))
#define HIE__WASM_PAGE ((uint64_t)65536)
#define HIE__ALIGNED_MARK 0xFFFFFFFFu

/* 16 bytes so payloads keep max_align_t alignment. `cls` is the size class, or HIE__ALIGNED_MARK for an
 * over-aligned block that lies `offset` bytes into an ordinary one. */
typedef struct {
    uint32_t cls;
    uint32_t offset;
    uint32_t unused[2];
} hie__block;

extern unsigned char __heap_base;
/* 64-bit so a memory of the full 4 GiB cannot wrap the arithmetic. */
static __attribute__((unused)) uint64_t hie__brk, hie__end;
static __attribute__((unused)) void *hie__free_list[HIE__CLASSES];

HIE_API uint32_t hie__class(size_t n) {
    uint32_t c = 0;
    while ((HIE__MIN_BLOCK << c) < n) c++;
    return c;
}

HIE_API size_t hie__capacity(uint32_t cls) { return HIE__MIN_BLOCK << cls; }

/* `bytes` (a multiple of 16) from the end of the region, growing memory when it is full; NULL when the
 * host's memory limit refuses the growth. */
HIE_API void *hie__carve(uint64_t bytes) {
    if (!hie__brk) {
        hie__brk = ((uint64_t)(uintptr_t)&__heap_base + 15) & ~(uint64_t)15;
        hie__end = (uint64_t)__builtin_wasm_memory_size(0) * HIE__WASM_PAGE;
    }
    if (hie__brk + bytes > hie__end) {
        uint64_t pages = (hie__brk + bytes - hie__end + HIE__WASM_PAGE - 1) / HIE__WASM_PAGE;
        if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return NULL;
        hie__end += pages * HIE__WASM_PAGE;
    }
    void *p = (void *)(uintptr_t)hie__brk;
    hie__brk += bytes;
    return p;
}

HIE_API int hie__is_last(const void *payload, uint32_t cls) {
    return (uint64_t)(uintptr_t)payload + hie__capacity(cls) == hie__brk;
}

HIE_API void *hie__malloc(size_t n) {
    if (n > HIE__MAX_REQUEST) { errno = ENOMEM; return NULL; }
    uint32_t cls = hie__class(n);
    void *p = hie__free_list[cls];
    if (p) {
        hie__free_list[cls] = *(void **)p;
        return p;
    }
    hie__block *b = (hie__block *)hie__carve(sizeof(hie__block) + hie__capacity(cls));
    if (!b) { errno = ENOMEM; return NULL; }
    b->cls = cls;
    b->offset = 0;
    return b + 1;
}

HIE_API void hie__free(void *p) {
    if (!p) return;
    hie__block *b = (hie__block *)p - 1;
    if (b->cls == HIE__ALIGNED_MARK) { hie__free((char *)p - b->offset); return; }
    if (hie__is_last(p, b->cls)) { hie__brk = (uint64_t)(uintptr_t)b; return; }
    *(void **)p = hie__free_list[b->cls];
    hie__free_list[b->cls] = p;
}

HIE_API size_t hie__usable(void *p) {
    hie__block *b = (hie__block *)p - 1;
    if (b->cls == HIE__ALIGNED_MARK) return hie__usable((char *)p - b->offset) - b->offset;
    return hie__capacity(b->cls);
}

HIE_API void *hie__realloc(void *p, size_t n) {
    if (!p) return hie__malloc(n);
    /* As the libc it replaces: realloc(p, 0) frees p and returns NULL. */
    if (n == 0) { hie__free(p); return NULL; }
    if (n > HIE__MAX_REQUEST) { errno = ENOMEM; return NULL; }
    hie__block *b = (hie__block *)p - 1;
    if (b->cls != HIE__ALIGNED_MARK) {
        if (n <= hie__capacity(b->cls)) return p;
        if (hie__is_last(p, b->cls)) {
            uint32_t cls = hie__class(n);
            if (!hie__carve(hie__capacity(cls) - hie__capacity(b->cls))) { errno = ENOMEM; return NULL; }
            b->cls = cls;
            return p;
        }
    }
    size_t old = hie__usable(p);
    void *q = hie__malloc(n);
    if (!q) return NULL;
    memcpy(q, p, old < n ? old : n);
    hie__free(p);
    return q;
}

HIE_API void *hie__calloc(size_t count, size_t size) {
    if (size && count > HIE__MAX_REQUEST / size) { errno = ENOMEM; return NULL; }
    void *p = hie__malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

HIE_API void *hie__aligned(size_t alignment, size_t n) {
    if (alignment == 0 || (alignment & (alignment - 1))) { errno = EINVAL; return NULL; }
    if (alignment <= sizeof(hie__block)) return hie__malloc(n);
    if (alignment > HIE__MAX_REQUEST || n > HIE__MAX_REQUEST - alignment) { errno = ENOMEM; return NULL; }
    char *raw = (char *)hie__malloc(n + alignment);
    if (!raw) return NULL;
    uintptr_t at = ((uintptr_t)raw + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (at == (uintptr_t)raw) return raw;
    /* raw is 16-aligned and `at` is not raw, so there are at least 16 bytes before `at` for the mark. */
    hie__block *mark = (hie__block *)at - 1;
    mark->cls = HIE__ALIGNED_MARK;
    mark->offset = (uint32_t)(at - (uintptr_t)raw);
    return (void *)at;
}

HIE_API int hie__posix_memalign(void **out, size_t alignment, size_t n) {
    if (alignment % sizeof(void *)) return EINVAL;
    void *p = hie__aligned(alignment, n);
    if (!p) return errno;
    *out = p;
    return 0;
}

/* Every allocation entry point of the libc, so no block from libc's own allocator can reach hie__free. */
#ifdef HIE_SYSTEM_MALLOC
#define HIE__DEFINE_MALLOC
#else
#define HIE__DEFINE_MALLOC                                                                                   \
    void *malloc(size_t n) { return hie__malloc(n); }                                                        \
    void free(void *p) { hie__free(p); }                                                                     \
    void *calloc(size_t count, size_t size) { return hie__calloc(count, size); }                             \
    void *realloc(void *p, size_t n) { return hie__realloc(p, n); }                                          \
    void *reallocarray(void *p, size_t count, size_t size) {                                                 \
        if (size && count > HIE__MAX_REQUEST / size) { errno = ENOMEM; return NULL; }                        \
        return hie__realloc(p, count * size);                                                                \
    }                                                                                                        \
    void *aligned_alloc(size_t alignment, size_t n) { return hie__aligned(alignment, n); }                   \
    void *memalign(size_t alignment, size_t n) { return hie__aligned(alignment, n); }                        \
    void *valloc(size_t n) { return hie__aligned((size_t)HIE__WASM_PAGE, n); }                               \
    int posix_memalign(void **out, size_t alignment, size_t n) { return hie__posix_memalign(out, alignment, n); } \
    size_t malloc_usable_size(void *p) { return p ? hie__usable(p) : 0; }
#endif

/* ------------------------------------------------------------------------------------------------------ */
/* Dispatch and exports                                                                                     */
/* ------------------------------------------------------------------------------------------------------ */

HIE_API uint64_t hie_pack(const char *ptr, size_t len) {
    return ((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)(uint32_t)len;
}

/* Hands a finished buffer to the host. When memory ran out, a static answer still explains why. */
HIE_API uint64_t hie__finish(hie_buf *b) {
    static const char oom[] = "{\"Error\":\"plugin ran out of memory\"}";
    if (b->oom || !b->data) {
        /* The host may call dealloc on what it receives, so even this answer must come from malloc. */
        char *copy = (char *)malloc(sizeof oom);
        if (!copy) return 0;
        memcpy(copy, oom, sizeof oom);
        return hie_pack(copy, sizeof oom - 1);
    }
    return hie_pack(b->data, b->len);
}

HIE_API uint64_t hie__error_answer(const char *fmt, const char *a, const char *b) {
    hie_buf out = {0}, msg = {0};
    hie_buf_printf(&msg, fmt, a, b);
    hie_buf_puts(&out, "{\"Error\":");
    hie_buf_json_strn(&out, msg.data ? msg.data : "", msg.len);
    hie_buf_puts(&out, "}");
    free(msg.data);
    return hie__finish(&out);
}

HIE_API const hie_function *hie__find(const hie_function *table, const char *name) {
    for (; table && table->name; table++)
        if (strcmp(table->name, name) == 0) return table;
    return NULL;
}

HIE_API uint64_t hie_dispatch(const hie_plugin *plugin, int is_check, const char *req, int32_t len) {
    hie_json root;
    const char *why = NULL;
    if (len < 0 || !hie_json_parse(req, (size_t)len, &root, &why))
        return hie__error_answer("%s: cannot parse the request: %s", plugin->name, why ? why : "negative length");
    hie_ctx c;
    memset(&c, 0, sizeof c);
    c.is_check = is_check;
    c.function = "";
    c.workspace = "";
    const hie_json *fn = hie_json_get(&root, "function");
    const hie_json *args = hie_json_get(&root, "args");
    const hie_json *ws = hie_json_get(&root, "workspace");
    if (fn && fn->type == HIE_JSTRING) c.function = fn->str;
    if (ws && ws->type == HIE_JSTRING) c.workspace = ws->str;
    if (args && args->type == HIE_JARRAY) { c.args = args->items; c.argc = args->count; }

    const hie_function *f = hie__find(is_check ? plugin->checks : plugin->selectors, c.function);
    if (!f)
        return hie__error_answer(is_check ? "Unknown check function: %s.%s" : "Unknown function: %s.%s",
                                 plugin->name, c.function);
    f->fn(&c);
    if (!c.out.len && !c.out.oom)
        return hie__error_answer("%s.%s gave no answer (a plugin bug: it must call hie_pass/hie_fail/hie_error "
                                 "or return a value)", plugin->name, c.function);
    /* deps ride along inside the answer object; a bare value (null) has nowhere to carry them. */
    if (c.deps.count && c.out.len && c.out.data[c.out.len - 1] == '}') {
        hie_strlist_sort(&c.deps);
        c.out.len--;
        hie_buf_puts(&c.out, ",\"deps\":[");
        for (size_t i = 0; i < c.deps.count; i++) {
            if (i && strcmp(c.deps.items[i], c.deps.items[i - 1]) == 0) continue;
            hie__sep(&c.out);
            hie_buf_json_str(&c.out, c.deps.items[i]);
        }
        hie_buf_puts(&c.out, "]}");
    }
    return hie__finish(&c.out);
}

HIE_API void hie__doc_functions(hie_buf *b, const hie_function *f) {
    hie_buf_puts(b, "[");
    for (; f && f->name; f++) {
        hie__sep(b);
        hie_buf_puts(b, "{\"name\":");
        hie_buf_json_str(b, f->name);
        hie_buf_puts(b, ",\"description\":");
        hie_buf_json_str(b, f->description ? f->description : "");
        hie_buf_puts(b, ",\"parameters\":[");
        for (const hie_param *p = f->params; p && p->name; p++) {
            hie__sep(b);
            hie_buf_puts(b, "{\"name\":");
            hie_buf_json_str(b, p->name);
            hie_buf_puts(b, ",\"type\":");
            hie_buf_json_str(b, p->type ? p->type : "");
            hie_buf_puts(b, ",\"description\":");
            hie_buf_json_str(b, p->description ? p->description : "");
            hie_buf_puts(b, "}");
        }
        hie_buf_puts(b, "],\"return_type\":");
        hie_buf_json_str(b, f->return_type ? f->return_type : "");
        hie_buf_puts(b, ",\"example\":");
        hie_buf_json_str(b, f->example ? f->example : "");
        hie_buf_puts(b, "}");
    }
    hie_buf_puts(b, "]");
}

HIE_API void hie__names(hie_buf *b, const hie_function *f) {
    hie_buf_puts(b, "[");
    for (; f && f->name; f++) { hie__sep(b); hie_buf_json_str(b, f->name); }
    hie_buf_puts(b, "]");
}

HIE_API uint64_t hie_metadata(const hie_plugin *plugin) {
    hie_buf b = {0};
    hie_buf_puts(&b, "{\"name\":");
    hie_buf_json_str(&b, plugin->name);
    hie_buf_puts(&b, ",\"version\":");
    hie_buf_json_str(&b, plugin->version);
    hie_buf_puts(&b, ",\"functions\":");
    hie__names(&b, plugin->selectors);
    hie_buf_puts(&b, ",\"checks\":");
    hie__names(&b, plugin->checks);
    hie_buf_puts(&b, "}");
    return hie__finish(&b);
}

HIE_API uint64_t hie_doc(const hie_plugin *plugin) {
    hie_buf b = {0};
    hie_buf_puts(&b, "{\"name\":");
    hie_buf_json_str(&b, plugin->name);
    hie_buf_puts(&b, ",\"description\":");
    hie_buf_json_str(&b, plugin->description ? plugin->description : "");
    hie_buf_puts(&b, ",\"version\":");
    hie_buf_json_str(&b, plugin->version);
    hie_buf_puts(&b, ",\"functions\":");
    hie__doc_functions(&b, plugin->selectors);
    hie_buf_puts(&b, ",\"checks\":");
    hie__doc_functions(&b, plugin->checks);
    hie_buf_puts(&b, "}");
    return hie__finish(&b);
}

/* Invoke once, at file scope, with designated initializers of hie_plugin. Defines the exports. */
#define HIE_PLUGIN(...)                                                                                      \
    static const hie_plugin hie__the_plugin = {__VA_ARGS__};                                                 \
    HIE__DEFINE_MALLOC                                                                                       \
    __attribute__((export_name("alloc"))) void *alloc(int32_t size) {                                        \
        return malloc(size > 0 ? (size_t)size : 1);                                                          \
    }                                                                                                        \
    __attribute__((export_name("dealloc"))) void dealloc(void *ptr, int32_t size) {                          \
        (void)size;                                                                                          \
        free(ptr);                                                                                           \
    }                                                                                                        \
    __attribute__((export_name("hielements_abi_version"))) int32_t hielements_abi_version(void) {            \
        return HIE_ABI_VERSION;                                                                              \
    }                                                                                                        \
    __attribute__((export_name("library_call"))) uint64_t library_call(const char *req, int32_t len) {       \
        return hie_dispatch(&hie__the_plugin, 0, req, len);                                                  \
    }                                                                                                        \
    __attribute__((export_name("library_check"))) uint64_t library_check(const char *req, int32_t len) {     \
        return hie_dispatch(&hie__the_plugin, 1, req, len);                                                  \
    }                                                                                                        \
    __attribute__((export_name("library_metadata"))) uint64_t library_metadata(void) {                       \
        return hie_metadata(&hie__the_plugin);                                                               \
    }                                                                                                        \
    __attribute__((export_name("library_doc"))) uint64_t library_doc(void) { return hie_doc(&hie__the_plugin); }

#endif /* HIELEMENTS_H */
