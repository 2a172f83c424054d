/* Python layering checks that hie-tasks runs on its own source (needs fs = "read").
 *
 * Lightweight line scanning, not a Python parser. Understood: `import a, b as c`, `from x import y`,
 * `from x import (` spanning lines (only the first line matters), relative imports (`from . import m`,
 * `from ..pkg import m`, resolved against the file's package, found from the first path component named
 * like the root package), imports indented inside functions or `if TYPE_CHECKING:`. Lines inside
 * triple-quoted strings are skipped. Not understood: backslash-continued import lines, `import` after `;`,
 * importlib/__import__ calls. */
#include "hielements.h"

#include <ctype.h>

#define MAX_LISTED 20

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The scope of argument 0; sets the Error verdict and returns 0 when it is missing. */
static int scope_arg(hie_ctx *c, hie_scope *scope) {
    if (hie_arg_scope(c, 0, scope)) return 1;
    hie_error(c, "%s requires a scope as first argument", c->function);
    return 0;
}

static char *read_or_error(hie_ctx *c, const char *path, size_t *len) {
    char *text = hie_read_file(c, path, len);
    if (!text)
        hie_error(c, "Cannot read '%s' (does the plugin have fs = \"read\" in hielements.toml?)", hie_rel_path(c, path));
    return text;
}

