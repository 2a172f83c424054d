/* Dockerfile checks as a WebAssembly plugin (needs fs = "read"). Every check looks at each Dockerfile in its
 * scope (a File or Glob scope: every path; a Folder scope: files named Dockerfile, Containerfile,
 * Dockerfile.* or *.Dockerfile) and fails naming each offending file and line.
 *
 * Parsing follows the Dockerfile reference closely enough for checks: instructions are case-insensitive,
 * a trailing backslash continues a line, comment lines are dropped (also inside continuations), "FROM
 * --platform=... image AS name" is understood, and global ARG defaults are substituted into FROM images.
 * Not supported: the `# escape=` parser directive (backslash is always the escape), heredocs, variable
 * substitution outside FROM. */
#include "hielements.h"

#include <ctype.h>

typedef struct {
    char *keyword; /* upper case */
    char *args;    /* the rest, trimmed; continuation lines joined with a space */
    int line;      /* where the instruction starts */
} instr;

typedef struct {
    const char *path;
    const char *rel; /* for messages */
    instr *items;
    size_t count;
} dockerfile;

static char *trim(char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static int push_instr(dockerfile *df, size_t *cap, hie_buf *text, int line) {
    char *s = trim(text->data ? text->data : (char *)"");
    if (!*s) return 1;
    if (df->count == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        instr *items = (instr *)realloc(df->items, *cap * sizeof(instr));
        if (!items) return 0;
        df->items = items;
    }
    size_t k = 0;
    while (s[k] && !isspace((unsigned char)s[k])) k++;
    instr *in = &df->items[df->count++];
    in->keyword = strndup(s, k);
    in->args = strdup(trim(s + k));
    in->line = line;
    if (!in->keyword || !in->args) return 0;
    for (char *p = in->keyword; *p; p++) *p = (char)toupper((unsigned char)*p);
    return 1;
}

static int parse_dockerfile(const char *text, size_t len, dockerfile *df) {
    size_t pos = 0, cap = 0;
    const char *line;
    size_t line_len;
    int lineno = 0, start = 0, continuing = 0;
    hie_buf cur = {0};
    while (hie_next_line(text, len, &pos, &line, &line_len)) {
        lineno++;
        char *copy = strndup(line, line_len);
        if (!copy) return 0;
        char *t = trim(copy);
        /* Comment lines are removed before continuation lines are joined, so they may sit inside an
         * instruction split over several lines. */
        if (*t == '#' || (!*t && !continuing)) { free(copy); continue; }
        if (!continuing) { start = lineno; cur.len = 0; if (cur.data) cur.data[0] = '\0'; }
        size_t n = strlen(t);
        continuing = n > 0 && t[n - 1] == '\\';
        if (continuing) t[n - 1] = ' ';
        hie_buf_puts(&cur, t);
        hie_buf_puts(&cur, " ");
        free(copy);
        if (!continuing && !push_instr(df, &cap, &cur, start)) return 0;
    }
    if (continuing && !push_instr(df, &cap, &cur, start)) return 0;
    free(cur.data);
    return !cur.oom;
}

static int is_dockerfile_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    return strcmp(base, "Dockerfile") == 0 || strcmp(base, "Containerfile") == 0 ||
           strncmp(base, "Dockerfile.", 11) == 0 || (n > 11 && strcmp(base + n - 11, ".Dockerfile") == 0);
}

/* Reads and parses every Dockerfile of argument 0. On failure the check already has its Error verdict. */
static int load_scope(hie_ctx *c, dockerfile **out, size_t *count) {
    hie_scope scope;
    if (!hie_arg_scope(c, 0, &scope)) {
        hie_error(c, "%s requires a scope as first argument", c->function);
        return 0;
    }
    dockerfile *dfs = (dockerfile *)calloc(scope.npaths ? scope.npaths : 1, sizeof(dockerfile));
    size_t n = 0;
    if (!dfs) { hie_error(c, "out of memory"); return 0; }
    int folder = strcmp(scope.kind, "Folder") == 0;
    for (size_t i = 0; i < scope.npaths; i++) {
        const char *path = scope.paths[i];
        if (folder && !is_dockerfile_name(path)) continue;
        size_t len;
        char *text = hie_read_file(c, path, &len);
        if (!text) {
            hie_error(c, "Cannot read '%s' (does the plugin have fs = \"read\" in hielements.toml?)",
                      hie_rel_path(c, path));
            return 0;
        }
        dfs[n].path = path;
        dfs[n].rel = hie_rel_path(c, path);
        if (!parse_dockerfile(text, len, &dfs[n])) { hie_error(c, "out of memory"); return 0; }
        n++;
    }
    if (n == 0) {
        hie_fail(c, "No Dockerfile in scope '%s'", scope.text);
        return 0;
    }
    *out = dfs;
    *count = n;
    return 1;
}