/* Appends one offender line, or counts it once MAX_LISTED are shown. */
static void offender(hie_buf *out, size_t *count, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void offender(hie_buf *out, size_t *count, const char *fmt, ...) {
    if (++*count > MAX_LISTED) return;
    va_list ap;
    va_start(ap, fmt);
    hie_buf_puts(out, "\n  ");
    hie_buf_vprintf(out, fmt, ap);
    va_end(ap);
}

static void finish(hie_ctx *c, const char *headline, hie_buf *list, size_t count) {
    if (!count) { hie_pass(c); return; }
    if (count > MAX_LISTED) hie_buf_printf(list, "\n  ... and %zu more", count - MAX_LISTED);
    hie_fail(c, "%s:%s", headline, list->data);
}

/* Toggles the "inside a triple-quoted string" state for each unescaped triple quote on the line. */
static int count_triple_quotes(const char *s, size_t n) {
    int count = 0;
    for (size_t i = 0; i + 2 < n; i++)
        if ((s[i] == '"' || s[i] == '\'') && s[i + 1] == s[i] && s[i + 2] == s[i]) { count++; i += 2; }
    return count;
}

/* The dotted package of `path` (e.g. /ws/hie_tasks/engine/run.py -> hie_tasks.engine; for an __init__.py that
 * is the package itself, which is what its relative imports resolve against), found from the last path
 * component equal to `root`. Empty when the file is not under such a folder. */
static char *package_of(const char *path, const char *root) {
    hie_buf out = {0};
    hie_buf_puts(&out, "");
    size_t rl = strlen(root);
    const char *start = NULL;
    for (const char *p = path; (p = strstr(p, root)) != NULL; p++)
        if ((p == path || p[-1] == '/') && p[rl] == '/') start = p;
    if (!start) return out.data;
    const char *last_slash = strrchr(path, '/');
    for (const char *p = start; p < last_slash; p++) hie_buf_putn(&out, *p == '/' ? "." : p, 1);
    return out.data;
}

/* Resolves a `from` target (possibly relative) to an absolute dotted module name. */
static char *absolute_module(const char *target, size_t n, const char *package) {
    size_t dots = 0;
    while (dots < n && target[dots] == '.') dots++;
    hie_buf out = {0};
    hie_buf_puts(&out, "");
    if (!dots) { hie_buf_putn(&out, target, n); return out.data; }
    /* One dot is the current package; each further dot goes one package up. */
    size_t keep = strlen(package);
    for (size_t d = 1; d < dots; d++) {
        while (keep && package[keep - 1] != '.') keep--;
        if (keep) keep--;
    }
    hie_buf_putn(&out, package, keep);
    if (n > dots) {
        if (keep) hie_buf_puts(&out, ".");
        hie_buf_putn(&out, target + dots, n - dots);
    }
    return out.data;
}

static int allowed(const char *module, const hie_json *items, size_t count) {
    for (size_t i = 1; i < count; i++) {
        const char *prefix;
        if (!hie_value_string(&items[i], &prefix)) continue;
        size_t k = strlen(prefix);
        if (strncmp(module, prefix, k) == 0 && (module[k] == '\0' || module[k] == '.')) return 1;
    }
    return 0;
}

static void judge(const char *module, size_t n, const char *root, const hie_json *items, size_t count,
                  hie_buf *list, size_t *bad, const char *rel, int line) {
    char *m = strndup(module, n);
    size_t rl = strlen(root);
    if (strncmp(m, root, rl) == 0 && (m[rl] == '\0' || m[rl] == '.') && !allowed(m, items, count))
        offender(list, bad, "%s:%d %s", rel, line, m);
    free(m);
}

static size_t ident_len(const char *s, size_t n) {
    size_t k = 0;
    while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_' || s[k] == '.')) k++;
    return k;
}

static void imports_only(hie_ctx *c) {
    hie_scope scope;
    const hie_json *items;
    size_t count;
    const char *root;
    if (!scope_arg(c, &scope)) return;
    if (!hie_arg_list(c, 1, &items, &count) || count == 0 || !hie_value_string(&items[0], &root)) {
        hie_error(c, "imports_only requires a list as second argument: the root package, then the allowed "
                     "module prefixes, e.g. ['hie_tasks', 'hie_tasks.model']");
        return;
    }
    hie_buf list = {0};
    size_t bad = 0;
    for (size_t f = 0; f < scope.npaths; f++) {
        const char *path = scope.paths[f];
        if (!ends_with(path, ".py")) continue;
        size_t len, pos = 0;
        char *text = read_or_error(c, path, &len);
        if (!text) return;
        char *package = package_of(path, root);
        const char *line;
        size_t n;
        int lineno = 0, in_string = 0;
        while (hie_next_line(text, len, &pos, &line, &n)) {
            lineno++;
            int quotes = count_triple_quotes(line, n);
            int was_in_string = in_string;
            if (quotes % 2) in_string = !in_string;
            if (was_in_string) continue;
            while (n && isspace((unsigned char)*line)) { line++; n--; }
            const char *rel = hie_rel_path(c, path);
            if (n > 7 && strncmp(line, "import", 6) == 0 && isspace((unsigned char)line[6])) {
                const char *p = line + 7, *end = line + n;
                while (p < end) {
                    while (p < end && (isspace((unsigned char)*p) || *p == ',')) p++;
                    size_t k = ident_len(p, (size_t)(end - p));
                    if (!k) break;
                    judge(p, k, root, items, count, &list, &bad, rel, lineno);
                    p += k;
                    while (p < end && *p != ',' && *p != '#') p++; /* skip `as name` */
                    if (p < end && *p == '#') break;
                }
            } else if (n > 5 && strncmp(line, "from", 4) == 0 && isspace((unsigned char)line[4])) {
                const char *p = line + 5, *end = line + n;
                while (p < end && isspace((unsigned char)*p)) p++;
                size_t k = ident_len(p, (size_t)(end - p));
                const char *after = p + k;
                while (after < end && isspace((unsigned char)*after)) after++;
                if (!k || (size_t)(end - after) < 6 || strncmp(after, "import", 6) != 0) continue;
                if (k == strspn(p, ".")) {
                    /* `from . import a, b`: each name is a module (or a name) of that package. */
                    char *base = absolute_module(p, k, package);
                    const char *q = after + 6;
                    while (q < end) {
                        while (q < end && (isspace((unsigned char)*q) || *q == ',' || *q == '(')) q++;
                        size_t m = ident_len(q, (size_t)(end - q));
                        if (!m) break;
                        hie_buf full = {0};
                        hie_buf_printf(&full, "%s%s%.*s", base, *base ? "." : "", (int)m, q);
                        judge(full.data, full.len, root, items, count, &list, &bad, rel, lineno);
                        free(full.data);
                        q += m;
                        while (q < end && *q != ',' && *q != '#') q++;
                        if (q < end && *q == '#') break;
                    }
                    free(base);
                } else {
                    char *module = absolute_module(p, k, package);
                    judge(module, strlen(module), root, items, count, &list, &bad, rel, lineno);
                    free(module);
                }
            }
        }
        free(package);
    }
    hie_buf head = {0};
    hie_buf_printf(&head, "%zu import(s) of %s outside the allowed prefixes", bad, root);
    finish(c, head.data, &list, bad);
}

static void max_lines(hie_ctx *c) {
    hie_scope scope;
    long long limit;
    if (!scope_arg(c, &scope)) return;
    if (!hie_arg_int(c, 1, &limit)) {
        hie_error(c, "max_lines requires a number as second argument");
        return;
    }
    hie_buf list = {0};
    size_t bad = 0;
    for (size_t f = 0; f < scope.npaths; f++) {
        size_t len, pos = 0, n;
        const char *line;
        char *text = read_or_error(c, scope.paths[f], &len);
        if (!text) return;
        long long lines = 0;
        while (hie_next_line(text, len, &pos, &line, &n)) lines++;
        if (lines > limit) offender(&list, &bad, "%s: %lld lines", hie_rel_path(c, scope.paths[f]), lines);
        free(text);
    }
    hie_buf head = {0};
    hie_buf_printf(&head, "%zu file(s) longer than %lld lines", bad, limit);
    finish(c, head.data, &list, bad);
}

static void has_module_docstring(hie_ctx *c) {
    hie_scope scope;
    if (!scope_arg(c, &scope)) return;
    hie_buf list = {0};
    size_t bad = 0;
    for (size_t f = 0; f < scope.npaths; f++) {
        const char *path = scope.paths[f];
        if (!ends_with(path, ".py")) continue;
        size_t len, pos = 0, n;
        const char *line;
        char *text = read_or_error(c, path, &len);
        if (!text) return;
        int verdict = -1; /* -1: only blank lines and comments so far (an empty module needs no docstring) */
        while (verdict < 0 && hie_next_line(text, len, &pos, &line, &n)) {
            while (n && isspace((unsigned char)*line)) { line++; n--; }
            if (!n || *line == '#') continue;
            size_t k = 0;
            while (k < n && k < 2 && strchr("rRuUbB", line[k])) k++; /* string prefixes */
            verdict = k < n && (line[k] == '"' || line[k] == '\'');
        }
        if (verdict == 0) offender(&list, &bad, "%s", hie_rel_path(c, path));
        free(text);
    }
    finish(c, "Python modules without a module docstring", &list, bad);
}

static const hie_function CHECKS[] = {
    {"imports_only", imports_only,
     "Every import of the root package (first list item) from the scope's .py files starts with one of the "
     "allowed prefixes (the other items)",
     HIE_PARAMS({"scope", "Scope", "Python files to scan"},
                {"allowed", "List", "Root package, then allowed module prefixes"}),
     "CheckResult", "check arch.imports_only(model, ['hie_tasks', 'hie_tasks.model'])"},
    {"max_lines", max_lines, "Every file in the scope has at most n lines",
     HIE_PARAMS({"scope", "Scope", "Files"}, {"n", "Int", "Maximum number of lines"}), "CheckResult",
     "check arch.max_lines(src, 600)"},
    {"has_module_docstring", has_module_docstring,
     "Every non-empty .py file starts (after comments) with a string literal",
     HIE_PARAMS({"scope", "Scope", "Python files"}), "CheckResult", "check arch.has_module_docstring(src)"},
    {0},
};

HIE_PLUGIN(.name = "arch", .version = "0.1.0",
           .description = "Import layering, file length and docstring checks for Python packages",
           .checks = CHECKS)