/* Ends the check: Pass when no problem was recorded, else Fail listing them one per line. */
static void verdict(hie_ctx *c, hie_buf *problems) {
    if (problems->len) hie_fail(c, "%s", problems->data);
    else hie_pass(c);
}

#define PROBLEM(buf, ...) (((buf)->len ? hie_buf_puts((buf), "\n") : (void)0), hie_buf_printf((buf), __VA_ARGS__))

/* Index of the last FROM, where the final stage begins (0 when there is none). */
static size_t final_stage(const dockerfile *df) {
    size_t start = 0;
    for (size_t i = 0; i < df->count; i++)
        if (strcmp(df->items[i].keyword, "FROM") == 0) start = i;
    return start;
}

/* The last `keyword` instruction of the final stage, or NULL. */
static const instr *last_in_final_stage(const dockerfile *df, const char *keyword) {
    const instr *found = NULL;
    for (size_t i = final_stage(df); i < df->count; i++)
        if (strcmp(df->items[i].keyword, keyword) == 0) found = &df->items[i];
    return found;
}

static void exposes_port(hie_ctx *c) {
    dockerfile *dfs;
    size_t n;
    long long port;
    const char *text;
    char want_proto[16] = "";
    if (hie_arg_int(c, 1, &port)) {
        /* an Int argument */
    } else if (hie_arg_string(c, 1, &text)) {
        char *end;
        port = strtoll(text, &end, 10);
        if (end == text || (*end && *end != '/')) {
            hie_error(c, "exposes_port: '%s' is not a port (expected e.g. 8080 or '8080/tcp')", text);
            return;
        }
        if (*end == '/') snprintf(want_proto, sizeof want_proto, "%s", end + 1);
    } else {
        hie_error(c, "exposes_port requires a port number as second argument");
        return;
    }
    if (!load_scope(c, &dfs, &n)) return;
    hie_buf problems = {0};
    for (size_t f = 0; f < n; f++) {
        int found = 0;
        for (size_t i = 0; i < dfs[f].count && !found; i++) {
            if (strcmp(dfs[f].items[i].keyword, "EXPOSE") != 0) continue;
            char *save, *args = strdup(dfs[f].items[i].args);
            for (char *tok = strtok_r(args, " \t", &save); tok && !found; tok = strtok_r(NULL, " \t", &save)) {
                char *end;
                long long lo = strtoll(tok, &end, 10), hi = lo;
                if (end == tok) continue; /* e.g. $PORT: not resolved */
                if (*end == '-') hi = strtoll(end + 1, &end, 10);
                const char *proto = *end == '/' ? end + 1 : "tcp";
                found = port >= lo && port <= hi && (!want_proto[0] || strcasecmp(proto, want_proto) == 0);
            }
            free(args);
        }
        if (!found)
            PROBLEM(&problems, "%s: does not EXPOSE port %lld%s%s", dfs[f].rel, port, want_proto[0] ? "/" : "",
                    want_proto);
    }
    verdict(c, &problems);
}

static void has_healthcheck(hie_ctx *c) {
    dockerfile *dfs;
    size_t n;
    if (!load_scope(c, &dfs, &n)) return;
    hie_buf problems = {0};
    for (size_t f = 0; f < n; f++) {
        const instr *hc = last_in_final_stage(&dfs[f], "HEALTHCHECK");
        if (!hc) PROBLEM(&problems, "%s: no HEALTHCHECK instruction", dfs[f].rel);
        else if (strncasecmp(hc->args, "NONE", 4) == 0 && (!hc->args[4] || isspace((unsigned char)hc->args[4])))
            PROBLEM(&problems, "%s:%d: HEALTHCHECK NONE disables the health check", dfs[f].rel, hc->line);
    }
    verdict(c, &problems);
}

typedef struct {
    char *name;
    char *value; /* NULL: declared without a default */
} arg_default;

/* Expands $NAME / ${NAME} / ${NAME:-default} from global ARG defaults. NULL (and *missing set) when a
 * variable has no value, since then the image cannot be judged. */
static char *expand(const char *image, const arg_default *args, size_t nargs, const char **missing) {
    hie_buf out = {0};
    hie_buf_puts(&out, "");
    for (const char *p = image; *p;) {
        if (*p != '$') { hie_buf_putn(&out, p++, 1); continue; }
        p++;
        int braced = *p == '{';
        if (braced) p++;
        const char *name = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '_')) p++;
        size_t name_len = (size_t)(p - name);
        const char *fallback = NULL;
        size_t fallback_len = 0;
        if (braced) {
            const char *close = strchr(p, '}');
            if (!close) close = p + strlen(p);
            if (p[0] == ':' && p[1] == '-') { fallback = p + 2; fallback_len = (size_t)(close - fallback); }
            p = *close ? close + 1 : close;
        }
        const char *value = NULL;
        for (size_t i = 0; i < nargs; i++)
            if (strlen(args[i].name) == name_len && strncmp(args[i].name, name, name_len) == 0) value = args[i].value;
        if (value && *value) hie_buf_puts(&out, value);
        else if (fallback) hie_buf_putn(&out, fallback, fallback_len);
        else { *missing = strndup(name, name_len); free(out.data); return NULL; }
    }
    return out.data;
}

static void check_from(hie_ctx *c, const dockerfile *df, const instr *in, const arg_default *args, size_t nargs,
                       char **stages, size_t nstages, hie_buf *problems) {
    (void)c;
    char *save, *copy = strdup(in->args);
    char *image = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
        if (strncmp(tok, "--", 2) != 0) { image = tok; break; }
    if (!image) { PROBLEM(problems, "%s:%d: FROM without an image", df->rel, in->line); return; }
    const char *missing = NULL;
    char *resolved = expand(image, args, nargs, &missing);
    if (!resolved) {
        PROBLEM(problems, "%s:%d: FROM %s: ARG %s has no default, so the image cannot be checked", df->rel,
                in->line, image, missing);
        return;
    }
    if (strcasecmp(resolved, "scratch") == 0) return;
    for (size_t i = 0; i < nstages; i++)
        if (strcasecmp(stages[i], resolved) == 0) return; /* an earlier build stage */
    if (strstr(resolved, "@sha256:")) return;
    const char *slash = strrchr(resolved, '/');
    const char *colon = strchr(slash ? slash : resolved, ':');
    const char *shown = strcmp(image, resolved) == 0 ? "" : " (from ARG defaults)";
    if (!colon)
        PROBLEM(problems, "%s:%d: FROM %s%s is not pinned: no tag (means 'latest'); add a version tag or @sha256 digest",
                df->rel, in->line, resolved, shown);
    else if (strcasecmp(colon + 1, "latest") == 0)
        PROBLEM(problems, "%s:%d: FROM %s%s uses the 'latest' tag; pin a version tag or @sha256 digest", df->rel,
                in->line, resolved, shown);
}

static void base_image_pinned(hie_ctx *c) {
    dockerfile *dfs;
    size_t n;
    if (!load_scope(c, &dfs, &n)) return;
    hie_buf problems = {0};
    for (size_t f = 0; f < n; f++) {
        const dockerfile *df = &dfs[f];
        arg_default *args = (arg_default *)calloc(df->count + 1, sizeof(arg_default));
        char **stages = (char **)calloc(df->count + 1, sizeof(char *));
        size_t nargs = 0, nstages = 0;
        int seen_from = 0;
        for (size_t i = 0; i < df->count; i++) {
            const instr *in = &df->items[i];
            if (strcmp(in->keyword, "ARG") == 0 && !seen_from) {
                /* Only ARGs before the first FROM are in scope for FROM lines. */
                char *decl = strdup(in->args), *eq = strchr(decl, '=');
                if (eq) *eq = '\0';
                args[nargs].name = trim(decl);
                args[nargs].value = eq ? trim(eq + 1) : NULL;
                if (args[nargs].value && args[nargs].value[0] == '"') {
                    args[nargs].value++;
                    char *q = strrchr(args[nargs].value, '"');
                    if (q) *q = '\0';
                }
                nargs++;
            } else if (strcmp(in->keyword, "FROM") == 0) {
                seen_from = 1;
                check_from(c, df, in, args, nargs, stages, nstages, &problems);
                char *save, *copy = strdup(in->args);
                for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
                    if (strcasecmp(tok, "AS") == 0) {
                        char *name = strtok_r(NULL, " \t", &save);
                        if (name) stages[nstages++] = name;
                        break;
                    }
            }
        }
        if (!seen_from) PROBLEM(&problems, "%s: no FROM instruction", df->rel);
    }
    verdict(c, &problems);
}

/* The text a Dockerfile runs for ENTRYPOINT/CMD: an exec form's strings joined by spaces, else the shell form. */
static void command_text(const instr *in, hie_buf *out) {
    hie_json arr;
    if (in->args[0] == '[' && hie_json_parse(in->args, strlen(in->args), &arr, NULL) && arr.type == HIE_JARRAY) {
        for (size_t i = 0; i < arr.count; i++)
            if (arr.items[i].type == HIE_JSTRING) {
                if (out->len) hie_buf_puts(out, " ");
                hie_buf_puts(out, arr.items[i].str);
            }
        return;
    }
    if (out->len) hie_buf_puts(out, " ");
    hie_buf_puts(out, in->args);
}

static void entry_point(hie_ctx *c) {
    dockerfile *dfs;
    size_t n;
    const char *want;
    if (!hie_arg_string(c, 1, &want)) {
        hie_error(c, "entry_point requires a command string as second argument");
        return;
    }
    if (!load_scope(c, &dfs, &n)) return;
    hie_buf problems = {0};
    for (size_t f = 0; f < n; f++) {
        const instr *ep = last_in_final_stage(&dfs[f], "ENTRYPOINT");
        const instr *cmd = last_in_final_stage(&dfs[f], "CMD");
        if (!ep && !cmd) {
            PROBLEM(&problems, "%s: no ENTRYPOINT or CMD instruction", dfs[f].rel);
            continue;
        }
        /* Docker runs ENTRYPOINT with CMD appended, so look for the command in the combined line. */
        hie_buf line = {0};
        hie_buf_puts(&line, "");
        if (ep) command_text(ep, &line);
        if (cmd) command_text(cmd, &line);
        if (!strstr(line.data, want))
            PROBLEM(&problems, "%s:%d: the container runs '%s', which does not contain '%s'", dfs[f].rel,
                    (ep ? ep : cmd)->line, line.data, want);
        free(line.data);
    }
    verdict(c, &problems);
}

static void no_root_user(hie_ctx *c) {
    dockerfile *dfs;
    size_t n;
    if (!load_scope(c, &dfs, &n)) return;
    hie_buf problems = {0};
    for (size_t f = 0; f < n; f++) {
        const instr *user = last_in_final_stage(&dfs[f], "USER");
        if (!user) {
            PROBLEM(&problems, "%s: no USER instruction in the final stage, so the container runs as root",
                    dfs[f].rel);
            continue;
        }
        size_t k = strcspn(user->args, ": \t");
        if ((k == 4 && strncmp(user->args, "root", 4) == 0) || (k == 1 && user->args[0] == '0'))
            PROBLEM(&problems, "%s:%d: USER %s runs the container as root", dfs[f].rel, user->line, user->args);
    }
    verdict(c, &problems);
}

#define SCOPE_PARAM {"scope", "Scope", "Dockerfiles to check"}

static const hie_function CHECKS[] = {
    {"exposes_port", exposes_port, "Every Dockerfile EXPOSEs the port (ranges and /tcp|/udp understood)",
     HIE_PARAMS(SCOPE_PARAM, {"port", "Int|String", "8080, or '8080/udp' to require a protocol"}), "CheckResult",
     "check docker.exposes_port(image, 8080)"},
    {"has_healthcheck", has_healthcheck, "The final stage has a HEALTHCHECK that is not NONE",
     HIE_PARAMS(SCOPE_PARAM), "CheckResult", "check docker.has_healthcheck(image)"},
    {"base_image_pinned", base_image_pinned,
     "Every FROM names an earlier stage, scratch, a non-latest tag or an @sha256 digest",
     HIE_PARAMS(SCOPE_PARAM), "CheckResult", "check docker.base_image_pinned(image)"},
    {"entry_point", entry_point, "ENTRYPOINT followed by CMD (exec or shell form) contains the command",
     HIE_PARAMS(SCOPE_PARAM, {"cmd", "String", "Text the command line must contain"}), "CheckResult",
     "check docker.entry_point(image, 'gunicorn')"},
    {"no_root_user", no_root_user, "The last USER of the final stage is neither root nor 0",
     HIE_PARAMS(SCOPE_PARAM), "CheckResult", "check docker.no_root_user(image)"},
    {0},
};

HIE_PLUGIN(.name = "dockerfile", .version = "0.1.0",
           .description = "Checks over Dockerfiles: exposed ports, health checks, pinned base images, entry point, "
                          "non-root user",
           .checks = CHECKS)
